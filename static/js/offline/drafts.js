/* offline/drafts.js: owns the finding card's drafts: nothing typed in a finding is lost (issue 14).
   - What is typed in an item's finding form (form.finding-form) is kept in localStorage as it is
     typed, under the user and the form's address, and said on screen ("Draft kept on this device"). It
     survives an item swap (a photo added on the item, a grade changed), a refused save (422), a
     reload, a tab the phone killed while the camera was open, and an offline reload.
   - A form that appears (page load, htmx swap, a form opened offline: "auditapp:finding-form")
     gets its draft back. The draft is dropped when the server confirms the save (a 2xx answer to
     the form's post, or its queued change acknowledged by a sync: "audit:synced" names the paths).
   - Photos chosen in the form ride with it: previewed at once, and put back into the form when a
     refused save swaps the item (they are sent with the finding, in the same request). They are kept
     on the device too (IndexedDB "auditapp-drafts", beside the text's key), so a reload or a tab
     reopened brings them back; dropped with the text when the server has the finding, or when the
     outbox has taken the finding with its photos.
   - A finding grade tapped online opens the form with the statement focused: the next thing to do.
   - A statement written before on the clause (button[data-statement-choice]) fills the field. */
(function () {
  "use strict";
  var PREFIX = "auditapp:draft:", FORM = "form.finding-form[data-change=finding]";  // an item's (not the ad-hoc one)
  var focusItem = null;  // the item whose finding grade was just tapped

  // Per user (a shared phone shows nobody else's drafts) and per form address (audit and item).
  function keyFor(path) { return PREFIX + (document.body.dataset.user || "") + ":" + path; }
  function keyOf(form) { return keyFor(form.getAttribute("hx-post") || form.getAttribute("action") || ""); }
  function read(key) {
    try { return JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { return null; }
  }

  function fieldsOf(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || /^(file|hidden|submit|button)$/.test(el.type)) return;
      if (el.type === "radio") {
        if (el.checked) out[el.name] = el.value;
        else if (!(el.name in out)) out[el.name] = "";
      } else out[el.name] = el.value;
    });
    return out;
  }

  function say(form, text) {
    var p = form.querySelector("[data-draft-state]");
    if (!p) {
      p = document.createElement("p");
      p.className = "draft-state";
      p.dataset.draftState = "";
      p.setAttribute("role", "status");
      form.insertBefore(p, form.querySelector("button[type=submit]"));
    }
    p.textContent = text;
  }

  function keep(form) {
    try {
      localStorage.setItem(keyOf(form), JSON.stringify({ fields: fieldsOf(form), at: new Date().toISOString() }));
      say(form, "Draft kept on this device until the finding is saved.");
    } catch (e) {
      say(form, "This device could not keep a draft: save the finding soon.");
    }
  }

  function restore(form) {
    var draft = read(keyOf(form));
    if (!draft || !draft.fields) return;
    Object.keys(draft.fields).forEach(function (name) {
      form.querySelectorAll('[name="' + CSS.escape(name) + '"]').forEach(function (el) {
        if (el.type === "radio") el.checked = el.value === draft.fields[name];
        else if (el.type !== "file") el.value = draft.fields[name];
      });
    });
    var more = form.querySelector("details.finding-more");
    var evidence = form.querySelector('[name="evidence"]');
    if (more && evidence && evidence.value && evidence.value !== evidence.defaultValue) more.open = true;
    say(form, "Draft kept on this device: not saved yet.");
  }

  function forget(path) {
    try { localStorage.removeItem(keyFor(path)); } catch (e) { /* nothing kept */ }
    dropPhotos(keyFor(path));
  }

  // The photos of a draft, as blobs in a database of their own (the outbox's is a contract with
  // pages already on phones). Best effort: a device that cannot keep them still sends them from memory.
  var PHOTO_DB = "auditapp-drafts", PHOTO_STORE = "photos";
  function photoDb(work) {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(PHOTO_DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(PHOTO_STORE); };
      req.onerror = function () { reject(req.error); };
      req.onsuccess = function () {
        var db = req.result, t, result;
        try { t = db.transaction(PHOTO_STORE, work.mode); } catch (e) { db.close(); reject(e); return; }
        work.run(t.objectStore(PHOTO_STORE), function (r) { result = r; });
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = function () { db.close(); reject(t.error); };
      };
    });
  }
  function keepPhotos(key, files) {
    var kept = files.map(function (f) { return { blob: f, name: f.name || "photo.jpg", type: f.type || "image/jpeg" }; });
    return photoDb({ mode: "readwrite", run: function (store) { store.put(kept, key); } }).catch(function () {});
  }
  function keptPhotos(key) {
    return photoDb({ mode: "readonly", run: function (store, done) {
      var req = store.get(key);
      req.onsuccess = function () { done(req.result || []); };
    } }).then(function (kept) {
      return (kept || []).map(function (k) { return new File([k.blob], k.name, { type: k.type }); });
    }).catch(function () { return []; });
  }
  function dropPhotos(key) {
    photoDb({ mode: "readwrite", run: function (store) { store.delete(key); } }).catch(function () {});
  }

  // Photos taken in a finding form (button[data-finding-photo]): the file input is made when the
  // button is tapped and is not kept in the page (the item's one file input stays its Add photo);
  // the photos, downscaled as every upload is (photos.js), wait here by item until the finding is
  // saved, and are sent in its request (htmx:configRequest), online or kept offline (keep.js).
  var chosen = {};  // item element id -> {files: [File], ready: Promise}

  function preview(form, files) {
    var box = form.querySelector("[data-photo-preview]");
    if (!box) return;
    box.replaceChildren();
    files.forEach(function (file) {
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = "Photo to save with the finding";
      box.appendChild(img);
    });
    var n = files.length;
    box.appendChild(document.createTextNode(n ? " " + n + " photo" + (n === 1 ? "" : "s") + " will be saved with the finding" : ""));
  }

  function takePhoto(form) {
    var item = form.closest(".item");
    if (!item) return;
    var input = document.createElement("input");
    input.type = "file";
    input.accept = "image/*";
    input.setAttribute("capture", "environment");
    input.multiple = true;
    input.hidden = true;
    input.addEventListener("change", function () {
      var files = Array.from(input.files || []);
      input.remove();
      if (!files.length) return;
      var downscale = window.auditappOffline && window.auditappOffline.photos ? window.auditappOffline.photos.downscale : null;
      var prev = chosen[item.id], key = keyOf(form);
      var entry = { files: (prev ? prev.files : []).concat(files), ready: null };
      // After the photos still being downscaled or read back from the device, so none is lost.
      entry.ready = Promise.resolve(prev && prev.ready).then(function () {
        return Promise.all(files.map(function (f) { return downscale ? downscale(f) : Promise.resolve(f); }));
      }).then(function (small) {
        entry.files = (prev ? prev.files : []).concat(small);
        return keepPhotos(key, entry.files);
      }).then(function () { entry.ready = null; });
      chosen[item.id] = entry;
      var current = document.getElementById(item.id);
      var now = current && current.querySelector(FORM);
      if (now) preview(now, entry.files);
    });
    document.body.appendChild(input);  // outside the items; gone once chosen
    input.click();
  }

  function restorePhotos(form, item) {
    var entry = { files: [], ready: null };
    chosen[item.id] = entry;  // a photo taken meanwhile joins these
    entry.ready = keptPhotos(keyOf(form)).then(function (files) {
      entry.files = files.concat(entry.files);
      entry.ready = null;
      if (!entry.files.length) { if (chosen[item.id] === entry) delete chosen[item.id]; return; }
      var current = document.getElementById(item.id), now = current && current.querySelector(FORM);
      if (now) { preview(now, entry.files); say(now, "Draft kept on this device: not saved yet."); }
    });
  }

  // Statements written before on the clause: asked for when the form appears, online, quietly (an
  // extra, not a need: no message when it cannot come).
  function fetchStatements(form) {
    var slot = form.querySelector("[data-statements]");
    if (!slot || slot.dataset.loaded || !navigator.onLine) return;
    slot.dataset.loaded = "loading";
    fetch(slot.dataset.statements, { credentials: "same-origin" }).then(function (response) {
      return response.ok ? response.text() : "";
    }).then(function (html) {
      var found = new DOMParser().parseFromString(html, "text/html").querySelector(".suggestions");
      if (found && slot.isConnected) slot.replaceWith(document.importNode(found, true));
    }).catch(function () { /* offline or refused: nothing to offer */ });
  }

  function arrive(root) {
    var forms = root.matches && root.matches(FORM) ? [root] : Array.from((root.querySelectorAll ? root : document).querySelectorAll(FORM));
    forms.forEach(function (form) {
      restore(form);
      var item = form.closest(".item");
      if (item && chosen[item.id]) preview(form, chosen[item.id].files);  // back after a swap (a refusal, a photo added)
      else if (item) restorePhotos(form, item);  // back after a reload or a reopened tab
      fetchStatements(form);
      var statement = form.querySelector('textarea[name="statement"]');
      if (item && focusItem === item.id) {
        focusItem = null;
        if (statement && !statement.value) statement.focus();
      }
    });
  }

  document.addEventListener("input", function (evt) {
    var form = evt.target.form;
    if (form && form.matches(FORM) && evt.target.type !== "file") keep(form);
  });
  document.addEventListener("change", function (evt) {
    var el = evt.target, form = el.form;
    if (form && form.matches(FORM) && el.type !== "file") keep(form);
  });
  document.addEventListener("click", function (evt) {
    var photo = evt.target.closest && evt.target.closest("[data-finding-photo]");
    if (photo && photo.closest(FORM)) { takePhoto(photo.closest(FORM)); return; }
    var choice = evt.target.closest && evt.target.closest("[data-statement-choice]");
    var form = choice && choice.closest(FORM);
    if (!form) return;
    var statement = form.querySelector('textarea[name="statement"]');
    statement.value = choice.textContent.trim();
    keep(form);
    statement.focus();
  });

  document.addEventListener("htmx:beforeRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.matches && elt.matches("form[data-change=answer]") && elt.closest(".item")) focusItem = elt.closest(".item").id;
  });
  // A finding is sent with the photos taken in its form; a save tapped while they are still being
  // downscaled waits for them.
  document.addEventListener("submit", function (evt) {
    var form = evt.target, item = form.closest && form.closest(".item"), entry = item && chosen[item.id];
    if (!form.matches(FORM) || !entry || !entry.ready) return;
    evt.preventDefault();
    evt.stopImmediatePropagation();
    entry.ready.then(function () { form.requestSubmit(); });
  }, true);
  document.addEventListener("htmx:configRequest", function (evt) {
    var form = evt.detail.elt, item = form && form.matches && form.matches(FORM) && form.closest(".item");
    var entry = item && chosen[item.id];
    if (!entry || !evt.detail.formData) return;
    entry.files.forEach(function (file) { evt.detail.formData.append("photo", file, file.name || "photo.jpg"); });
  });
  document.addEventListener("htmx:load", function (evt) { arrive(evt.target); });
  document.addEventListener("auditapp:finding-form", function (evt) { arrive(evt.target); });
  document.addEventListener("htmx:afterRequest", function (evt) {
    // A refusal (422, 409) is swapped in too (htmx-config): only a 2xx says the server has the finding.
    // Status 0: the server was not reached and the outbox kept the finding with its photos (keep.js).
    var config = evt.detail.requestConfig, status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    var m = config && config.verb === "post" ? config.path.match(/items\/(\d+)(?:\/copies\/(\d+))?\/finding$/) : null;
    if (!m) return;
    var uid = m[2] && m[2] !== "1" ? m[1] + "-c" + m[2] : m[1];  // a copy of a repeating section's item (issue 15)
    var marker = document.querySelector('[data-item="' + uid + '"]'), item = marker && marker.closest(".item");
    if (status >= 200 && status < 300) forget(config.path);
    if (item && ((status >= 200 && status < 300) || status === 0)) delete chosen[item.id];  // the photos went with it
    if (status === 0) dropPhotos(keyFor(config.path));  // the outbox holds them now, with the finding
  });
  document.addEventListener("audit:synced", function (evt) {
    ((evt.detail && evt.detail.paths) || []).forEach(function (path) { if (/\/finding$/.test(path)) forget(path); });
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { arrive(document); });
  else arrive(document);
})();
