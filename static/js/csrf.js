/* csrf.js: owns the page's one CSRF token, which base.html puts in <body hx-headers> (htmx sends it
   as X-CSRFToken with every request; the outbox sends it with every replay).
   Forms on the audit screen carry no copy of it, and name their URL in hx-post only. A form that is
   posted without htmx (a tap before htmx is ready) gets, as it is sent, the method and action its
   hx-post names and the token as a field. Loaded before the page's content, not deferred, so no tap
   comes before it. No eval, no inline handlers. */
(function () {
  "use strict";

  function token() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }

  // Bubbling phase: htmx (on the form itself) and the logout guard have had their say; a submission
  // they took over or refused is prevented, and left alone.
  document.addEventListener("submit", function (evt) {
    var form = evt.target, url = form.getAttribute("hx-post");
    if (evt.defaultPrevented) return;
    if (url && !form.getAttribute("action")) {
      form.method = "post";
      form.action = url;
      if (form.getAttribute("hx-encoding")) form.enctype = form.getAttribute("hx-encoding");
    }
    if (form.method !== "post" || form.elements.namedItem("csrf_token")) return;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "csrf_token";
    input.value = token();
    form.appendChild(input);
  });

  window.auditappCsrfToken = token;
})();
