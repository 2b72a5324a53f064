/* app.js: owns the small page behaviours htmx attributes cannot express.
   - Shows the server's message when an htmx request fails (4xx/5xx are not swapped by design),
     so a refused change is never silent. No eval, CSP-safe. */
(function () {
  "use strict";

  function showMessage(text, kind) {
    var box = document.getElementById("flashes");
    if (!box) return;
    var p = document.createElement("p");
    p.className = "flash flash-" + kind;
    p.textContent = text;
    box.replaceChildren(p);
    box.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    // Error pages are HTML; take the message paragraph rather than the raw markup.
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var msg = doc.querySelector(".error-card p");
    showMessage(msg ? msg.textContent : "The server refused the change (" + xhr.status + ").", "error");
  });

  document.addEventListener("htmx:sendError", function () {
    showMessage("The server could not be reached. Check the connection and try again.", "error");
  });
})();
