/* offline/start.js: owns starting the outbox on every page, and "Available offline".
   - Start: register the service worker, show the kept changes on the screen, keep today's audits
     and those in progress for offline use (once the worker controls the page), send what waits. Then send again on the online event, when the service
     worker asks (Background Sync), and every 20 s while online.
   - "Available offline" fetches an audit's pages through the service worker, which keeps them.
   - window.auditappOutbox is the outbox for tests and benchmarks: flush, drainOneByOne (one
     request per change, in the same two stages, for bench/sync.py), all, refreshBadge. */
(function (ns) {
  "use strict";
  var store = ns.store, page = ns.page, sync = ns.sync, keep = ns.keep;

  function makeAvailable(button) {
    var urls = JSON.parse(button.dataset.offlineUrls || "[]");
    var status = button.parentNode.querySelector("[data-offline-status]");
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
    if (evt.target.closest("[data-export-outbox]")) { evt.preventDefault(); keep.exportOutbox(); }
  });

  // Only a page the service worker controls has its fetches kept. On the first visit after logging
  // in on a new phone it does not yet: the worker takes control when it activates (clients.claim),
  // and only then are today's audits and those in progress fetched (data-auto-offline: each visit, as
  // they change; data-auto-offline-once: guidance and photos, only those not kept yet, as they never
  // change), and this page too when the worker did not see it load. So they open with no network
  // without a tap. body[data-auto-offline-ready] says they are kept (tests).
  // Whether the worker answered this page's own request, and so kept it. A worker that took control
  // while the page was still loading (clients.claim: installed just after the first login) never saw
  // it, yet navigator.serviceWorker.controller is already set when these scripts run (a loaded phone,
  // or a slow script, is enough): the navigation's timing tells them apart (workerStart is 0 when no
  // worker answered it). Trusting the controller left such an audit unkept and said it was kept.
  function workerAnsweredThisPage() {
    if (!("serviceWorker" in navigator) || !navigator.serviceWorker.controller) return false;
    var nav = window.performance && performance.getEntriesByType ? performance.getEntriesByType("navigation")[0] : null;
    return nav ? nav.workerStart > 0 : true;
  }
  var controlledAtLoad = workerAnsweredThisPage();

  function controlled() {
    if (!("serviceWorker" in navigator)) return Promise.reject(new Error("no service worker"));
    if (navigator.serviceWorker.controller) return Promise.resolve();
    return new Promise(function (resolve) {
      navigator.serviceWorker.addEventListener("controllerchange", function () { resolve(); }, { once: true });
    });
  }

  function notKeptYet(urls) {
    if (!window.caches) return Promise.resolve(urls);
    return Promise.all(urls.map(function (u) { return caches.match(u).then(function (hit) { return hit ? null : u; }); }))
      .then(function (missing) { return missing.filter(Boolean); });
  }

  function keepMyAudits() {
    var el = document.querySelector("[data-auto-offline]");
    if (!el) return;
    var fresh = JSON.parse(el.dataset.autoOffline || "[]"), once = JSON.parse(el.dataset.autoOfflineOnce || "[]");
    if (!controlledAtLoad) fresh.push(location.pathname + location.search);
    ns.keeping = controlled().then(function () { return notKeptYet(once); }).then(function (missing) {
      return Promise.all(fresh.concat(missing).map(function (u) {
        return fetch(u, { credentials: "same-origin" }).then(function (r) { return r.ok; }, function () { return false; });
      }));
    }).then(function (results) {
      document.body.dataset.autoOfflineReady = results.every(Boolean) ? "true" : "partly";
    }, function () {});
  }

  // Any other page the worker did not see load (an audit opened straight after the first login, before
  // the worker took control) is fetched once more through it when it takes control, so the worker
  // keeps it if it keeps such pages (audit screens; it ignores the rest). body[data-page-kept] says the
  // worker has seen this page (tests).
  function keepThisPage() {
    if (document.querySelector("[data-auto-offline]")) return;
    if (controlledAtLoad) { document.body.dataset.pageKept = "true"; return; }
    controlled().then(function () {
      return fetch(location.pathname + location.search, { credentials: "same-origin" });
    }).then(function () { document.body.dataset.pageKept = "true"; }, function () {});
  }

  // A copy of a repeating section added (audits.add_copy, "Add station") changes the audit's page: the copy
  // kept for offline use is fetched again through the worker, or a reload with no network showed the page
  // of before, without the new station and the answers waiting for it.
  // Known by its address (POST .../sections/<id>/copies): the form has been swapped out by then, and htmx
  // tells the event to the nearest element still on the page (detail.elt is that element, not the form).
  document.addEventListener("htmx:afterRequest", function (evt) {
    var config = evt.detail.requestConfig;
    if (!evt.detail.successful || !config || config.verb !== "post" || !/\/sections\/\d+\/copies$/.test(config.path)) return;
    if (!("serviceWorker" in navigator) || !navigator.serviceWorker.controller) return;
    fetch(location.pathname + location.search, { credentials: "same-origin" }).catch(function () {});
  });

  function start() {
    if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js", { scope: "/" });
    page.refreshBadge().then(function (entries) {
      entries.forEach(function (e) { if (!e.problem) page.showLocally(e); });
      page.showProblems(entries);
      keepMyAudits();
      keepThisPage();
      sync.flush();
    });
  }

  window.addEventListener("online", sync.flush);
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.addEventListener("message", function (evt) {
      if (evt.data && evt.data.type === "flush-outbox") sync.flush();
    });
  }
  setInterval(function () { if (navigator.onLine) sync.flush(); }, 20000);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
  window.auditappOutbox = {
    flush: sync.flush, drainOneByOne: sync.drainOneByOne, all: store.all, refreshBadge: page.refreshBadge,
  };
})(window.auditappOffline = window.auditappOffline || {});
