// The offline outbox's rules without a browser (static/js/offline/logic.js): node --test tests/js/
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const logic = require("../../static/js/offline/logic.js");

// Routes in the shape auditapp/pwa/routes.py renders into the page (a JSON attribute); the endpoint
// names here are samples: tests/test_pwa_routes.py checks the real patterns against the URL map.
const ROUTES_JSON = JSON.stringify([
  { endpoint: "sample.answer", kind: "answer", pattern: "^/audits/(\\d+)/items/(\\d+)/answer$", args: ["audit_id", "item_id"] },
  { endpoint: "sample.answer", kind: "answer", pattern: "^/audits/(\\d+)/items/(\\d+)/copies/(\\d+)/answer$", args: ["audit_id", "item_id", "copy"] },
  { endpoint: "sample.note", kind: "note", pattern: "^/audits/(\\d+)/items/(\\d+)/note$", args: ["audit_id", "item_id"] },
  { endpoint: "sample.finding", kind: "finding", pattern: "^/audits/(\\d+)/items/(\\d+)/finding$", args: ["audit_id", "item_id"] },
  { endpoint: "sample.adhoc", kind: "finding", pattern: "^/audits/(\\d+)/findings$", args: ["audit_id"] },
  { endpoint: "sample.photos", kind: "photo", pattern: "^/audits/(\\d+)/photos$", args: ["audit_id"] },
]);
const routes = logic.parseRoutes(ROUTES_JSON);

function entry(path, fields, problem) { return { path: path, changeId: "c-" + path, fields: fields || [], problem: problem || null }; }

test("a path is classified by the rendered patterns, with its arguments by name", () => {
  assert.deepEqual(logic.classify("/audits/3/items/7/answer", routes),
                   { endpoint: "sample.answer", args: { audit_id: "3", item_id: "7" } });
  assert.deepEqual(logic.classify("/audits/3/photos", routes), { endpoint: "sample.photos", args: { audit_id: "3" } });
});

test("paths that are not a change to keep are refused", () => {
  for (const path of ["/audits/3/items/7", "/audits/3/items/7/answer/", "/audits/x/items/7/answer", "/audits/3/items/7/history",
                      "/x/audits/3/photos", "/audits/3/photos?x=1", "/photos/abc/delete", "/logout", "", undefined]) {
    assert.equal(logic.classify(path, routes), null, String(path));
  }
});

test("no routes on the page means nothing is kept", () => {
  assert.deepEqual(logic.parseRoutes(undefined), []);
  assert.equal(logic.classify("/audits/3/items/7/answer", logic.parseRoutes("")), null);
});

test("the kind of a change is the one the server declared for its endpoint", () => {
  assert.equal(logic.kindOf(entry("/audits/9/items/99/answer"), routes), "answer");  // any item, same endpoint
  assert.equal(logic.kindOf(entry("/audits/9/items/99/note"), routes), "note");
  assert.equal(logic.kindOf(entry("/audits/9/findings"), routes), "finding");
  assert.equal(logic.kindOf(entry("/audits/9/photos"), routes), "photo");
  assert.equal(logic.kindOf(entry("/elsewhere"), routes), null);
  assert.equal(logic.kindOf(entry("/audits/9/photos"), logic.parseRoutes("[]")), null);  // a page without routes
});

test("the item of a change is in its URL, or in its fields for photos; ad-hoc findings have none", () => {
  assert.equal(logic.itemIdOf(entry("/audits/3/items/7/note", [["note", "x"]]), routes), "7");
  assert.equal(logic.itemIdOf(entry("/audits/3/photos", [["item_id", "8"], ["photo", "…"]]), routes), "8");
  assert.equal(logic.itemIdOf(entry("/audits/3/findings", [["clause", "7.1.5"]]), routes), null);
});

test("fields are read by name, the first of a name wins", () => {
  const e = entry("/audits/3/items/7/answer", [["result", "conform"], ["base_revision", "2"], ["result", "ofi"]]);
  assert.equal(logic.field(e, "result"), "conform");
  assert.equal(logic.field(e, "missing"), null);
});

test("refused changes need the auditor; the others wait", () => {
  const waiting = entry("/audits/3/items/7/answer"), refused = entry("/audits/3/items/8/answer", [], { status: 409, html: "" });
  assert.deepEqual(logic.pending([waiting, refused]), [waiting]);
  assert.deepEqual(logic.problems([waiting, refused]), [refused]);
  assert.deepEqual(logic.badge([waiting, waiting, refused]), { hidden: false, count: "2", problems: " · 1 need you" });
  assert.deepEqual(logic.badge([waiting]), { hidden: false, count: "1", problems: "" });
  assert.deepEqual(logic.badge([]), { hidden: true, count: "0", problems: "" });
});

test("a server answer means sent, retry later, or refused and shown", () => {
  for (const status of [200, 201, 204]) assert.equal(logic.outcome(status), "sent", String(status));
  // No network, logged out, the server away or busy (503 with Retry-After): keep all, try later.
  for (const status of [0, null, undefined, 401, 500, 502, 503, 504]) assert.equal(logic.outcome(status), "retry", String(status));
  // Conflict, invalid, forbidden, gone: kept and shown to the auditor, never dropped.
  for (const status of [400, 403, 404, 409, 413, 422]) assert.equal(logic.outcome(status), "refused", String(status));
});

test("a successful answer online settles the refused changes to the same URL only", () => {
  const mine = entry("/audits/3/items/7/answer", [], { status: 409, html: "" });
  const other = entry("/audits/3/items/8/answer", [], { status: 409, html: "" });
  const waiting = entry("/audits/3/items/7/answer");
  assert.deepEqual(logic.settledBy("/audits/3/items/7/answer", [mine, other, waiting]), [mine]);
});

test("the next revision builds on the kept change", () => {
  assert.equal(logic.nextRevision("3", "3"), 4);
  assert.equal(logic.nextRevision("5", "1"), 5);  // the server's newer revision stays
  assert.equal(logic.nextRevision("", null), 1);
});

test("photos are downscaled to a 2048 px long edge, keeping the aspect, never enlarged", () => {
  assert.deepEqual(logic.fitWithin(4000, 3000, 2048), { width: 2048, height: 1536 });
  assert.deepEqual(logic.fitWithin(3000, 4000, 2048), { width: 1536, height: 2048 });
  assert.deepEqual(logic.fitWithin(4001, 3001, 2048), { width: 2048, height: 1536 });
  assert.deepEqual(logic.fitWithin(8000, 10, 2048), { width: 2048, height: 3 });
  assert.deepEqual(logic.fitWithin(1024, 768, 2048), { width: 1024, height: 768 });
  assert.deepEqual(logic.fitWithin(2048, 2048, 2048), { width: 2048, height: 2048 });
  assert.equal(logic.jpegName("IMG_0001.HEIC"), "IMG_0001.jpg");
  assert.equal(logic.jpegName(""), "photo.jpg");
  assert.equal(logic.jpegName("archive.tar.gz"), "archive.tar.jpg");
});

test("an export holds every entry in order, photos as data URLs the importer reads", async () => {
  const photo = new Blob(["jpeg bytes"], { type: "image/jpeg" });
  const entries = [
    Object.assign(entry("/audits/3/items/7/answer", [["result", "conform"], ["base_revision", "0"]]), { seq: 1, queuedAt: "t1" }),
    Object.assign(entry("/audits/3/photos", [["item_id", "7"], ["photo", photo]], { status: 422, html: "<p>x</p>" }), { seq: 2 }),
  ];
  const read = [];
  const exported = await logic.exportEntries(entries, (blob) => { read.push(blob); return Promise.resolve("data:image/jpeg;base64,QUJD"); });
  assert.deepEqual(read, [photo]);
  assert.deepEqual(exported[0], entries[0]);
  assert.deepEqual(exported[1].fields, [["item_id", "7"], ["photo", { file: "photo.jpg", dataUrl: "data:image/jpeg;base64,QUJD" }]]);
  assert.equal(exported[1].changeId, entries[1].changeId);
  assert.equal(entries[1].fields[1][1], photo);  // the outbox itself is left as it is
  const now = new Date("2026-11-28T07:15:30.123Z");
  const payload = JSON.parse(JSON.stringify(logic.exportPayload(exported, "ann@example.com", now)));
  assert.equal(payload.exported, "2026-11-28T07:15:30.123Z");
  assert.equal(payload.user, "ann@example.com");
  assert.deepEqual(payload.entries.map((e) => e.path), ["/audits/3/items/7/answer", "/audits/3/photos"]);
  for (const e of payload.entries) assert.ok(typeof e.path === "string" && typeof e.changeId === "string" && Array.isArray(e.fields));
  assert.equal(logic.exportPayload([], undefined, now).user, "");
  assert.equal(logic.exportFileName(now), "auditapp-outbox-2026-11-28T071530.json");
});

test("a refusal is shown with the server's reason, or its status", () => {
  assert.equal(logic.refusalText("\n  Mo changed this item\n meanwhile. ", 409), "Not synced: Mo changed this item meanwhile.");
  assert.equal(logic.refusalText(null, 403), "Not synced: the server refused it (403).");
});

// --- batches -----------------------------------------------------------------------------------

function change(n, fields) { return { seq: n, path: "/audits/1/items/" + n + "/answer", changeId: "chg-" + n, fields: fields || [["result", "conform"]], problem: null }; }
function photoChange(n, bytes) { return change(n, [["item_id", "1"], ["photo", new Blob([new Uint8Array(bytes || 10)], { type: "image/jpeg" })]]); }

test("batches keep the order and stay within changes, photos and bytes", () => {
  const entries = [1, 2, 3, 4, 5].map((n) => change(n));
  assert.deepEqual(logic.batches(entries, { maxChanges: 2 }).map((b) => b.map((e) => e.seq)), [[1, 2], [3, 4], [5]]);
  const mixed = [change(1), photoChange(2), photoChange(3), change(4), photoChange(5)];
  assert.deepEqual(logic.batches(mixed, { maxPhotos: 2 }).map((b) => b.map((e) => e.seq)), [[1, 2, 3, 4], [5]]);
  const big = [change(1), photoChange(2, 5000), change(3)];
  // A change larger than the byte budget goes alone, never dropped.
  assert.deepEqual(logic.batches(big, { maxBytes: 1000 }).map((b) => b.map((e) => e.seq)), [[1], [2], [3]]);
  assert.deepEqual(logic.batches([]), []);
  assert.equal(logic.batches(Array.from({ length: 200 }, (_, n) => change(n))).length, 200 / logic.BATCH.maxChanges);
});

test("a batch's body names each photo's file part and keeps the fields in order", () => {
  const body = logic.batchBody([change(1), photoChange(2)]);
  assert.deepEqual(JSON.parse(body.changes), [
    { changeId: "chg-1", path: "/audits/1/items/1/answer", fields: [["result", "conform"]] },
    { changeId: "chg-2", path: "/audits/1/items/2/answer", fields: [["item_id", "1"], ["photo", { file: "file0" }]] },
  ]);
  assert.equal(body.files.length, 1);
  assert.equal(body.files[0][0], "file0");
  assert.ok(body.files[0][1] instanceof Blob);
});

// A server in memory that applies each change id once, like core/changes.py, and a device outbox.
function world(opts) {
  opts = opts || {};
  const applied = new Map(), requests = [], outbox = new Map();
  function answerFor(entry) {
    if (opts.refuse && opts.refuse.includes(entry.changeId)) return { status: 409, body: "<p data-refusal>changed meanwhile</p>" };
    if (opts.busy && opts.busy.includes(entry.changeId)) return { status: 503, body: "busy" };
    if (applied.has(entry.changeId)) return { status: 200, body: "", replayed: true };
    applied.set(entry.changeId, (applied.get(entry.changeId) || 0) + 1);
    return { status: 200, body: "" };
  }
  const io = {
    sendBatch(entries) {
      requests.push(["batch", entries.map((e) => e.seq)]);
      if (opts.noBatches) return Promise.resolve({ status: 404, answer: null });
      if (opts.offline) return Promise.reject(new TypeError("Failed to fetch"));
      const results = [];
      for (const e of entries) {
        if (results.length && results[results.length - 1].status !== 0 && logic.outcome(results[results.length - 1].status) === "retry") {
          results.push({ changeId: e.changeId, status: 0, body: "" });
          continue;
        }
        const a = answerFor(e);
        results.push({ changeId: e.changeId, status: a.status, body: a.body });
        if (opts.dropAfter !== undefined && results.length === opts.dropAfter) {
          opts.dropAfter = undefined;  // applied so far, then the link drops before the answer arrives
          return Promise.reject(new TypeError("network connection lost"));
        }
      }
      return Promise.resolve({ status: 200, answer: { results } });
    },
    sendOne(entry) {
      requests.push(["one", entry.seq]);
      if (opts.offline) return Promise.reject(new TypeError("Failed to fetch"));
      return Promise.resolve(answerFor(entry));
    },
    remove(seqs) { seqs.forEach((s) => outbox.delete(s)); return Promise.resolve(); },
    keep(entry) { outbox.set(entry.seq, entry); return Promise.resolve(); },
  };
  return { io, applied, requests, outbox, fill(entries) { entries.forEach((e) => outbox.set(e.seq, e)); return entries; } };
}

test("a drain sends the outbox in batches and removes each acknowledged change", async () => {
  const w = world();
  const entries = w.fill([1, 2, 3, 4, 5].map((n) => change(n)));
  const synced = await logic.drain(entries, w.io, { limits: { maxChanges: 2 } });
  assert.deepEqual(synced.map((e) => e.seq), [1, 2, 3, 4, 5]);
  assert.deepEqual(w.requests, [["batch", [1, 2]], ["batch", [3, 4]], ["batch", [5]]]);
  assert.equal(w.outbox.size, 0);
  assert.deepEqual([...w.applied.values()], [1, 1, 1, 1, 1]);
});

test("a refused change in a batch is kept with the server's answer and the others carry on", async () => {
  const w = world({ refuse: ["chg-2"] });
  const entries = w.fill([1, 2, 3].map((n) => change(n)));
  const synced = await logic.drain(entries, w.io);
  assert.deepEqual(synced.map((e) => e.seq), [1, 3]);
  assert.deepEqual([...w.outbox.keys()], [2]);
  assert.deepEqual(w.outbox.get(2).problem, { status: 409, html: "<p data-refusal>changed meanwhile</p>" });
});

test("a change to send later stops the drain there: it and the rest wait, in order", async () => {
  const w = world({ busy: ["chg-2"] });
  const entries = w.fill([1, 2, 3, 4].map((n) => change(n)));
  const synced = await logic.drain(entries, w.io, { limits: { maxChanges: 3 } });
  assert.deepEqual(synced.map((e) => e.seq), [1]);
  assert.deepEqual([...w.outbox.keys()], [2, 3, 4]);
  assert.ok([...w.outbox.values()].every((e) => !e.problem));
  assert.deepEqual(w.requests, [["batch", [1, 2, 3]]]);  // the next batch is not sent
});

test("a batch cut off after the server applied part of it loses nothing and doubles nothing", async () => {
  const w = world({ dropAfter: 2 });
  const entries = w.fill([1, 2, 3].map((n) => change(n)));
  assert.deepEqual(await logic.drain(entries, w.io), []);
  assert.equal(w.outbox.size, 3);  // no answer, so nothing leaves the device
  const synced = await logic.drain([...w.outbox.values()], w.io);
  assert.deepEqual(synced.map((e) => e.seq), [1, 2, 3]);
  assert.equal(w.outbox.size, 0);
  assert.deepEqual([...w.applied.values()], [1, 1, 1]);
});

test("with no network nothing is removed and nothing more is tried", async () => {
  const w = world({ offline: true });
  const entries = w.fill([1, 2, 3].map((n) => change(n)));
  assert.deepEqual(await logic.drain(entries, w.io, { limits: { maxChanges: 1 } }), []);
  assert.equal(w.outbox.size, 3);
  assert.deepEqual(w.requests, [["batch", [1]]]);
});

test("an answer that leaves a change out leaves it waiting", async () => {
  const w = world();
  const entries = w.fill([1, 2].map((n) => change(n)));
  w.io.sendBatch = () => Promise.resolve({ status: 200, answer: { results: [{ changeId: "chg-1", status: 200 }] } });
  assert.deepEqual((await logic.drain(entries, w.io)).map((e) => e.seq), [1]);
  assert.deepEqual([...w.outbox.keys()], [2]);
  w.io.sendBatch = () => Promise.resolve({ status: 0, answer: null });  // not the batch's answer (a login page)
  assert.deepEqual(await logic.drain([...w.outbox.values()], w.io), []);
  assert.deepEqual([...w.outbox.keys()], [2]);
});

test("a server without batches, or a page without the address, gets the changes one by one", async () => {
  const w = world({ noBatches: true, refuse: ["chg-2"] });
  const entries = w.fill([1, 2, 3].map((n) => change(n)));
  assert.deepEqual((await logic.drain(entries, w.io)).map((e) => e.seq), [1, 3]);
  assert.deepEqual(w.requests, [["batch", [1, 2, 3]], ["one", 1], ["one", 2], ["one", 3]]);
  assert.equal(w.outbox.get(2).problem.status, 409);
  const old = world();
  old.io.sendBatch = () => null;
  old.fill([change(7)]);
  assert.deepEqual((await logic.drain([change(7)], old.io)).map((e) => e.seq), [7]);
  assert.deepEqual(old.requests, [["one", 7]]);
  const slow = world();
  const all = slow.fill([1, 2].map((n) => change(n)));
  await logic.drain(all, slow.io, { oneByOne: true });
  assert.deepEqual(slow.requests, [["one", 1], ["one", 2]]);
});

test("a kept photo change shows each marked-up copy in place of the photo it was drawn on", () => {
  const photo = (name) => new Blob([name], { type: "image/jpeg" });
  const [a, b, copyOfA] = [photo("a"), photo("b"), photo("a-marked")];
  const entry = { fields: [["item_id", "7"], ["photo", a], ["photo", b], ["marked_up", copyOfA]] };
  assert.deepEqual(logic.shownPhotos(entry), [copyOfA, b]);
  assert.deepEqual(logic.shownPhotos({ fields: [["item_id", "7"], ["photo", a]] }), [a]);
  assert.deepEqual(logic.shownPhotos({ fields: [["item_id", "7"]] }), []);
});

test("a batch carries when each change was made on the device, and only when it is known", () => {
  const made = Object.assign(entry("/audits/1/items/1/answer", [["result", "conform"]]), { queuedAt: "2026-12-07T10:02:00.000Z" });
  const changes = JSON.parse(logic.batchBody([made, entry("/audits/1/items/2/answer", [["result", "na"]])]).changes);
  assert.equal(changes[0].observedAt, "2026-12-07T10:02:00.000Z");
  assert.equal("observedAt" in changes[1], false);
});

test("progress moves as the server counts it: N/A leaves the applicable items, not audited is not answered", () => {
  assert.deepEqual(logic.progressDelta(null, "conform"), { answered: 1, applicable: 0, na: 0 });
  assert.deepEqual(logic.progressDelta("conform", "minor"), { answered: 0, applicable: 0, na: 0 });
  assert.deepEqual(logic.progressDelta(null, "na"), { answered: 0, applicable: -1, na: 1 });
  assert.deepEqual(logic.progressDelta("na", "conform"), { answered: 1, applicable: 1, na: -1 });
  assert.deepEqual(logic.progressDelta("conform", "not_audited"), { answered: -1, applicable: 0, na: 0 });
});

// Answer types (issue 15): the phone derives an answer's result as the server does
// (auditapp/checklists/answers.py; tests/test_answer_types.py checks the server's side).
test("an answer's result is derived on the phone as on the server", () => {
  const torque = { type: "number", min: 40, max: 45, outside: "minor_nc" };
  assert.equal(logic.answerResult(torque, ["42,5"]), "conform");
  assert.equal(logic.answerResult(torque, ["45"]), "conform");
  assert.equal(logic.answerResult(torque, ["46"]), "minor_nc");
  assert.equal(logic.answerResult(torque, ["46"], "observation"), "observation");  // the auditor changed it
  assert.equal(logic.answerResult({ type: "number", max: 60, outside: "minor_nc" }, ["61"]), "minor_nc");
  assert.equal(logic.answerResult({ type: "number" }, ["3"]), "recorded");  // no limits: no judgement
  assert.equal(logic.answerResult(torque, ["forty"]), null);
  assert.equal(logic.answerResult(torque, [""]), null);
  const guard = { type: "yes_no", no: "major_nc" };
  assert.deepEqual(["yes", "no", "na"].map((v) => logic.answerResult(guard, [v])), ["conform", "major_nc", "na"]);
  assert.equal(logic.answerResult({ type: "text" }, ["Dana"]), "recorded");
  assert.equal(logic.answerResult({ type: "date" }, ["2027-03-15"]), "recorded");
  const floor = { type: "multi_choice", results: { tidy: "conform", loose: "observation", gauges: "major_nc" } };
  assert.equal(logic.answerResult(floor, ["tidy", "loose"]), "observation");
  assert.equal(logic.answerResult(floor, ["gauges", "tidy"]), "major_nc");
  assert.equal(logic.answerResult(floor, ["sparkly"]), null);
  assert.equal(logic.answerResult({ type: "choice", results: { a: "minor_nc", b: "recorded" } }, ["a"]), "minor_nc");
});

// --- the sending order: answers first, photos after, unless the server would see a difference --------

const jpeg = (bytes) => new Blob([new Uint8Array(bytes || 10)], { type: "image/jpeg" });
let seqs = 0;
function made(path, fields) { seqs += 1; return { seq: seqs, path, changeId: "c" + seqs, fields: fields || [], problem: null }; }
const answerOn = (item, result, base, audit) => made(`/audits/${audit || 1}/items/${item}/answer`, [["result", result || "conform"], ["base_revision", String(base || 0)]]);
const noteOn = (item, text, base) => made(`/audits/1/items/${item}/note`, [["note", text || "n"], ["base_revision", String(base || 0)]]);
const findingOn = (item, opts) => made(`/audits/1/items/${item}/finding`, [["statement", (opts && opts.text) || "s"], ["evidence", (opts && opts.evidence) || ""]]
  .concat(((opts && opts.photos) || 0) ? Array.from({ length: opts.photos }, () => ["photo", jpeg(opts.bytes)]) : []));
const photoOn = (item, n, marked, audit) => made(`/audits/${audit || 1}/photos`, [["item_id", String(item)]]
  .concat(Array.from({ length: n || 1 }, () => ["photo", jpeg(1000)])).concat(Array.from({ length: marked || 0 }, () => ["marked_up", jpeg(1000)])));
const adhoc = (text) => made("/audits/1/findings", [["clause", "7.1.5"], ["statement", text || "a"]]);
const seqsOf = (list) => list.map((e) => e.seq);

test("answers, notes and findings queued between photos go first; the photos follow in their order", () => {
  const q = [answerOn(1), photoOn(1), answerOn(2), noteOn(2), photoOn(2, 1, 1), answerOn(3), adhoc(), findingOn(3)];
  const order = logic.sendingOrder(q, routes);
  assert.deepEqual(seqsOf(order.first), seqsOf([q[0], q[2], q[3], q[5], q[6], q[7]]));
  assert.deepEqual(seqsOf(order.then), seqsOf([q[1], q[4]]));  // a photo with its marked-up copy stays one change
});

test("on the photo's own item a finding waits for it, an answer and a note do not", () => {
  const [photo, answer, finding, note] = [photoOn(5), answerOn(5, "minor_nc"), findingOn(5), noteOn(5)];
  assert.equal(logic.dependsOn(finding, photo, routes), true);  // the photo is the finding's evidence
  assert.equal(logic.dependsOn(answer, photo, routes), false);
  assert.equal(logic.dependsOn(note, photo, routes), false);
  const order = logic.sendingOrder([photo, answer, finding, note], routes);
  assert.deepEqual(seqsOf(order.first), seqsOf([answer, note]));
  assert.deepEqual(seqsOf(order.then), seqsOf([photo, finding]));
});

test("an answer waits for a finding held back before it on its item, and what waits for that waits too", () => {
  const q = [findingOn(4, { photos: 1 }), answerOn(4, "conform", 1), findingOn(4), noteOn(4), answerOn(6)];
  const order = logic.sendingOrder(q, routes);
  assert.deepEqual(seqsOf(order.then), seqsOf([q[0], q[1], q[2]]));  // regraded after the finding: not before it
  assert.deepEqual(seqsOf(order.first), seqsOf([q[3], q[4]]));
});

test("other audits, other items and ad-hoc findings are independent; unknown changes and ad-hoc findings keep their order", () => {
  assert.equal(logic.dependsOn(answerOn(5, "conform", 0, 2), photoOn(5, 1, 0, 1), routes), false);  // same item id, other audit
  assert.equal(logic.dependsOn(findingOn(6), photoOn(5), routes), false);
  assert.equal(logic.dependsOn(adhoc(), photoOn(5), routes), false);
  assert.equal(logic.dependsOn(adhoc(), adhoc(), routes), true);
  assert.equal(logic.dependsOn(noteOn(5), noteOn(5), routes), true);
  const unknown = made("/audits/1/something-new", [["x", "1"]]);
  assert.equal(logic.dependsOn(unknown, photoOn(5), routes), true);
  assert.equal(logic.dependsOn(answerOn(9), unknown, routes), true);
  const q = [photoOn(1), unknown, answerOn(2)];
  assert.deepEqual(seqsOf(logic.sendingOrder(q, routes).then), seqsOf(q));
  // A page without routes (an older page): nothing overtakes a photo.
  const old = [answerOn(1), photoOn(1), answerOn(2)];
  assert.deepEqual(seqsOf(logic.sendingOrder(old, []).first), seqsOf([old[0]]));
  assert.deepEqual(seqsOf(logic.sendingOrder(old).then), seqsOf(old.slice(1)));
});

// A model of the server's rules that the order can change (audits/recording.py, services.py):
// revision counters per answer and note, a finding needs a finding grade and evidence (typed, or a
// photo of the item), a photo goes to the item's finding if there is one, an answer withdraws or
// regrades the finding. Answers per change id, and what the server holds in the end.
function modelServer() {
  const items = new Map(), adhocs = [], answers = {};
  const at = (id) => {
    if (!items.has(id)) items.set(id, { result: null, revision: 0, note: "", noteRevision: 0, finding: null, photos: [] });
    return items.get(id);
  };
  const NC = ["minor_nc", "major_nc", "observation"];
  function apply(e) {
    const route = logic.classify(e.path, routes), kind = logic.kindOf(e, routes), f = (n) => logic.field(e, n);
    const files = e.fields.filter((x) => x[1] instanceof Blob).length;
    if (kind === "finding" && !route.args.item_id) { adhocs.push(f("statement")); return 200; }
    const it = at(route.args.audit_id + ":" + logic.itemIdOf(e, routes));
    if (kind === "answer") {
      if (it.revision !== Number(f("base_revision"))) return 409;
      it.result = f("result"); it.revision += 1;
      if (it.finding) it.finding.status = NC.includes(it.result) ? "open" : "withdrawn";
      if (it.finding && NC.includes(it.result)) it.finding.grade = it.result;
      return 200;
    }
    if (kind === "note") {
      if (it.noteRevision !== Number(f("base_revision"))) return 409;
      it.note = f("note"); it.noteRevision += 1;
      return 200;
    }
    if (kind === "finding") {
      if (!NC.includes(it.result)) return 409;
      if (!f("evidence") && !files && !it.photos.length) return 422;
      it.finding = { grade: it.result, status: "open", text: f("statement") };
      it.photos.forEach((p) => { p.finding = true; });
      for (let i = 0; i < files; i++) it.photos.push({ finding: true });
      return 200;
    }
    for (let i = 0; i < files; i++) it.photos.push({ finding: Boolean(it.finding) });
    return 200;
  }
  return {
    send(list) { list.forEach((e) => { answers[e.changeId] = apply(e); }); },
    state() { return JSON.stringify({ items: [...items.entries()].sort(), adhocs, answers: Object.keys(answers).sort().map((k) => [k, answers[k]]) }); },
  };
}

// Queues as an auditor makes them offline on two items (each form builds on its own kept change).
function randomQueue(random, length) {
  const revisions = {}, q = [];
  const next = (key) => { revisions[key] = (revisions[key] || 0) + 1; return revisions[key] - 1; };
  for (let i = 0; i < length; i++) {
    const item = 1 + Math.floor(random() * 2), pick = Math.floor(random() * 6);
    if (pick === 0) q.push(answerOn(item, ["conform", "minor_nc", "observation"][Math.floor(random() * 3)], next("a" + item)));
    else if (pick === 1) q.push(noteOn(item, "note " + i, next("n" + item)));
    else if (pick === 2) q.push(findingOn(item, { text: "f" + i, evidence: random() < 0.5 ? "seen" : "", photos: random() < 0.3 ? 1 : 0 }));
    else if (pick === 3) q.push(photoOn(item, 1, random() < 0.3 ? 1 : 0));
    else if (pick === 4) q.push(adhoc("adhoc " + i));
    else q.push(answerOn(item, "minor_nc", next("a" + item)));
  }
  return q;
}

function seeded(seed) { return () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; }; }

test("the server ends the same, and answers each change the same, in the sending order as in the queue's", () => {
  const random = seeded(13);
  for (let run = 0; run < 400; run++) {
    const q = randomQueue(random, 10), order = logic.sendingOrder(q, routes);
    const queued = modelServer(), reordered = modelServer();
    queued.send(q);
    reordered.send(order.first.concat(order.then));
    assert.equal(reordered.state(), queued.state(), JSON.stringify(q.map((e) => [e.path, e.fields.map((f) => f[1] instanceof Blob ? "photo" : f[1])])));
  }
});

test("the model can tell: sending every change without a photo first would change what the server holds", () => {
  const random = seeded(13);
  let differs = 0;
  for (let run = 0; run < 400; run++) {
    const q = randomQueue(random, 10), queued = modelServer(), naive = modelServer();
    queued.send(q);
    naive.send(q.filter((e) => !logic.carriesPhoto(e)).concat(q.filter(logic.carriesPhoto)));
    if (naive.state() !== queued.state()) differs += 1;
  }
  assert.ok(differs > 0);
});

test("a drain acknowledges every change without a photo before it sends a photo, each applied once", async () => {
  const w = world();
  const q = w.fill([answerOn(1), photoOn(1), answerOn(2), photoOn(2), answerOn(3), findingOn(3), photoOn(3), noteOn(4)]);
  const heard = [];
  w.io.progress = (state) => { heard.push([state.stage, state.stageDone, seqsOf(state.sent)]); return Promise.resolve(); };
  const synced = await logic.drain(q, w.io, { routes, limits: { maxPhotos: 2 } });
  const photos = seqsOf([q[1], q[3], q[6]]), others = seqsOf([q[0], q[2], q[4], q[5], q[7]]);
  assert.deepEqual(w.requests, [["batch", others], ["batch", photos.slice(0, 2)], ["batch", photos.slice(2)]]);
  assert.deepEqual(seqsOf(synced), others.concat(photos));
  assert.deepEqual(heard, [["first", true, others], ["then", false, others.concat(photos.slice(0, 2))], ["then", true, others.concat(photos)]]);
  assert.equal(w.outbox.size, 0);
  assert.deepEqual([...w.applied.values()], [1, 1, 1, 1, 1, 1, 1, 1]);
});

test("a first stage told to wait stops the drain: no photo is sent, and one by one keeps the stages too", async () => {
  const busy = world({ busy: ["c" + (seqs + 3)] });
  const q = busy.fill([answerOn(1), photoOn(1), answerOn(2)]);
  assert.deepEqual(seqsOf(await logic.drain(q, busy.io, { routes })), [q[0].seq]);
  assert.deepEqual(busy.requests, [["batch", seqsOf([q[0], q[2]])]]);
  assert.deepEqual([...busy.outbox.keys()], seqsOf([q[1], q[2]]));
  const w = world();
  const r = w.fill([photoOn(1), answerOn(2), noteOn(1)]);
  await logic.drain(r, w.io, { routes, oneByOne: true });
  assert.deepEqual(w.requests, [["one", r[1].seq], ["one", r[2].seq], ["one", r[0].seq]]);
});

test("the badge says the two stages: answers first, then the photos uploading with what is left", () => {
  const q = [answerOn(1), photoOn(1, 2), answerOn(2), findingOn(1, { text: "after the photo" })];
  const mb = ((2 * 1000) / 1048576).toFixed(1);
  assert.equal(logic.stageText(q, routes, false), ` · 2 photos (${mb} MB) among them`);
  assert.equal(logic.stageText(q, routes, true), ` · Sending answers first, then 2 photos (${mb} MB)`);
  assert.equal(logic.stageText([q[1], q[3]], routes, true), ` · Answers sent · 2 photos uploading (${mb} MB left), 1 change after them`);
  assert.equal(logic.stageText([photoOn(3)], routes, true), " · Answers sent · 1 photo uploading (0.0 MB left)");
  const big = [made("/audits/1/photos", [["item_id", "3"], ["photo", jpeg(3 * 1048576)]])];
  assert.equal(logic.stageText(big, routes, true, 1048576), " · Answers sent · 1 photo uploading (2.0 MB left)");
  assert.equal(logic.stageText(big, routes, true, 5 * 1048576), " · Answers sent · 1 photo uploading (0.0 MB left)");
  assert.equal(logic.stageText([answerOn(1)], routes, true), "");  // no photos: the count says it all
  assert.equal(logic.stageText([Object.assign(photoOn(3), { problem: { status: 422, html: "" } })], routes, true), "");
  assert.deepEqual(logic.photoLoad([photoOn(1, 2, 1), answerOn(1)]), { files: 3, bytes: 3000 });
});

// --- show-if (issue 15): the same cases as tests/test_conditions.py::test_which_items_are_not_asked ---
// The show-if walk (tests/support/conditions.py): gate (yes/no) -> why (on no, na); kind (choice) -> the
// spill kit section (on chemical, both): kit-where (ISO grades) -> kit-sealed (on conform).
const KIT = { item: "kind", answer: ["chemical", "both"] };
const WALK = [
  { key: "gate", type: "yes_no", showIf: null, sectionShowIf: null },
  { key: "why", type: "text", showIf: { item: "gate", answer: ["no", "na"] }, sectionShowIf: null },
  { key: "kind", type: "choice", showIf: null, sectionShowIf: null },
  { key: "kit-where", type: "grades", showIf: null, sectionShowIf: KIT },
  { key: "kit-sealed", type: "grades", showIf: { item: "kit-where", answer: ["conform"] }, sectionShowIf: KIT },
];
function hidden(given) { return Object.keys(logic.hiddenKeys(WALK, given)).sort(); }

test("show-if hides what the answers do not call for, as the server does", () => {
  const cases = [
    [{}, ["kit-sealed", "kit-where", "why"]],
    [{ gate: { result: "conform", value: "yes" } }, ["kit-sealed", "kit-where", "why"]],
    [{ gate: { result: "major_nc", value: "no" } }, ["kit-sealed", "kit-where"]],
    [{ gate: { result: "na", value: "na" } }, ["kit-sealed", "kit-where"]],
    [{ kind: { result: "recorded", value: "dry" } }, ["kit-sealed", "kit-where", "why"]],
    [{ kind: { result: "recorded", value: "both" } }, ["kit-sealed", "why"]],
    [{ kind: { result: "recorded", value: "chemical" }, "kit-where": { result: "conform", value: null } }, ["why"]],
    [{ kind: { result: "recorded", value: "chemical" }, "kit-where": { result: "minor_nc", value: null } }, ["kit-sealed", "why"]],
    [{ kind: { result: "recorded", value: "dry" }, "kit-where": { result: "conform", value: null } }, ["kit-sealed", "kit-where", "why"]],
    [{ gate: { result: "not_audited", value: null } }, ["kit-sealed", "kit-where", "why"]],
  ];
  for (const [given, expected] of cases) assert.deepEqual(hidden(given), expected, JSON.stringify(given));
});

test("show-if on a multiple choice shows on any chosen option; on a number by its result", () => {
  const items = [
    { key: "m", type: "multi_choice" }, { key: "n", type: "number" },
    { key: "a", type: "grades", showIf: { item: "m", answer: ["b"] } },
    { key: "b", type: "grades", showIf: { item: "n", answer: ["minor_nc"] } },
  ];
  assert.deepEqual(Object.keys(logic.hiddenKeys(items, { m: { result: "recorded", value: ["a", "b"] }, n: { result: "conform", value: 42 } })), ["b"]);
  assert.deepEqual(Object.keys(logic.hiddenKeys(items, { m: { result: "recorded", value: ["a"] }, n: { result: "minor_nc", value: 50 } })), ["a"]);
});

test("progress counts only the items asked, as the server counts it", () => {
  const items = [
    { section: "1", result: "conform" }, { section: "1", result: null }, { section: "1", result: "na" },
    { section: "2", result: "minor_nc", hidden: true }, { section: "2", result: null, hidden: true },
    { section: "2", result: "not_audited" },
  ];
  assert.deepEqual(logic.progressOf(items), { answered: 1, applicable: 3, na: 1, sections: { 1: [1, 2], 2: [0, 1] } });
});

// --- scoring (issue 15): the phone scores as auditapp/checklists/scoring.py (tests/test_scoring.py, same figures) ---
// As auditapp/checklists/scoring.py phone_model renders the walk of tests/support/scoring.py.
const SCORE_MODEL = {
  points: { conform: 2, observation: 1, ofi: 2, minor_nc: 1, major_nc: 0 },
  items: {
    1: ["sort", 1, 2],
    2: ["sort", 3, 4, { conform: 4, observation: 1, ofi: 2, minor_nc: 2, major_nc: 0 }],
    3: ["sort", 1, 3, 0, { clean: 3, dusty: 1, none: null }],
    4: ["shine", 1, 2],
  },
  sections: { sort: 2, shine: 1 },
};

test("the score weighs items in their section and sections in the total, as the server does", () => {
  const answers = { 1: ["conform", null], 2: ["minor_nc", null], 3: ["observation", "dusty"], 4: ["conform", "yes"] };
  const scored = logic.score(SCORE_MODEL, answers);
  assert.deepEqual(scored.sections.sort, { earned: 9, maximum: 17, percent: 53 });
  assert.deepEqual(scored.sections.shine, { earned: 2, maximum: 2, percent: 100 });
  assert.equal(scored.total.percent, 69);  // (2 x 9/17 + 1) / 3 = 68.6
  assert.equal(logic.scoreText(scored.total.percent), "69 %");
});

test("N/A, recorded, not audited and unanswered items are out of the maximum; nothing scored shows a dash", () => {
  const scored = logic.score(SCORE_MODEL, { 1: ["na", null], 2: ["recorded", "x"], 3: ["na", "none"], 4: ["not_audited", null] });
  assert.equal(scored.sections.sort.percent, null);
  assert.equal(scored.total.percent, null);
  assert.equal(logic.scoreText(scored.total.percent), "\u2013");
  const one = logic.score(SCORE_MODEL, { 4: ["minor_nc", "no"] });
  assert.deepEqual([one.sections.shine.percent, one.total.percent], [50, 50]);
});

test("a percentage exactly on a half rounds up, as the server's fractions do", () => {
  const model = { points: { conform: 8, minor_nc: 1 }, items: { 1: ["s", 1, 8], 2: ["s", 1, 8, { conform: 8, minor_nc: 0 }] }, sections: {} };
  assert.equal(logic.score(model, { 1: ["minor_nc", null], 2: ["conform", null] }).total.percent, 56);  // 9/16 = 56.25
  const half = { points: { conform: 8, minor_nc: 1 }, items: { 1: ["s", 1, 8] }, sections: {} };
  assert.equal(logic.score(half, { 1: ["minor_nc", null] }).total.percent, 13);  // 12.5 -> 13
});

test("a change to a copy of a repeating section belongs to that copy's item, as the page names it", () => {
  assert.equal(logic.itemIdOf(entry("/audits/3/items/7/copies/2/answer", [["value", "no"]]), routes), "7-c2");
  assert.equal(logic.itemIdOf(entry("/audits/3/photos", [["item_id", "8"], ["copy", "3"]]), routes), "8-c3");
  assert.equal(logic.itemIdOf(entry("/audits/3/photos", [["item_id", "8"], ["copy", "1"]]), routes), "8");
  assert.equal(logic.kindOf(entry("/audits/3/items/7/copies/2/answer"), routes), "answer");
});
