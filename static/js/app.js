/* app.js: owns the small page behaviours htmx attributes cannot express. Loaded first and not
   deferred (it is small, and needs nothing but the document): no tap can come before it.
   - The page's one CSRF token is in <body hx-headers> (htmx sends it as X-CSRFToken; the outbox
     with every replay). The audit screen's forms carry no copy and name their URL in hx-post only:
     a form posted without htmx (a tap before htmx is ready) gets, as it is sent, the method and
     action of its hx-post and the token as a field.
   - Gives every htmx change request a change id (X-Change-Id), so the server applies it once
     however often it is sent (double taps, retries, offline replays).
   - Shows the server's message when an htmx request fails and nothing was swapped.
   - Drives the photo upload progress bar (made when an upload starts: the screen carries none).
   - Fetches an item's guidance when it is first opened: one request brings the whole audit's
     (the list's data-guidance-url), kept for the page's life; the service worker keeps it offline.
   No eval, no inline handlers: safe under our Content-Security-Policy. */
(function () {
  "use strict";

  function csrfToken() {
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
    }
    if (form.method !== "post" || form.elements.namedItem("csrf_token")) return;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "csrf_token";
    input.value = csrfToken();
    form.appendChild(input);
  });

  // crypto.randomUUID exists only in secure contexts (HTTPS or localhost); a LAN IP over plain
  // HTTP has crypto.getRandomValues only, so build the v4 UUID from that.
  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    if (evt.detail.verb !== "get") evt.detail.headers["X-Change-Id"] = uuid4();
  });

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

  document.addEventListener("htmx:xhr:progress", function (evt) {
    var form = evt.target;
    if (!form.matches || !form.matches("form[hx-encoding]") || !evt.detail.lengthComputable) return;
    var bar = form.querySelector(".upload-progress");
    if (!bar) {
      bar = document.createElement("progress");
      bar.className = "upload-progress";
      bar.max = 100;
      form.appendChild(bar);
    }
    bar.hidden = false;
    bar.value = Math.round((evt.detail.loaded / evt.detail.total) * 100);
  });

  // Result buttons are toggles; the server marks only the pressed one (each item stays small), so
  // the others are marked here when they appear: at start and after every swap.
  function markToggles(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("form[data-change=answer] button[name]:not([aria-pressed])")
      .forEach(function (b) { b.setAttribute("aria-pressed", "false"); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { markToggles(document); });
  else markToggles(document);
  document.addEventListener("htmx:load", function (evt) { markToggles(evt.target); });

  // A note saves 700 ms after the auditor stops typing, and on leaving it when it changed; a
  // chosen photo is sent at once. Both go through their form's submit (htmx's, or a plain post
  // before htmx is ready), so the items name no triggers.
  var noteTimers = new WeakMap();
  // On the audit screen the textarea stands before its form, outside it (audits/_item.html): its text
  // goes into a hidden "note" of the form, made here, as the form is submitted.
  function isNote(el) { return el.matches && el.matches("form[data-change=note] textarea, .item > textarea[name=note]"); }
  function noteForm(area) {
    var next = area.nextElementSibling;
    return area.form || (next && next.matches("form[data-change=note]") ? next : null);
  }
  function saveNote(area) {
    clearTimeout(noteTimers.get(area));
    var last = area.dataset.sent !== undefined ? area.dataset.sent : area.defaultValue, form = noteForm(area);
    if (last === area.value || !form) return;
    area.dataset.sent = area.value;
    var field = form.elements.namedItem("note");
    if (!field) {
      field = document.createElement("input");
      field.type = "hidden";
      field.name = "note";
      form.appendChild(field);
    }
    field.value = area.value;
    form.requestSubmit();
  }
  document.addEventListener("input", function (evt) {
    var area = evt.target;
    if (!isNote(area)) return;
    clearTimeout(noteTimers.get(area));
    noteTimers.set(area, setTimeout(function () { saveNote(area); }, 700));
  });
  document.addEventListener("focusout", function (evt) { if (isNote(evt.target)) saveNote(evt.target); });
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (input.matches && input.matches("form[data-change=photo] input[type=file]") && input.files.length) {
      input.form.requestSubmit();
    }
  });

  var guidance = {};  // url -> the parsed page of every item's guidance (a Promise)

  function guidanceOf(url) {
    guidance[url] = guidance[url] || fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    }).then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
    return guidance[url];
  }

  // 'toggle' does not bubble: listen in the capture phase.
  document.addEventListener("toggle", function (evt) {
    var details = evt.target;
    if (!details.matches || !details.matches("details[data-guidance]") || !details.open || details.dataset.loaded) return;
    var list = details.closest("[data-guidance-url]"), item = details.closest(".item");
    if (!list || !item) return;
    details.dataset.loaded = "loading";
    guidanceOf(list.dataset.guidanceUrl).then(function (doc) {
      // A copy of a repeating section's item ("12-c2") has the guidance of its item (12).
      var part = doc.getElementById("g-" + item.querySelector("[data-item]").dataset.item.split("-c")[0]);
      details.append.apply(details, part ? Array.from(part.childNodes) : []);
      details.dataset.loaded = "true";
    }).catch(function () {
      delete guidance[list.dataset.guidanceUrl];
      delete details.dataset.loaded;
      details.open = false;
      showMessage("The guidance could not be loaded. Check the connection and try again.", "error");
    });
  }, true);
  /* --- typed-in inputs that save themselves (issue 14, D15) ---
     A [data-autosave] box posts itself through htmx a moment after the typing stops. Until the server
     has its latest text it is "dirty", and leaving the page asks first (the browser's own dialog). */
  function markDirty(area) { area.dataset.dirty = "true"; }
  document.addEventListener("input", function (evt) {
    if (evt.target.matches && evt.target.matches("[data-autosave]")) markDirty(evt.target);
  });
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var area = evt.detail.elt;
    if (area.matches && area.matches("[data-autosave]")) area.dataset.sending = area.value;
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var area = evt.detail.elt;
    if (!(area.matches && area.matches("[data-autosave]"))) return;
    if (evt.detail.successful && area.dataset.sending === area.value) delete area.dataset.dirty;
  });
  document.addEventListener("submit", function (evt) {
    // The form's own button sends every box: nothing is left to lose.
    if (evt.target.id && !evt.defaultPrevented) {
      document.querySelectorAll('[data-autosave][form="' + evt.target.id + '"]').forEach(function (area) {
        delete area.dataset.dirty;
      });
    }
  });
  window.addEventListener("beforeunload", function (evt) {
    if (document.querySelector("[data-autosave][data-dirty]")) {
      evt.preventDefault();
      evt.returnValue = "";
    }
  });
})();

/* --- supervisors (issue 14): My actions and the NC page -------------------------------------- */
(function () {
  "use strict";

  // My actions: a chosen photo is shown before it is sent (thumbnail, name, count), so the supervisor
  // knows it is attached before tapping Mark done. Object URLs: nothing is read or uploaded here.
  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (!input.matches || !input.matches("input[type=file][data-photo-preview]") || !input.form) return;
    var box = input.form.querySelector(".photo-chosen");
    if (!box) return;
    box.querySelectorAll("img").forEach(function (img) { URL.revokeObjectURL(img.src); });
    box.replaceChildren();
    var files = Array.prototype.slice.call(input.files || []);
    box.hidden = files.length === 0;
    if (!files.length) return;
    var count = document.createElement("p");
    count.className = "photo-count";
    count.textContent = files.length + (files.length === 1 ? " photo" : " photos") + " chosen, sent with Mark done";
    box.append(count);
    files.forEach(function (file) {
      var figure = document.createElement("figure"), img = document.createElement("img"), caption = document.createElement("figcaption");
      img.src = URL.createObjectURL(file);
      img.alt = "";
      img.width = 64;
      img.height = 64;
      caption.textContent = file.name;
      figure.append(img, caption);
      box.append(figure);
    });
  });

  // The NC page on a phone opens at the step that needs doing (data-next-step), unless the address
  // names a place; wider screens show the whole page from the top.
  function openAtNextStep() {
    var detail = document.getElementById("nc-detail");
    if (!detail || !detail.dataset.nextStep || window.location.hash) return;
    if (!window.matchMedia("(max-width: 47.99rem)").matches) return;
    var step = document.getElementById(detail.dataset.nextStep);
    if (step) step.scrollIntoView({ block: "start" });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", openAtNextStep);
  else openAtNextStep();
})();

/* --- repeating sections: adding a copy offline (issue 15, copyfix) ---------------------------------
   Adding a station is the server's (it numbers the copies): it is never kept in the outbox. When the request
   cannot reach the server, the form says so where the auditor tapped, keeps the name typed, and the generic
   "could not be reached" message is not shown; the answers already given wait in the outbox as always. */
(function () {
  "use strict";
  document.addEventListener("htmx:sendError", function (evt) {
    var form = evt.detail.elt;
    if (!form || !form.matches || !form.matches("form.add-copy")) return;
    evt.stopImmediatePropagation();
    var label = form.dataset.copyLabel || "section";
    var note = form.querySelector("[data-copy-offline]") || document.createElement("p");
    note.className = "error";
    note.setAttribute("role", "alert");
    note.dataset.copyOffline = "";
    note.textContent = "Adding a " + label + " needs the network: try again when online. Answers in the " + label +
      "s already here are kept on this device.";
    form.insertBefore(note, form.firstChild);
  }, true);
})();
