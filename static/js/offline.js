/* offline.js: owns changes made without a connection, and "Available offline".
   - The outbox: when an audit change cannot reach the server (htmx:sendError), it is kept in
     IndexedDB with its change id, in order (photos as blobs), shown at once as "saved on this
     device", and counted in the badge.
   - Sending: on the online event, on every page start and every 20 s, entries go one by one,
     each acknowledged before the next; the server applies each change id once, so a resend or
     two racing senders never double anything. A refused change (409 conflict, 422) is kept and
     shown, never dropped.
   - Logging out with changes waiting is refused; the waiting changes can be exported to a file.
   - "Available offline" fetches an audit's pages through the service worker, which keeps them. */
(function () {
  "use strict";
  var DB_NAME = "auditapp", STORE = "outbox";
  var QUEUEABLE = /^\/audits\/\d+\/(items\/\d+\/(answer|note|finding)|photos|findings)$/;

  function openDb() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = function () {
        req.result.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
      };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }

  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), store = t.objectStore(STORE), result;
        Promise.resolve(work(store)).then(function (r) { result = r; });
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = function () { db.close(); reject(t.error); };
      });
    });
  }

  function all() {
    return tx("readonly", function (store) {
      return new Promise(function (resolve) {
        var req = store.getAll();
        req.onsuccess = function () { resolve(req.result); };
      });
    });
  }

  function put(entry) { return tx("readwrite", function (store) { store.put(entry); }); }
  function remove(seq) { return tx("readwrite", function (store) { store.delete(seq); }); }

  function pending(entries) { return entries.filter(function (e) { return !e.problem; }); }

  // --- the badge ---------------------------------------------------------------------------------
  function refreshBadge() {
    return all().then(function (entries) {
      var badge = document.getElementById("sync-badge");
      if (!badge) return entries;
      var waiting = pending(entries).length, problems = entries.length - waiting;
      badge.hidden = entries.length === 0;
      badge.querySelector("[data-count]").textContent = String(waiting);
      badge.querySelector("[data-problems]").textContent = problems ? " · " + problems + " need you" : "";
      document.body.dataset.outbox = String(entries.length);
      return entries;
    });
  }

  // --- keeping a change --------------------------------------------------------------------------
  function formEntries(formData) {
    var out = [];
    formData.forEach(function (value, name) { out.push([name, value]); });
    return out;
  }

  document.addEventListener("htmx:sendError", function (evt) {
    var config = evt.detail.requestConfig;
    if (!config || config.verb !== "post" || !QUEUEABLE.test(config.path)) return;
    evt.stopImmediatePropagation();  // not an error for the auditor: the change is safe here
    Promise.all(formEntries(config.formData).map(downscaleField)).then(function (fields) {
      var entry = {
        path: config.path, changeId: config.headers["X-Change-Id"], queuedAt: new Date().toISOString(),
        fields: fields, problem: null,
      };
      return put(entry).then(function () {
        showLocally(entry);
        refreshBadge();
        askForBackgroundSync();
      });
    });
  }, true);

  // Photos wait on the device at about the size the server keeps (long edge 2048 px), so a
  // morning's photos fit the browser's storage and upload quickly; re-encoding also drops the
  // location data. The server still checks and processes them as any upload.
  var MAX_EDGE = 2048;

  function downscaleField(f) {
    var file = f[1];
    if (!(file instanceof Blob) || !/^image\//.test(file.type) || !window.createImageBitmap) return Promise.resolve(f);
    return createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_EDGE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve) {
        canvas.toBlob(function (blob) {
          var name = (file.name || "photo").replace(/\.[^.]*$/, "") + ".jpg";
          resolve([f[0], blob ? new File([blob], name, { type: "image/jpeg" }) : file]);
        }, "image/jpeg", 0.85);
      });
    }).catch(function () { return f; });  // an image the browser cannot read goes as it is; the server decides
  }

  // The item a change belongs to: in its path (answer, note, finding) or its fields (photos).
  function itemOf(entry) {
    var m = entry.path.match(/items\/(\d+)\//);
    var id = m ? m[1] : field(entry, "item_id");
    return id ? document.getElementById("item-" + id) : null;
  }

  function field(entry, name) {
    for (var i = 0; i < entry.fields.length; i++) if (entry.fields[i][0] === name) return entry.fields[i][1];
    return null;
  }

  // The screen shows an offline change as if saved, marked as waiting, also after a reload.
  function showLocally(entry) {
    var item = itemOf(entry);
    if (!item) return;
    item.classList.add("queued");
    var base = Number(field(entry, "base_revision") || 0);
    // Our own next change of the same field builds on this one, so it must not look stale.
    var counter = /\/answer$/.test(entry.path) ? "#rev-a-" : /\/note$/.test(entry.path) ? "#rev-n-" : null;
    var input = counter && item.querySelector(counter + item.id.replace("item-", ""));
    if (input) input.value = String(Math.max(Number(input.value), base + 1));
    if (/\/answer$/.test(entry.path)) {
      var result = field(entry, "result");
      item.querySelectorAll(".results button").forEach(function (b) {
        b.setAttribute("aria-pressed", b.value === result ? "true" : "false");
      });
      item.className = item.className.replace(/\br-\S+/g, "") + " answered r-" + result;
    } else if (/\/note$/.test(entry.path)) {
      var area = item.querySelector("textarea[name=note]");
      if (area && document.activeElement !== area) area.value = field(entry, "note");
    } else if (/\/photos$/.test(entry.path)) {
      var strip = item.querySelector(".photos");
      entry.fields.forEach(function (f) {
        if (f[0] !== "photo" || !(f[1] instanceof Blob)) return;
        var img = document.createElement("img");
        img.src = URL.createObjectURL(f[1]);
        img.alt = "Photo waiting to sync";
        img.className = "queued-photo";
        strip.insertBefore(img, strip.firstChild);
      });
    }
    var state = item.querySelector(".offline-state") || document.createElement("p");
    state.className = "offline-state";
    state.textContent = "Saved on this device; will sync when online.";
    item.appendChild(state);
  }

  // --- sending -----------------------------------------------------------------------------------
  var sending = null, again = false;

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
      return send(entry).then(function (response) {
        if (response.ok) {
          synced.push(entry);
          return remove(entry.seq).then(function () { return next(entries); });
        }
        if (response.status === 401 || response.status >= 500) {
          throw new Error("not now: " + response.status);  // log in again, or a server hiccup: retry later
        }
        // 409 conflict, 422 invalid, 403: kept and shown, never dropped; the rest carry on.
        return response.text().then(function (html) {
          entry.problem = { status: response.status, html: html };
          return put(entry);
        }).then(function () { return next(entries); });
      });
    }
    return all().then(function (entries) { return next(pending(entries)); })
      .catch(function () { /* offline again or server away: the rest waits for the next try */ })
      .then(function () {
        refreshSynced(synced);
        return refreshBadge().then(refreshProblems);
      });
  }

  // After a sync, each affected item is fetched again so the screen shows what the server holds.
  function refreshSynced(entries) {
    if (!entries.length || !window.htmx) return;
    var seen = {};
    entries.forEach(function (entry) {
      var item = itemOf(entry);
      if (!item || seen[item.id]) return;
      seen[item.id] = true;
      var url = entry.path.replace(/\/(answer|note|finding)$/, "");
      if (/\/photos$/.test(entry.path)) url = entry.path.replace(/photos$/, "items/" + field(entry, "item_id"));
      htmx.ajax("GET", url, { target: "#" + item.id, swap: "outerHTML" });
    });
    htmx.trigger(document.body, "audit:answered", {});
  }

  // A refused change stays in the outbox, shown on its item beside what the server now holds, until
  // the auditor decides: tap a result to save a choice, or forget the offline change.
  function showProblems(entries) {
    (entries || []).forEach(function (entry) {
      if (!entry.problem) return;
      var item = itemOf(entry);
      if (!item || item.querySelector(".sync-problem[data-seq='" + entry.seq + "']")) return;
      var box = document.createElement("div");
      box.className = "sync-problem";
      box.dataset.seq = String(entry.seq);
      var doc = new DOMParser().parseFromString(entry.problem.html, "text/html");
      var reason = doc.querySelector(".conflict, .form-error, .save-state.error, .error");
      var p = document.createElement("p");
      p.textContent = "Not synced: " + (reason ? reason.textContent.replace(/\s+/g, " ").trim()
                                                : "the server refused it (" + entry.problem.status + ").");
      var forget = document.createElement("button");
      forget.type = "button";
      forget.textContent = "Forget my offline change";
      forget.addEventListener("click", function () {
        remove(entry.seq).then(function () { box.remove(); refreshBadge(); });
      });
      box.appendChild(p);
      box.appendChild(forget);
      item.insertBefore(box, item.children[1] || null);
    });
  }

  // The server's current item replaces the optimistic one, then the refusal is shown on it.
  function refreshProblems(entries) {
    var problems = entries.filter(function (e) { return e.problem; });
    var done = problems.map(function (entry) {
      var item = itemOf(entry);
      if (!item || !window.htmx) return Promise.resolve();
      return htmx.ajax("GET", entry.path.replace(/\/(answer|note|finding)$/, ""), { target: "#" + item.id, swap: "outerHTML" });
    });
    return Promise.all(done).then(function () { showProblems(entries); });
  }

  // Answering an item online after a conflict is the auditor's decision: the refused offline
  // change of that item's result has served its purpose and leaves the outbox.
  document.addEventListener("htmx:afterRequest", function (evt) {
    var config = evt.detail.requestConfig;
    if (!evt.detail.successful || !config || config.verb !== "post" || !/\/answer$/.test(config.path)) return;
    all().then(function (entries) {
      var decided = entries.filter(function (e) { return e.problem && e.path === config.path; });
      return Promise.all(decided.map(function (e) { return remove(e.seq); }));
    }).then(refreshBadge);
  });

  // --- logging out, exporting --------------------------------------------------------------------
  document.addEventListener("submit", function (evt) {
    if (!evt.target.classList.contains("logout")) return;
    if (Number(document.body.dataset.outbox || 0) > 0) {
      evt.preventDefault();
      alert("Changes made offline are still waiting on this device. Connect to the network and let them " +
            "sync before logging out, or export them with the badge's Export button.");
    }
  }, true);

  function exportOutbox() {
    all().then(function (entries) {
      return Promise.all(entries.map(function (entry) {
        return Promise.all(entry.fields.map(function (f) {
          if (!(f[1] instanceof Blob)) return f;
          return new Promise(function (resolve) {
            var reader = new FileReader();
            reader.onload = function () { resolve([f[0], { file: f[1].name || "photo.jpg", dataUrl: reader.result }]); };
            reader.readAsDataURL(f[1]);
          });
        })).then(function (fields) { return Object.assign({}, entry, { fields: fields }); });
      }));
    }).then(function (entries) {
      var payload = { exported: new Date().toISOString(), user: document.body.dataset.user || "", entries: entries };
      var blob = new Blob([JSON.stringify(payload, null, 1)],
                          { type: "application/json" });
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = "auditapp-outbox-" + new Date().toISOString().slice(0, 19).replace(/:/g, "") + ".json";
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
  }

  // --- available offline -------------------------------------------------------------------------
  function makeAvailable(button) {
    var urls = JSON.parse(button.dataset.offlineUrls || "[]");
    var status = button.parentNode.querySelector(".offline-status");
    status.textContent = "Saving…";
    Promise.all(urls.map(function (u) { return fetch(u, { credentials: "same-origin" }); }))
      .then(function () { return navigator.storage && navigator.storage.persist ? navigator.storage.persist() : false; })
      .then(function (persisted) {
        return (navigator.storage && navigator.storage.estimate ? navigator.storage.estimate() : Promise.resolve({}))
          .then(function (est) {
            var mb = est.usage ? (est.usage / 1048576).toFixed(1) + " MB used on this device" : "";
            status.textContent = "Available offline. " + mb + (persisted ? "" : " (the browser may clear it if space runs low)");
            button.dataset.ready = "true";
          });
      })
      .catch(function () { status.textContent = "Could not save it for offline use; try again with a connection."; });
  }

  document.addEventListener("click", function (evt) {
    var offline = evt.target.closest("[data-offline-urls]");
    if (offline) { evt.preventDefault(); makeAvailable(offline); }
    if (evt.target.closest("[data-export-outbox]")) { evt.preventDefault(); exportOutbox(); }
  });

  function askForBackgroundSync() {
    if (!("serviceWorker" in navigator)) return;
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.sync) registration.sync.register("outbox").catch(function () {});
    });
  }

  // --- start -------------------------------------------------------------------------------------
  function start() {
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" });
    refreshBadge().then(function (entries) {
      entries.forEach(function (e) { if (!e.problem) showLocally(e); });
      showProblems(entries);
      // Audits assigned to me for today are kept for offline use without asking.
      document.querySelectorAll("[data-auto-offline]").forEach(function (el) {
        JSON.parse(el.dataset.autoOffline).forEach(function (u) { fetch(u, { credentials: "same-origin" }).catch(function () {}); });
      });
      flush();
    });
  }

  window.addEventListener("online", flush);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (evt) {
      if (evt.data && evt.data.type === "flush-outbox") flush();
    });
  }
  setInterval(function () { if (navigator.onLine) flush(); }, 20000);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  window.auditappOutbox = { flush: flush, all: all, refreshBadge: refreshBadge };
})();
