/* offline/logic.js: owns the outbox's rules that need no browser, so Node's test runner checks them
   (tests/js/logic.test.js): which request is a change the page may keep, and of what kind; what
   waits and what needs the auditor; what a server answer means for a kept change; the order the
   changes are sent in (answers before photos where the server cannot tell) and what the badge says of
   it; the size a photo waits at; the export file. No DOM here. A classic script: in the browser it is
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
  // fields (photos go to the audit with the item's id beside them). In a copy of a repeating section
  // (issue 15: the URL's .../copies/2/..., a photo's "copy" field) it is "12-c2", as the page's data-item.
  function itemIdOf(entry, routes) {
    var route = classify(entry.path, routes);
    var id = (route && route.args.item_id) || field(entry, "item_id") || null;
    var copy = (route && route.args.copy) || field(entry, "copy");
    return id && copy && String(copy) !== "1" ? id + "-c" + copy : id;
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

  // The outbox goes in batches, in order: at most maxChanges changes, maxPhotos photos and about
  // maxBytes each (the server's limits are larger: outbox/batch.py). A change bigger than maxBytes
  // goes alone. Smaller photo batches lose less when the link drops in the middle of an upload.
  var BATCH = { maxChanges: 50, maxPhotos: 10, maxBytes: 2 * 1024 * 1024 };

  function isFile(value) { return typeof Blob !== "undefined" && value instanceof Blob; }

  function sizeOf(entry) {
    var photos = 0, bytes = entry.path.length + (entry.changeId || "").length + 40;
    entry.fields.forEach(function (f) {
      if (isFile(f[1])) { photos += 1; bytes += f[1].size + 200; }
      else bytes += String(f[0]).length + String(f[1]).length + 8;
    });
    return { photos: photos, bytes: bytes };
  }

  function batches(entries, limits) {
    limits = Object.assign({}, BATCH, limits || {});
    var out = [], current = [], photos = 0, bytes = 0;
    entries.forEach(function (entry) {
      var size = sizeOf(entry);
      if (current.length && (current.length >= limits.maxChanges || photos + size.photos > limits.maxPhotos ||
                             bytes + size.bytes > limits.maxBytes)) {
        out.push(current);
        current = []; photos = 0; bytes = 0;
      }
      current.push(entry);
      photos += size.photos;
      bytes += size.bytes;
    });
    if (current.length) out.push(current);
    return out;
  }

  // --- the order changes are sent in: answers first, photos at the uplink's pace ---------------
  // A photo takes seconds of a phone's uplink (a 2048 px photo ~0.9 MB, ~10 s at 750 kbit/s); an
  // answer, a note or a finding's text takes a few hundred bytes. So every waiting change that
  // carries no photo goes first, and the photo changes follow in their order, unless that would
  // change what the server does. The rule (sendingOrder): in queue order, a change goes in the first
  // stage when it carries no photo and it does not depend on any change held back before it (a photo
  // change, or a change held back itself), where "later depends on earlier" (dependsOn) unless:
  //   - they are in different audits, or on different items (the server's rules for a change read
  //     only its own item: its answer and note counters, its finding, its photos; an ad-hoc finding
  //     has no item and reads none), or
  //   - on the same item, later is a note (a note has its own revision counter and nothing reads it:
  //     not the answer, the finding or the photos), or
  //   - on the same item, later is an answer and earlier only adds photos (a photo is linked to the
  //     item's finding whatever the finding's state, and an answer reads no photo).
  // So on one item a finding waits for the photos taken before it (a photo of the item is the
  // finding's evidence: the server may refuse the finding without it), an answer waits for a finding
  // held back before it (a finding needs the item graded as one), and a change the page's routes do
  // not name waits for everything held back before it. A change with a photo (a photo with its
  // marked-up copy, or a finding saved with its photo) is one request, never split. Each change is
  // still applied once by its change id; only the order of independent changes moves.
  function carriesPhoto(entry) { return entry.fields.some(function (f) { return isFile(f[1]); }); }

  function scopeOf(entry, routes) {
    var route = classify(entry.path, routes), kind = kindOf(entry, routes);
    if (!route || !kind || !route.args.audit_id) return null;
    return { audit: String(route.args.audit_id), item: itemIdOf(entry, routes), kind: kind };
  }

  function dependsOn(later, earlier, routes) {
    var a = scopeOf(later, routes), b = scopeOf(earlier, routes);
    if (!a || !b) return true;
    if (a.audit !== b.audit) return false;
    if (a.item === null || b.item === null) return a.item === b.item;  // ad-hoc findings keep their own order
    if (String(a.item) !== String(b.item)) return false;
    if (a.kind === "note") return b.kind === "note";
    if (a.kind === "answer" && b.kind === "photo") return false;
    return true;
  }

  // {first: the changes that go at once, in order; then: the rest, in order}.
  function sendingOrder(entries, routes) {
    var first = [], then = [];
    entries.forEach(function (entry) {
      var free = !carriesPhoto(entry) && then.every(function (held) { return !dependsOn(entry, held, routes || []); });
      (free ? first : then).push(entry);
    });
    return { first: first, then: then };
  }

  // The sent entries whose items have nothing left waiting (after the first stage: their items can be
  // fetched again; an item whose photo still waits keeps showing it as waiting).
  function settledEntries(sent, waiting, routes) {
    var busy = {};
    waiting.forEach(function (e) { var s = scopeOf(e, routes); if (s) busy[s.audit + ":" + s.item] = true; });
    return sent.filter(function (e) { var s = scopeOf(e, routes); return !s || !busy[s.audit + ":" + s.item]; });
  }

  // The photos among entries: how many files and their bytes.
  function photoLoad(entries) {
    var files = 0, bytes = 0;
    entries.forEach(function (entry) {
      entry.fields.forEach(function (f) { if (isFile(f[1])) { files += 1; bytes += f[1].size; } });
    });
    return { files: files, bytes: bytes };
  }

  function megabytes(bytes) { return (bytes / 1048576).toFixed(1) + " MB"; }
  function photosText(n) { return n + " photo" + (n === 1 ? "" : "s"); }

  // What the badge says of the two stages (after "N waiting to sync"): nothing without photos; the
  // photos and their size while offline; while sending, the answers going first, then the photos
  // uploading with what is left of them (and the changes that wait for them, if any).
  // uploaded: the bytes of the photo batch on its way that have left the phone (its upload progress).
  function stageText(entries, routes, sending, uploaded) {
    var order = sendingOrder(pending(entries), routes), load = photoLoad(order.then);
    if (!load.files) return "";
    var photos = photosText(load.files) + " (" + megabytes(load.bytes) + ")";
    if (!sending) return " · " + photos + " among them";
    if (order.first.length) return " · Sending answers first, then " + photos;
    var others = order.then.filter(function (e) { return !carriesPhoto(e); }).length;
    var left = Math.max(0, load.bytes - (Number(uploaded) || 0));
    return " · Answers sent · " + photosText(load.files) + " uploading (" + megabytes(left) + " left)" +
      (others ? ", " + others + " change" + (others === 1 ? "" : "s") + " after them" : "");
  }

  // A batch as POST /outbox/batch reads it: the changes as JSON (a photo's value names its file
  // part; observedAt: when it was made on the device), and the photos as file parts.
  function batchBody(entries) {
    var files = [];
    var changes = entries.map(function (entry) {
      var change = {
        changeId: entry.changeId, path: entry.path,
        fields: entry.fields.map(function (f) {
          if (!isFile(f[1])) return [f[0], String(f[1])];
          var part = "file" + files.length;
          files.push([part, f[1]]);
          return [f[0], { file: part }];
        }),
      };
      // When the auditor made the change (the device's clock), kept beside the time the server gets it.
      if (entry.queuedAt) change.observedAt = entry.queuedAt;
      return change;
    });
    return { changes: JSON.stringify(changes), files: files };
  }

  // The server's answer to a batch, per entry in order: {entry, status, body}. An entry the answer
  // does not mention gets status 0, so it waits for the next try.
  function batchAnswers(entries, answer) {
    var byId = {};
    ((answer && answer.results) || []).forEach(function (r) { byId[r.changeId] = r; });
    return entries.map(function (entry) {
      var r = byId[entry.changeId];
      return { entry: entry, status: r ? Number(r.status) || 0 : 0, body: r ? r.body || "" : "" };
    });
  }

  // Sending the waiting entries (pending only; in sendingOrder), with what the page gives (io):
  //   sendBatch(entries) -> Promise of {status, answer: the parsed JSON or null}, or null when
  //     the page has no batch address (an older page); rejects when the network fails;
  //   sendOne(entry) -> Promise of {status, body}; rejects when the network fails;
  //   remove(seqs) and keep(entry with its problem) -> Promises (the outbox on the device);
  //   progress(state) -> optional, see below.
  // options: routes (the page's, for sendingOrder; without them a change after a photo waits for
  // it), limits (BATCH's), oneByOne.
  // Each change leaves the outbox only once the server acknowledged it (applied, or applied
  // before); a refused one is kept with the server's answer; the first one to try again later
  // stops the drain and it and the rest wait. A batch the server does not take as a
  // batch (an older server, too large) goes one by one. Nothing is removed that was not
  // acknowledged, and the server applies each change id once, so a drain cut off anywhere is
  // simply sent again. Resolves with the entries that left the outbox.
  function drain(entries, io, options) {
    options = options || {};
    var synced = [];

    function settle(answers) {
      var sent = [], refused = [], goOn = true;
      for (var i = 0; i < answers.length && goOn; i++) {
        var verdict = outcome(answers[i].status);
        if (verdict === "retry") goOn = false;
        else if (verdict === "sent") sent.push(answers[i].entry);
        else refused.push(answers[i]);
      }
      return (sent.length ? io.remove(sent.map(function (e) { return e.seq; })) : Promise.resolve())
        .then(function () {
          synced.push.apply(synced, sent);
          return Promise.all(refused.map(function (a) {
            a.entry.problem = { status: a.status, html: a.body || "" };
            return io.keep(a.entry);
          }));
        })
        .then(function () { return goOn; });
    }

    function oneByOne(group) {
      return group.reduce(function (previous, entry) {
        return previous.then(function (goOn) {
          if (!goOn) return false;
          return io.sendOne(entry).then(function (r) {
            return settle([{ entry: entry, status: r && r.status, body: r && r.body }]);
          }, function () { return false; });
        });
      }, Promise.resolve(true));
    }

    function inBatch(group) {
      var sent = io.sendBatch ? io.sendBatch(group) : null;
      if (!sent) return oneByOne(group);
      return sent.then(function (r) {
        var status = (r && r.status) || 0;
        if (status >= 200 && status < 300) return settle(batchAnswers(group, r.answer));
        return outcome(status) === "refused" ? oneByOne(group) : false;
      }, function () { return false; });
    }

    // The first stage's batches, then the held-back changes' (sendingOrder); a batch never mixes them,
    // so the answers do not wait for a photo's bytes. io.progress (optional, a Promise) hears after
    // each group, before the next is sent: {stage: "first" or "then", sent: the entries that left
    // so far, stageDone: the stage's last group}.
    var order = sendingOrder(entries, options.routes);
    var staged = [["first", order.first], ["then", order.then]];
    var groups = [];
    staged.forEach(function (s) {
      var parts = options.oneByOne ? (s[1].length ? [s[1]] : []) : batches(s[1], options.limits);
      parts.forEach(function (part, n) { groups.push({ stage: s[0], entries: part, last: n === parts.length - 1 }); });
    });
    return groups.reduce(function (previous, group) {
      return previous.then(function (goOn) {
        if (!goOn) return false;
        return (options.oneByOne ? oneByOne(group.entries) : inBatch(group.entries)).then(function (more) {
          if (!io.progress) return more;
          return Promise.resolve(io.progress({ stage: group.stage, sent: synced.slice(), stageDone: group.last }))
            .then(function () { return more; }, function () { return more; });
        });
      });
    }, Promise.resolve(true)).then(function () { return synced; });
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

  // The photos a kept photo change shows on its item: the marked-up copies stand for the photos they were
  // drawn on (the n-th "marked_up" for the n-th "photo"), as the server shows them once stored.
  function shownPhotos(entry) {
    var photos = [], copies = [];
    entry.fields.forEach(function (f) {
      if (!isFile(f[1])) return;
      (f[0] === "marked_up" ? copies : photos).push(f[1]);
    });
    return copies.concat(photos.slice(copies.length));
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

  // How the audit's progress moves when an item's result goes from before to after (null: not
  // answered), as the server counts it (audits.services._progress): N/A leaves the applicable items,
  // "not audited" is applicable but not answered.
  var NA = "na", NOT_AUDITED = "not_audited";
  function progressDelta(before, after) {
    function counts(result) {
      if (result === NA) return { answered: 0, applicable: 0, na: 1 };
      return { answered: result && result !== NOT_AUDITED ? 1 : 0, applicable: 1, na: 0 };
    }
    var a = counts(before || null), b = counts(after || null);
    return { answered: b.answered - a.answered, applicable: b.applicable - a.applicable, na: b.na - a.na };
  }

  // --- answer types (issue 15) ---
  // The result an answer to an item of another type than the ISO grades leads to, as the server derives it
  // (auditapp/checklists/answers.py): spec is the form's data-answer ({type, min, max, outside, no, results}),
  // values every "value" field sent, result a number's changed result (or null). null when the values are not
  // an answer (the server will say why when the change is sent).
  var SEVERITY = ["major_nc", "minor_nc", "observation", "ofi", "conform", "recorded", "na"];
  var NUMBER = /^[+-]?(\d+([.,]\d*)?|[.,]\d+)$/;
  function answerNumber(text) {
    var cleaned = String(text).replace(/[\s\u202f]/g, "");
    return NUMBER.test(cleaned) ? Number(cleaned.replace(",", ".")) : null;
  }
  function answerResult(spec, values, result) {
    values = (values || []).map(function (v) { return String(v).trim(); }).filter(function (v) { return v; });
    if (!spec || !values.length) return null;
    var results = spec.results || {};
    if (spec.type === "multi_choice") {
      var chosen = values.map(function (v) { return results[v]; });
      if (chosen.some(function (r) { return !r; })) return null;
      return chosen.sort(function (a, b) { return SEVERITY.indexOf(a) - SEVERITY.indexOf(b); })[0];
    }
    if (values.length > 1) return null;
    var value = values[0];
    if (spec.type === "yes_no") return { yes: "conform", no: spec.no, na: "na" }[value] || null;
    if (spec.type === "choice") return results[value] || null;
    if (spec.type === "text") return "recorded";
    if (spec.type === "date") return /^\d{4}-\d{2}-\d{2}$/.test(value) ? "recorded" : null;
    if (spec.type !== "number") return null;
    var number = answerNumber(value);
    if (number === null) return null;
    if (result) return result;  // the auditor changed the proposed result
    var low = spec.min, high = spec.max;
    if (low === undefined && high === undefined) return "recorded";
    var inside = (low === undefined || number >= low) && (high === undefined || number <= high);
    return inside ? "conform" : spec.outside;
  }

  // --- show-if (issue 15, "showif") ---
  // Which items are not asked, by the rule the server uses (auditapp/checklists/conditions.py; the same cases
  // are in tests/test_conditions.py and tests/js/logic.test.js). items: in the checklist's order, each
  // {key, type, showIf, sectionShowIf} (type: the answer type, "grades" for the ISO grades; a condition is
  // {item: <trigger key>, answer: [...]} or null); given: key -> {result, value}. A condition is met when its
  // trigger, an earlier item that is itself asked, has an answer it lists: ISO grades and numbers by their
  // result, yes_no and choice by their value, multi_choice by any chosen value. Unanswered (or "not audited")
  // is no answer. Returns the hidden keys as an object (key -> true).
  function conditionMet(condition, type, answer) {
    if (!answer || !answer.result || answer.result === NOT_AUDITED) return false;
    var wanted = condition.answer || [];
    if (!type || type === "grades" || type === "number") return wanted.indexOf(answer.result) >= 0;
    if (type === "multi_choice") {
      return Array.isArray(answer.value) && answer.value.some(function (v) { return wanted.indexOf(String(v)) >= 0; });
    }
    return wanted.indexOf(String(answer.value)) >= 0;
  }
  function hiddenKeys(items, given) {
    var types = {}, hidden = {};
    (items || []).forEach(function (item) {
      var key = String(item.key);
      types[key] = item.type || "grades";
      [item.sectionShowIf, item.showIf].some(function (condition) {
        if (!condition) return false;
        var trigger = String(condition.item);
        if (hidden[trigger] || !(trigger in types) || !conditionMet(condition, types[trigger], (given || {})[trigger])) {
          hidden[key] = true;
          return true;
        }
        return false;
      });
    });
    return hidden;
  }
  // The progress of the items asked, as audits.services._progress counts it: items are {section, result,
  // hidden}; N/A leaves the applicable items, "not audited" is applicable but not answered, a hidden item
  // counts nowhere (an answer kept on it neither). sections: section -> [answered, applicable].
  function progressOf(items) {
    var out = { answered: 0, applicable: 0, na: 0, sections: {} };
    (items || []).forEach(function (item) {
      var counter = out.sections[item.section] = out.sections[item.section] || [0, 0];
      if (item.hidden) return;
      if (item.result === NA) { out.na += 1; return; }
      counter[1] += 1;
      out.applicable += 1;
      if (item.result && item.result !== NOT_AUDITED) { counter[0] += 1; out.answered += 1; }
    });
    return out;
  }
  // --- scoring (issue 15) ---
  // The audit's score as the server computes it (auditapp/checklists/scoring.py): model is the page's
  // score-model ({points: the checklist's points per result, items: {id: [section, weight, most it can
  // earn, its own points per result (0: the checklist's), points per option (a choice)]}, sections:
  // {id: weight}}), answers {item id: [result, value]}. An item's score is its points (a chosen
  // option's win) x its weight, of the most it could earn x its weight; N/A, recorded, not audited and
  // unanswered items are out of the maximum. A section's % is earned / maximum; the total % weighs the
  // sections' fractions by their weights. Percentages are whole numbers rounded half up (null: nothing
  // scored), as the server's exact fractions give them.
  var NOT_SCORED = ["na", "recorded", "not_audited"];
  function wholePercent(earned, maximum) {
    if (!(maximum > 0)) return null;
    return Math.floor(100 * earned / maximum + 0.5 + 1e-9);
  }
  function score(model, answers) {
    var sections = {}, order = [];
    Object.keys(model.items).forEach(function (id) {
      var rule = model.items[id], sid = String(rule[0]);
      if (!sections[sid]) { sections[sid] = { earned: 0, maximum: 0, scored: 0 }; order.push(sid); }
      var answer = answers[id] || [null, null], result = answer[0], value = answer[1];
      if (!result || NOT_SCORED.indexOf(result) >= 0) return;
      var points = rule[3] || model.points || {}, options = rule[4], best = rule[2], earned = null;
      if (options && typeof value === "string" && Object.prototype.hasOwnProperty.call(options, value)) earned = options[value];
      else if (Object.prototype.hasOwnProperty.call(points, result)) earned = points[result];
      if (earned === null || earned === undefined || best === null || best === undefined) return;
      sections[sid].earned += earned * rule[1];
      sections[sid].maximum += best * rule[1];
      sections[sid].scored += 1;
    });
    var weighted = 0, totalWeight = 0, earned = 0, maximum = 0, out = {};
    order.forEach(function (sid) {
      var s = sections[sid], weight = model.sections && sid in model.sections ? Number(model.sections[sid]) : 1;
      out[sid] = { earned: s.earned, maximum: s.maximum, percent: wholePercent(s.earned, s.maximum) };
      earned += s.earned; maximum += s.maximum;
      if (s.maximum > 0 && weight > 0) { weighted += weight * s.earned / s.maximum; totalWeight += weight; }
    });
    return { sections: out, total: { earned: earned, maximum: maximum, percent: wholePercent(weighted, totalWeight) } };
  }
  function scoreText(percent) { return percent === null || percent === undefined ? "\u2013" : percent + " %"; }

  // What the item says about a refused change: the server's reason, or its status.
  function refusalText(reason, status) {
    var text = (reason || "").replace(/\s+/g, " ").trim();
    return "Not synced: " + (text || "the server refused it (" + status + ").");
  }

  var logic = {
    parseRoutes: parseRoutes, classify: classify, kindOf: kindOf, field: field, itemIdOf: itemIdOf,
    pending: pending, problems: problems, badge: badge, outcome: outcome, settledBy: settledBy,
    nextRevision: nextRevision, fitWithin: fitWithin, jpegName: jpegName, exportEntries: exportEntries,
    exportPayload: exportPayload, exportFileName: exportFileName, refusalText: refusalText, shownPhotos: shownPhotos,
    progressDelta: progressDelta, answerResult: answerResult, hiddenKeys: hiddenKeys, progressOf: progressOf, score: score, scoreText: scoreText,
    BATCH: BATCH, carriesPhoto: carriesPhoto, dependsOn: dependsOn,
    sendingOrder: sendingOrder, settledEntries: settledEntries, photoLoad: photoLoad, stageText: stageText, batches: batches, batchBody: batchBody, batchAnswers: batchAnswers, drain: drain,
  };
  if (typeof module !== "undefined" && module.exports) module.exports = logic;
  else (window.auditappOffline = window.auditappOffline || {}).logic = logic;
})();
