/* offline/store.js: owns the outbox on the device: an IndexedDB store of the changes that could
   not reach the server, in the order they were made (key: an increasing seq), photos as blobs.
   An entry is {path, changeId, queuedAt, fields: [[name, value]], problem: null | {status, html}}.
   The database and store names are a contract with pages already on phones: never rename them. */
(function (ns) {
  "use strict";
  var DB_NAME = "auditapp", STORE = "outbox";

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

  // One transaction; resolves with work's result once the transaction has committed.
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
  // The acknowledged entries of a batch leave together, in one transaction.
  function removeAll(seqs) { return tx("readwrite", function (store) { seqs.forEach(function (s) { store.delete(s); }); }); }

  ns.store = { all: all, put: put, remove: remove, removeAll: removeAll };
})(window.auditappOffline = window.auditappOffline || {});
