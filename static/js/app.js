/* app.js: owns the small page behaviours htmx attributes cannot express.
   - Gives every htmx change request a change id (X-Change-Id), so the server applies it once
     however often it is sent (double taps, retries, offline replays).
   - Shows the server's message when an htmx request fails and nothing was swapped.
   - Drives the photo upload progress bar.
   No eval, no inline handlers: safe under our Content-Security-Policy. */
(function () {
  "use strict";

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
    var bar = evt.target.querySelector && evt.target.querySelector(".upload-progress");
    if (!bar || !evt.detail.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((evt.detail.loaded / evt.detail.total) * 100);
  });
})();
