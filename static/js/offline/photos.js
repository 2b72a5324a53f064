/* offline/photos.js: owns photos before they leave the page.
   - downscale(file): a photo at about the size the server keeps (long edge 2048 px), re-encoded as
     JPEG 0.85, which also drops the location data. Used for every upload: online (below) and when
     a photo is kept in the outbox (keep.js). The server still checks and processes it as any upload.
   - Online: a photo chosen in any form is replaced by its downscaled copy before the form is sent,
     so a 12 MP photo moves about a quarter of its bytes over the phone's uplink.
   - "Mark up": the button beside "Add photo", and static/js/markup.js fetched on first use (below). */
(function (ns) {
  "use strict";
  var logic = ns.logic;

  var MAX_EDGE = 2048;
  var made = typeof WeakSet === "function" ? new WeakSet() : null;  // files downscale() produced

  function downscale(file) {
    if (!(file instanceof Blob) || !/^image\//.test(file.type) || !window.createImageBitmap) return Promise.resolve(file);
    if (made && made.has(file)) return Promise.resolve(file);  // already done (online, then kept offline)
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var size = logic.fitWithin(bitmap.width, bitmap.height, MAX_EDGE);
      var canvas = document.createElement("canvas");
      canvas.width = size.width;
      canvas.height = size.height;
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) bitmap.close();
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          if (!blob) return resolve(file);
          var small = new File([blob], logic.jpegName(file.name), { type: "image/jpeg" });
          if (made) made.add(small);
          resolve(small);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return file; });  // an image the browser cannot read goes as it is; the server decides
  }

  // Online: photos are swapped for their downscaled copies in the file input as soon as they are
  // chosen. An item's upload form sends itself on "change" (hx-trigger): that event is held until
  // the copies are in, then a fresh one goes to htmx. Other forms with photos (a nonconformity, an
  // action's evidence) are sent by a button: a submit made while copies are being made waits for them.
  var PHOTO_INPUT = 'input[type="file"][accept^="image"]';

  function downscaleInput(input) {
    var pending = Promise.all(Array.prototype.map.call(input.files, downscale)).then(function (files) {
      var chosen = new DataTransfer();
      files.forEach(function (file) { chosen.items.add(file); });
      input.files = chosen.files;
    }).finally(function () { if (input.auditappPending === pending) input.auditappPending = null; });
    input.auditappPending = pending;
    return pending;
  }

  document.addEventListener("change", function (evt) {
    var input = evt.target;
    if (evt.auditappDownscaled || !input.matches || !input.matches(PHOTO_INPUT)) return;
    if (!input.files || !input.files.length || typeof DataTransfer !== "function") return;
    // A photo picked to be marked up ("Mark up", below): downscaled while markup.js loads, then handed to
    // it; it sends the photo, with its marked-up copy, when the auditor is done.
    if (input.matches("[data-markup]")) {
      evt.stopImmediatePropagation();
      var picked = input.files[0], form = input.form;
      input.value = "";  // the same photo can be picked again
      downscale(picked).then(function (small) {
        return loadMarkup().then(function (markup) { markup.open(form, small); }, function () { plainly(form, small); });
      });
      return;
    }
    var sendsItself = input.form && input.form.matches('[data-change="photo"]');
    if (sendsItself) evt.stopImmediatePropagation();
    downscaleInput(input).then(function () {
      if (!sendsItself) return;
      var again = new Event("change", { bubbles: true });
      again.auditappDownscaled = true;
      input.dispatchEvent(again);
    });
  }, true);

  document.addEventListener("submit", function (evt) {
    var form = evt.target, submitter = evt.submitter;
    var pending = Array.prototype.filter.call(form.querySelectorAll(PHOTO_INPUT), function (input) {
      return input.auditappPending;
    }).map(function (input) { return input.auditappPending; });
    if (!pending.length) return;
    evt.preventDefault();
    evt.stopImmediatePropagation();
    Promise.all(pending).then(function () { form.requestSubmit(submitter && submitter.form === form ? submitter : undefined); });
  }, true);

  // --- "Mark up" (static/js/markup.js) ---------------------------------------------------------------
  // Each item's photo form, and any form with data-markup-here, gets a "Mark up" button beside its photo
  // chooser, made here: the audit screen carries no bytes for it (tests/test_audit_screen_weight.py).
  // Its input has no name, so no form sends it. markup.js (about 5 KB compressed) is fetched when it is
  // first needed, from the service worker's shell when offline (it is precached; pwa/views.py SHELL).
  var MARKUP_FORMS = 'form[data-change="photo"], form[data-markup-here]';
  // The page names markup.js on its script tag (base.html): this file is served inside a bundle.
  var MARKUP_URL = (document.currentScript && document.currentScript.dataset.markupSrc) || "";
  var markupLoaded = null;

  function addMarkupButtons(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var forms = Array.from(scope.querySelectorAll(MARKUP_FORMS));
    if (scope.matches && scope.matches(MARKUP_FORMS)) forms.unshift(scope);
    forms.forEach(function (form) {
      var photo = form.querySelector('input[type="file"][name="photo"]');
      var chooser = photo && photo.closest("label");
      if (!chooser || form.querySelector("[data-markup]")) return;
      var label = document.createElement("label");
      label.className = "button markup-button";
      label.append("Mark up");
      var input = document.createElement("input");
      input.type = "file";
      input.accept = "image/*";
      input.setAttribute("capture", "environment");
      input.dataset.markup = "";
      label.appendChild(input);
      chooser.after(label);
    });
  }

  function loadMarkup() {
    if (window.auditappMarkup) return Promise.resolve(window.auditappMarkup);
    markupLoaded = markupLoaded || new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = MARKUP_URL;
      script.onload = function () { if (window.auditappMarkup) resolve(window.auditappMarkup); else reject(); };
      script.onerror = function () { markupLoaded = null; script.remove(); reject(); };
      document.head.appendChild(script);
    });
    return markupLoaded;
  }

  // Without markup.js (it could not be fetched): the photo goes as "Add photo" sends it.
  function plainly(form, file) {
    var input = form.querySelector('input[type="file"][name="photo"]'), chosen = new DataTransfer();
    chosen.items.add(file);
    input.files = chosen.files;
    var again = new Event("change", { bubbles: true });
    again.auditappDownscaled = true;
    input.dispatchEvent(again);
  }

  if (MARKUP_URL && window.createImageBitmap && typeof DataTransfer === "function") {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { addMarkupButtons(document); });
    else addMarkupButtons(document);
    document.addEventListener("htmx:load", function (evt) { addMarkupButtons(evt.target); });
  }

  // A photo made in the page at the kept size (a marked-up copy): not downscaled, nor re-encoded, again.
  function adopt(file) {
    if (made) made.add(file);
    return file;
  }

  ns.photos = { downscale: downscale, adopt: adopt, MAX_EDGE: MAX_EDGE };
})(window.auditappOffline = window.auditappOffline || {});
