/* offline/sync.js: owns sending the outbox. Entries go in batches (POST to the page's
   data-outbox-batch address), in order, each change with the change id it was made with: the
   server applies each change id once and answers each change, so a resend, a batch cut off in
   the middle or two racing senders never double anything. What is sent, removed, kept or left
   waiting is logic.drain's rule (the changes without photos first, then the photos: logic.sendingOrder) (each answer read by logic.outcome: sent and dropped, retry later
   and the rest waits, or refused and kept and shown, never dropped); a batch the server does not
   take goes one by one, as the outbox always could. Background Sync, where the browser has it,
   only wakes the page sooner. */
(function (ns) {
  "use strict";
  var logic = ns.logic, store = ns.store, page = ns.page;

  function csrfToken() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"]; } catch (e) { return ""; }
  }

  function batchUrl() {
    var el = document.querySelector("[data-outbox-batch]");
    return el ? el.dataset.outboxBatch : "";
  }

  function sendOne(entry) {
    var body = new FormData();
    entry.fields.forEach(function (f) {
      if (f[1] instanceof Blob) body.append(f[0], f[1], f[1].name || "photo.jpg");
      else body.append(f[0], f[1]);
    });
    var headers = { "X-Change-Id": entry.changeId, "X-CSRFToken": csrfToken(), "HX-Request": "true" };
    if (entry.queuedAt) headers["X-Observed-At"] = entry.queuedAt;  // when the auditor made it, on the device
    return fetch(entry.path, { method: "POST", body: body, credentials: "same-origin", headers: headers }).then(function (response) {
      if (response.ok) return { status: response.status, body: "" };
      return response.text().then(function (html) { return { status: response.status, body: html }; });
    });
  }

  // onUpload(bytes sent so far): a batch with photos goes by XMLHttpRequest, whose upload progress
  // the badge shows (fetch has none); the answer is read the same way.
  function sendBatch(entries, onUpload) {
    var url = batchUrl();
    if (!url) return null;
    var made = logic.batchBody(entries), body = new FormData();
    body.append("changes", made.changes);
    made.files.forEach(function (f) { body.append(f[0], f[1], f[1].name || "photo.jpg"); });
    if (made.files.length && onUpload) return sendWithProgress(url, body, onUpload);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrfToken() },
    }).then(function (response) {
      if (!response.ok) return { status: response.status, answer: null };
      // Not the batch's answer (a login page, a proxy's page): nothing is known, all waits.
      return response.json().then(function (answer) { return { status: response.status, answer: answer }; },
                                  function () { return { status: 0, answer: null }; });
    });
  }

  function sendWithProgress(url, body, onUpload) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      xhr.withCredentials = true;
      xhr.setRequestHeader("X-CSRFToken", csrfToken());
      xhr.upload.onprogress = function (evt) { onUpload(evt.loaded); };
      xhr.onload = function () {
        if (xhr.status < 200 || xhr.status >= 300) return resolve({ status: xhr.status, answer: null });
        // Not the batch's answer (a login page, a proxy's page): nothing is known, all waits.
        try { resolve({ status: xhr.status, answer: JSON.parse(xhr.responseText) }); } catch (e) { resolve({ status: 0, answer: null }); }
      };
      xhr.onerror = xhr.onabort = xhr.ontimeout = function () { reject(new TypeError("the network failed")); };
      xhr.send(body);
    });
  }

  var io = { sendBatch: sendBatch, sendOne: sendOne, remove: store.removeAll, keep: store.put };

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

  // options.oneByOne: each change in a request of its own (what a batch the server refuses gets);
  // for benchmarks that compare the two on the same page.
  // The changes without photos go first (logic.sendingOrder): once they are acknowledged their items
  // are fetched again (those with nothing left waiting) while the photos upload, and the badge says
  // both stages as they go (logic.stageText).
  function drain(options) {
    var synced = [], shown = [], shownAt = 0;
    var staged = Object.assign({}, io, {
      sendBatch: function (entries) {
        return sendBatch(entries, function (bytes) {  // the badge follows the upload, twice a second at most
          if (Date.now() - shownAt < 500) return;
          shownAt = Date.now();
          page.refreshBadge({ sending: true, uploaded: bytes });
        });
      },
      progress: function (state) {
        return page.refreshBadge({ sending: true }).then(function (left) {
          if (state.stage !== "first" || !state.stageDone) return;
          shown = logic.settledEntries(state.sent, logic.pending(left), page.routes);
          page.refreshSynced(shown);
        });
      },
    });
    return page.refreshBadge({ sending: true })  // resolves with the outbox it read
      .then(function (entries) { return logic.drain(logic.pending(entries), staged, Object.assign({ routes: page.routes }, options)); })
      .then(function (sent) { synced = sent; })
      .catch(function () { /* the store or a response failed: the rest waits for the next try */ })
      .then(function () {
        page.refreshSynced(synced.filter(function (e) { return shown.indexOf(e) < 0; }));
        return page.refreshBadge().then(page.refreshProblems);
      });
  }

  function drainOneByOne() {
    if (sending) return sending.then(drainOneByOne);
    sending = drain({ oneByOne: true }).then(function () { sending = null; });
    return sending;
  }

  function askForBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) registration.sync.register("outbox").catch(function () {});
    });
  }

  ns.sync = { flush: flush, drainOneByOne: drainOneByOne, askForBackgroundSync: askForBackgroundSync };
})(window.auditappOffline = window.auditappOffline || {});
