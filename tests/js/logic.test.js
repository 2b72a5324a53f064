// The offline outbox's rules without a browser (static/js/offline/logic.js): node --test tests/js/
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const logic = require("../../static/js/offline/logic.js");

// Routes in the shape auditapp/pwa/routes.py renders into the page (a JSON attribute); the endpoint
// names here are samples: tests/test_pwa_routes.py checks the real patterns against the URL map.
const ROUTES_JSON = JSON.stringify([
  { endpoint: "sample.answer", kind: "answer", pattern: "^/audits/(\\d+)/items/(\\d+)/answer$", args: ["audit_id", "item_id"] },
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
