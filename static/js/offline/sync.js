/* offline/sync.js: owns sending the outbox. Entries go one by one, in order, each acknowledged
   before the next, with the change id they were made with: the server applies each change id once,
   so a resend or two racing senders never double anything. What each answer means is
   logic.outcome's rule: sent (dropped), retry later (the rest waits), or refused (kept and shown,
   never dropped). Background Sync, where the browser has it, only wakes the page sooner. */
(function (ns) {
  "use strict";
  var logic = ns.logic, store = ns.store, page = ns.page;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function send(entry) {
    var body = new FormData();
    entry.fields.forEach(function (f) {
      if (f[1] instanceof Blob) body.append(f[0], f[1], f[1].name || "photo.jpg");
      else body.append(f[0], f[1]);
    });
    return fetch(entry.path, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Change-Id": entry.changeId, "X-CSRFToken": csrfToken(), "HX-Request": "true" },
    });
  }

  // One sender at a time; a request to send while sending runs once more when it ends, so an
  // 'online' event that arrives mid-way is never lost.
  var sending = null, again = false;

  function flush() {
    if (sending) { again = true; return sending; }
    sending = drain().then(function () {
      sending = null;
      if (again) { again = false; return flush(); }
    });
    return sending;
  }

  function drain() {
    var synced = [];
    function next(entries) {
      var entry = entries.shift();
      if (!entry) return Promise.resolve();
      return send(entry).catch(function () { return null; }).then(function (response) {
        var outcome = logic.outcome(response && response.status);
        if (outcome === "retry") return null;  // offline again, logged out, server away: the rest waits
        if (outcome === "sent") {
          synced.push(entry);
          return store.remove(entry.seq).then(function () { return next(entries); });
        }
        return response.text().then(function (html) {
          entry.problem = { status: response.status, html: html };
          return store.put(entry);
        }).then(function () { return next(entries); });
      });
    }
    return store.all().then(function (entries) { return next(logic.pending(entries)); })
      .catch(function () { /* the store or a response failed: the rest waits for the next try */ })
      .then(function () {
        page.refreshSynced(synced);
        return page.refreshBadge().then(page.refreshProblems);
      });
  }

  function askForBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) registration.sync.register("outbox").catch(function () {});
    });
  }

  ns.sync = { flush: flush, askForBackgroundSync: askForBackgroundSync };
})(window.auditappOffline = window.auditappOffline || {});
