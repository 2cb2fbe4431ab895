{% autoescape off %}/* The member app's service worker (scope /app/).

   - install: store the whole shell (page, scripts, styles, icons, the Devanagari font) in a
     cache named after a digest of those files; activate drops every older shell cache.
   - the page: network first (a fresh shell when online), the stored copy when the network
     fails or is too slow; scripts, styles, icons and font: from the cache.
   - the member's data (feed, tasks, invite, profile): network first, each answer stored, the
     last stored answer when offline, so the app opens and reads without a connection.
   - Background Sync: sends the outbox (reads, shares, task ticks made offline).
   - Web Push: shows the notification the server sent ({title, body, url, code}); a tap opens
     the message in the app. */
"use strict";
const VERSION = {{ version }};
const SHELL_CACHE = "sangathan-shell-" + VERSION;
const DATA_CACHE = "sangathan-data";
const SHELL_URL = {{ shell_url }};
const PRECACHE = {{ precache }};
const ICON = {{ icon }};
const BADGE = {{ badge }};
const DEFAULT_TITLE = {{ default_title }};
// The member's own data, kept for offline reading. Not the data export (a download) nor
// attachments' bytes beyond what the member opened.
const CACHED_API = ["/api/v1/feed", "/api/v1/me/tasks", "/api/v1/me/meetings", "/api/v1/me/invite", "/api/v1/me/profile"];
const SLOW_NETWORK_MS = 4000;

importScripts({{ outbox_url }});

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(
        keys.filter((k) => k.startsWith("sangathan-shell-") && k !== SHELL_CACHE).map((k) => caches.delete(k))
      ))
      .then(() => self.clients.claim())
  );
});

/* A stored answer, marked as such (the page then says it is showing a saved copy: the
   browser's own online flag is not to be trusted on a poor connection). */
function saved(hit) {
  const headers = new Headers(hit.headers);
  headers.set("X-Sangathan-Saved", "1");
  return hit.blob().then((body) => new Response(body, { status: hit.status, statusText: hit.statusText, headers }));
}

/* Network first; the stored copy if the network fails, or answers slower than
   SLOW_NETWORK_MS while a stored copy exists (the network answer still refreshes the cache). */
function networkFirst(request, cacheName, key) {
  return caches.open(cacheName).then((cache) => {
    const network = fetch(request).then((response) => {
      if (response.ok && response.type === "basic") cache.put(key || request, response.clone());
      return response;
    });
    const stored = cache.match(key || request, { ignoreVary: true, ignoreSearch: false });
    return new Promise((resolve, reject) => {
      let settled = false;
      const fallback = () => stored.then((hit) => {
        if (hit && !settled) { settled = true; resolve(saved(hit)); }
        return hit;
      });
      const timer = setTimeout(fallback, SLOW_NETWORK_MS);
      network.then((response) => {
        clearTimeout(timer);
        if (!settled) { settled = true; resolve(response); }
      }, (error) => {
        clearTimeout(timer);
        fallback().then((hit) => { if (!hit && !settled) { settled = true; reject(error); } });
      });
    });
  });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (url.pathname === SHELL_URL && !url.search) {
      event.respondWith(networkFirst(request, SHELL_CACHE, SHELL_URL));
    }
    return;
  }
  if (CACHED_API.some((prefix) => url.pathname.startsWith(prefix))) {
    event.respondWith(networkFirst(request, DATA_CACHE));
    return;
  }
  if (PRECACHE.includes(url.pathname)) {
    event.respondWith(
      caches.match(request, { ignoreSearch: true }).then((hit) => hit || fetch(request))
    );
  }
});

function tellClients(message) {
  return self.clients.matchAll({ type: "window" }).then((all) => all.forEach((c) => c.postMessage(message)));
}

self.addEventListener("sync", (event) => {
  if (event.tag !== SangathanOutbox.TAG) return;
  event.waitUntil(
    SangathanOutbox.replay().then((result) => {
      if (result.sent) tellClients({ type: "outbox-sent", sent: result.sent });
      // Rejecting asks the browser to try the sync again later.
      if (result.left) throw new Error("outbox not empty");
    })
  );
});

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || DEFAULT_TITLE, {
      body: data.body || "",
      icon: ICON,
      badge: BADGE,
      tag: data.code || undefined,
      data: { code: data.code || "", url: data.url || "" },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const code = (event.notification.data && event.notification.data.code) || "";
  const target = SHELL_URL + (code ? "#/feed/" + encodeURIComponent(code) : "#/feed");
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((all) => {
      const open = all.find((c) => new URL(c.url).pathname.startsWith(SHELL_URL));
      if (open) {
        open.postMessage({ type: "open", code });
        return open.focus();
      }
      return self.clients.openWindow(target);
    })
  );
});
{% endautoescape %}
