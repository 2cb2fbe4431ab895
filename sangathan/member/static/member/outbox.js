/* The outbox: reads, shares and task ticks made offline wait here (IndexedDB) until they can
   be sent. A classic script shared by the page (window.SangathanOutbox) and the service
   worker (importScripts), so both replay the same queue: the page when the connection comes
   back and on every start, the service worker on Background Sync. Every queued call is
   idempotent on the server, so sending one twice (page and worker racing) changes nothing. */
(function (g) {
  "use strict";
  var DB = "sangathan-member", STORE = "outbox", TAG = "sangathan-outbox";

  function open() {
    return new Promise(function (resolve, reject) {
      var r = g.indexedDB.open(DB, 1);
      r.onupgradeneeded = function () {
        r.result.createObjectStore(STORE, { keyPath: "id", autoIncrement: true });
      };
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  function withStore(mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(STORE, mode), result;
        work(t.objectStore(STORE), function (value) { result = value; });
        t.oncomplete = function () { db.close(); resolve(result); };
        t.onerror = t.onabort = function () { db.close(); reject(t.error); };
      });
    });
  }

  /* entry: {key, path, body, token}. A later entry with the same key (a task ticked, then
     unticked) replaces the earlier one: only the last wish is sent. */
  function add(entry) {
    entry.at = new Date().toISOString();
    return withStore("readwrite", function (store) {
      store.openCursor().onsuccess = function (e) {
        var cursor = e.target.result;
        if (cursor) {
          if (cursor.value.key === entry.key) cursor.delete();
          cursor.continue();
        } else {
          store.add(entry);
        }
      };
    });
  }

  function list() {
    return withStore("readonly", function (store, done) {
      store.getAll().onsuccess = function (e) { done(e.target.result || []); };
    });
  }

  function remove(id) {
    return withStore("readwrite", function (store) { store.delete(id); });
  }

  function clear() {
    return withStore("readwrite", function (store) { store.clear(); });
  }

  /* Send what waits, oldest first. Stops at the first network failure (still offline) or
     server trouble (5xx, 429), keeping the rest; drops an entry the server refuses for good
     (401: logged out since; 404: gone), as a retry could never succeed. */
  function replayOnce() {
    return list().then(function (entries) {
      var sent = 0;
      function next(i) {
        if (i >= entries.length) return { sent: sent, left: 0 };
        var e = entries[i];
        var headers = { "Content-Type": "application/json", "Accept": "application/json" };
        if (e.token) headers.Authorization = "Bearer " + e.token;
        return g.fetch("/api/v1" + e.path, {
          method: "POST", headers: headers, body: JSON.stringify(e.body || {}), credentials: "same-origin"
        }).then(function (res) {
          if (res.status >= 500 || res.status === 429 || res.status === 408) {
            return { sent: sent, left: entries.length - i };
          }
          return remove(e.id).then(function () {
            if (res.ok) sent += 1;
            return next(i + 1);
          });
        }, function () {
          return { sent: sent, left: entries.length - i, offline: true };
        });
      }
      return next(0);
    });
  }

  function replay() {
    if (g.navigator && g.navigator.locks && g.navigator.locks.request) {
      return g.navigator.locks.request(TAG, replayOnce);
    }
    return replayOnce();
  }

  g.SangathanOutbox = { add: add, list: list, remove: remove, clear: clear, replay: replay, TAG: TAG };
})(self);
