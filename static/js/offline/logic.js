/* offline/logic.js: owns the outbox's rules that need no browser, so Node's test runner checks them
   (tests/js/logic.test.js): which request is a change the page may keep, and of what kind; what
   waits and what needs the auditor; what a server answer means for a kept change; the size a photo
   waits at; the export file. No DOM here. A classic script: in the browser it is
   auditappOffline.logic, in Node module.exports. */
(function () {
  "use strict";

  // The routes base.html gives (body data-outbox-routes): [{endpoint, kind, pattern, args}], made
  // by auditapp/pwa/routes.py from the URL map and the replay table (outbox/replay.py, which says
  // each endpoint's kind); a pattern has one group per argument of its rule.
  function parseRoutes(json) {
    return JSON.parse(json || "[]").map(function (route) {
      return { endpoint: route.endpoint, kind: route.kind || null, pattern: new RegExp(route.pattern),
               args: route.args || [] };
    });
  }

  function routeOf(path, routes) {
    for (var i = 0; i < routes.length; i++) if (routes[i].pattern.test(path || "")) return routes[i];
    return null;
  }

  // The endpoint a path goes to and its arguments by name; null for a request not to keep.
  function classify(path, routes) {
    for (var i = 0; i < routes.length; i++) {
      var match = routes[i].pattern.exec(path || "");
      if (!match) continue;
      var args = {};
      routes[i].args.forEach(function (name, n) { args[name] = match[n + 1]; });
      return { endpoint: routes[i].endpoint, args: args };
    }
    return null;
  }

  // The kind of change (answer, note, finding, photo) a kept entry is, as the server declared it
  // for its endpoint. No script names an endpoint or copies a URL.
  function kindOf(entry, routes) {
    var route = routeOf(entry.path, routes);
    return route ? route.kind : null;
  }

  function field(entry, name) {
    for (var i = 0; i < entry.fields.length; i++) if (entry.fields[i][0] === name) return entry.fields[i][1];
    return null;
  }

  // The checklist item a change belongs to: named in its URL (answer, note, finding), or in its
  // fields (photos go to the audit with the item's id beside them).
  function itemIdOf(entry, routes) {
    var route = classify(entry.path, routes);
    return (route && route.args.item_id) || field(entry, "item_id") || null;
  }

  function pending(entries) { return entries.filter(function (e) { return !e.problem; }); }
  function problems(entries) { return entries.filter(function (e) { return e.problem; }); }

  // The badge: hidden when nothing is kept; how many wait; how many the server refused.
  function badge(entries) {
    var waiting = pending(entries).length, refused = entries.length - waiting;
    return { hidden: entries.length === 0, count: String(waiting), problems: refused ? " · " + refused + " need you" : "" };
  }

  // What a server answer (its status; 0 or null when the network failed) means for a kept change:
  // "sent", and it leaves the outbox; "retry": stop and try all again later (no network, logged
  // out, a server hiccup such as 503 with Retry-After); "refused" (409 conflict, 422 invalid,
  // 403...): kept and shown, never dropped, and the next ones carry on.
  function outcome(status) {
    if (!status) return "retry";
    if (status >= 200 && status < 300) return "sent";
    return status === 401 || status >= 500 ? "retry" : "refused";
  }

  // The refused changes a successful change to the same URL settles: the auditor decided.
  function settledBy(path, entries) { return entries.filter(function (e) { return e.problem && e.path === path; }); }

  // Our own next change of a field builds on the kept one, so it must not look stale.
  function nextRevision(current, base) { return Math.max(Number(current) || 0, Number(base || 0) + 1); }

  // A photo waits at about the size the server keeps: its long edge at most maxEdge, never enlarged.
  function fitWithin(width, height, maxEdge) {
    var scale = Math.min(1, maxEdge / Math.max(width, height));
    return { width: Math.round(width * scale), height: Math.round(height * scale) };
  }

  function jpegName(name) { return (name || "photo").replace(/\.[^.]*$/, "") + ".jpg"; }

  // The export file, as auditapp/outbox/services.py reads it: the entries in order, each photo as
  // {file, dataUrl}; dataUrlOf(blob) reads a photo (a Promise).
  function exportEntries(entries, dataUrlOf) {
    return Promise.all(entries.map(function (entry) {
      return Promise.all(entry.fields.map(function (f) {
        if (typeof Blob === "undefined" || !(f[1] instanceof Blob)) return f;
        return dataUrlOf(f[1]).then(function (url) { return [f[0], { file: f[1].name || "photo.jpg", dataUrl: url }]; });
      })).then(function (fields) { return Object.assign({}, entry, { fields: fields }); });
    }));
  }

  function exportPayload(entries, user, now) { return { exported: now.toISOString(), user: user || "", entries: entries }; }
  function exportFileName(now) { return "auditapp-outbox-" + now.toISOString().slice(0, 19).replace(/:/g, "") + ".json"; }

  // What the item says about a refused change: the server's reason, or its status.
  function refusalText(reason, status) {
    var text = (reason || "").replace(/\s+/g, " ").trim();
    return "Not synced: " + (text || "the server refused it (" + status + ").");
  }

  var logic = {
    parseRoutes: parseRoutes, classify: classify, kindOf: kindOf, field: field, itemIdOf: itemIdOf,
    pending: pending, problems: problems, badge: badge, outcome: outcome, settledBy: settledBy,
    nextRevision: nextRevision, fitWithin: fitWithin, jpegName: jpegName, exportEntries: exportEntries,
    exportPayload: exportPayload, exportFileName: exportFileName, refusalText: refusalText,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = logic;
  else (window.auditappOffline = window.auditappOffline || {}).logic = logic;
})();
