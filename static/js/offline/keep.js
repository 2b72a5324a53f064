/* offline/keep.js: owns putting changes into the outbox and getting them out by hand.
   - When a change cannot reach the server (htmx:sendError) and the page's routes say it may be
     kept, it is kept with its change id (photos downscaled first), shown at once as "saved on
     this device", counted in the badge, and a sync is asked for.
   - Answering an item online settles the refused offline change of that item's result.
   - Logging out with changes waiting is refused (nothing is deleted); the waiting changes can be
     exported to a file. Logging out otherwise deletes the audit pages kept for offline use. */
(function (ns) {
  "use strict";
  var logic = ns.logic, store = ns.store, page = ns.page, sync = ns.sync, photos = ns.photos;

  function formEntries(formData) {
    var out = [];
    formData.forEach(function (value, name) {
      if (typeof File === "function" && value instanceof File && !value.name && !value.size) return;  // a file field left empty
      out.push([name, value]);
    });
    return out;
  }

  document.addEventListener("htmx:sendError", function (evt) {
    var config = evt.detail.requestConfig;
    if (!config || config.verb !== "post" || !logic.classify(config.path, page.routes)) return;
    evt.stopImmediatePropagation();  // not an error for the auditor: the change is safe here
    Promise.all(formEntries(config.formData).map(downscaleField)).then(function (fields) {
      var entry = {
        path: config.path, changeId: config.headers["X-Change-Id"], queuedAt: new Date().toISOString(),
        fields: fields, problem: null,
      };
      return store.put(entry).then(function () {
        page.showLocally(entry);
        page.refreshBadge();
        sync.askForBackgroundSync();
      });
    });
  }, true);

  // Photos wait on the device at about the size the server keeps (photos.js), so a morning's
  // photos fit the browser's storage and upload quickly.
  function downscaleField(f) {
    return photos.downscale(f[1]).then(function (file) { return [f[0], file]; });
  }

  // Answering an item online after a conflict is the auditor's decision: the refused offline
  // change of that item's result has served its purpose and leaves the outbox.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var config = evt.detail.requestConfig;
    if (!evt.detail.successful || !config || config.verb !== "post") return;
    if (logic.kindOf({ path: config.path }, page.routes) !== "answer") return;
    store.all().then(function (entries) {
      return Promise.all(logic.settledBy(config.path, entries).map(function (e) { return store.remove(e.seq); }));
    }).then(page.refreshBadge);
  });

  // Logging out (a shared phone): with changes still waiting (on this page's count, or in the outbox
  // itself, which another tab may have filled), it is refused and nothing is deleted: they are the
  // auditor's work. Otherwise the audit pages kept for offline use are deleted first (the "pages-"
  // caches of sw.js; the app shell holds no one's data), so the next person cannot read them offline.
  var WAITING = "Changes made offline are still waiting on this device. Connect to the network and let them " +
                "sync before logging out, or export them with the badge's Export button.";

  function forgetKeptPages() {
    if (!window.caches) return Promise.resolve();
    return caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) { return n.indexOf("pages-") === 0; })
        .map(function (n) { return caches.delete(n); }));
    });
  }

  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (!form.matches("[data-outbox-guard]")) return;
    evt.preventDefault();
    if (Number(document.body.dataset.outbox || 0) > 0) { alert(WAITING); return; }
    // The page's own count was 0; the outbox itself is asked too, but a store that does not answer
    // within 3 s does not hold the button hostage.
    var asked = store.all().then(function (entries) { return entries.length; }, function () { return 0; });
    var late = new Promise(function (resolve) { setTimeout(function () { resolve(0); }, 3000); });
    Promise.race([asked, late]).then(function (waiting) {
      if (waiting) { alert(WAITING); return; }
      // Pages still being kept (start.js, just after logging in) would land after the deletion: they are
      // waited for, at most 5 s. Log out even if the caches cannot be deleted (the session ends anyway).
      var settled = new Promise(function (resolve) { setTimeout(resolve, 5000); });
      return Promise.race([Promise.resolve(ns.keeping).catch(function () {}), settled])
        .then(forgetKeptPages).catch(function () {}).then(function () { form.submit(); });
    });
  }, true);

  function dataUrlOf(blob) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.readAsDataURL(blob);
    });
  }

  function exportOutbox() {
    store.all().then(function (entries) { return logic.exportEntries(entries, dataUrlOf); }).then(function (entries) {
      var now = new Date(), payload = logic.exportPayload(entries, document.body.dataset.user, now);
      var a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([JSON.stringify(payload, null, 1)], { type: "application/json" }));
      a.download = logic.exportFileName(now);
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  }

  ns.keep = { exportOutbox: exportOutbox };
})(window.auditappOffline = window.auditappOffline || {});
