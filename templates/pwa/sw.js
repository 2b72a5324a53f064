/* sw.js: owns offline page loads. Version {{ version }} (a hash of the app shell files).
   - install: precache the app shell into a versioned cache;
   - activate: delete older shells, take control of open pages at once; after an upgrade, fetch
     the kept pages again so they match the new scripts;
   - GET pages and fragments: network first; the last good copy of each audit page is kept, and
     served when the network fails; an uncached page falls back to the offline page;
   - static files and their bundles (/assets/): cache first.
   Changes made offline are not the worker's business: static/js/offline/ keeps them in an
   IndexedDB outbox and sends them, so a new worker version never strands queued work. */
"use strict";
const SHELL_CACHE = "shell-{{ version }}";
const PAGES_CACHE = "pages-v1";  // survives releases: it holds the auditor's offline audits
const SHELL = {{ shell|tojson }};
const OFFLINE_URL = {{ offline_url|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    let upgraded = false;
    for (const name of await caches.keys()) {
      if (name.startsWith("shell-") && name !== SHELL_CACHE) {
        await caches.delete(name);
        upgraded = true;
      }
    }
    await enableNavigationPreload();
    await self.clients.claim();
    // Not awaited: fetch events wait until activation ends, and this takes a request per page.
    if (upgraded) refreshKeptPages();
  })());
});

// A page kept by an older version names that version's scripts and carries the markup they
// expected; opened offline after a release it would run without a working outbox. So once a new
// version is active (a moment when the network is there), each kept page is fetched again; one
// the network does not give now keeps its old copy. Photos never change and are left alone.
async function refreshKeptPages() {
  const cache = await caches.open(PAGES_CACHE);
  for (const request of await cache.keys()) {
    const kept = await cache.match(request);
    if (!kept || !(kept.headers.get("Content-Type") || "").startsWith("text/html")) continue;
    try {
      const response = await fetch(request.url, { headers: request.headers, credentials: "same-origin" });
      if (response.ok && !response.redirected) await cache.put(request, response);
    } catch (err) {
      return;  // offline again: the old copies are better than none
    }
  }
}

// Navigation preload: the browser asks the network for a page while it starts this worker, instead
// of after (a worker that was stopped takes a moment to start on a phone), and the worker answers
// with that response. The preload carries "Service-Worker-Navigation-Preload: true" and is answered
// like the page itself. Browsers without it fetch as before.
async function enableNavigationPreload() {
  if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
}

// The page's response: the preload's when there is one (a navigation), else a fetch. A preload that
// failed (no network) fails like the fetch would.
async function fromNetwork(event) {
  const preloaded = await event.preloadResponse;
  return preloaded || fetch(event.request);
}

// Pages worth keeping for offline use: My audits, audit screens and their item fragments, photos.
// The patterns come from the app's URL map (auditapp/pwa/routes.py), never copied by hand.
const KEPT = {{ kept|tojson }}.map((source) => new RegExp(source));
function keepable(url) {
  return KEPT.some((pattern) => pattern.test(url.pathname));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/assets/")) {  // files, and bundles of them
    event.respondWith(staticFile(request));
    return;
  }
  event.respondWith(networkFirst(event, url));
});

// Background Sync (Chromium only, never relied on): when the connection returns, wake the open
// pages so their outbox is sent even before the 'online' event or the next periodic try.
self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  event.waitUntil(self.clients.matchAll({ type: "window" }).then((clients) => {
    clients.forEach((client) => client.postMessage({ type: "flush-outbox" }));
  }));
});

// Static files: cache first. Pages name them with their content version (?v=...), the same URLs
// the shell was precached under. offline.html is a plain file and names them without it, so with
// no network the cached copy of the same path is good enough, whatever its version.
async function staticFile(request) {
  const hit = await caches.match(request);
  if (hit) return hit;
  try {
    return await fetch(request);
  } catch (err) {
    const anyVersion = await caches.match(request, { ignoreSearch: true });
    if (anyVersion) return anyVersion;
    throw err;
  }
}

async function networkFirst(event, url) {
  const request = event.request;
  try {
    const response = await fromNetwork(event);
    // Keep good answers only: a redirect to the login page must never replace an audit.
    if (response.ok && !response.redirected && keepable(url)) {
      // The copy is taken now, before the page starts reading the body.
      const kept = keep(request, response.clone());
      // A page being opened streams to the screen at once while its copy is kept in the background:
      // waiting for the whole body to reach the cache held the first paint (2.3x later on a phone).
      // A script's own fetch (Available offline, today's audits) settles only once the copy is
      // kept, so "Available offline" is never shown before it is true.
      if (request.mode === "navigate") event.waitUntil(kept);
      else await kept;
    }
    return response;
  } catch (err) {
    // Vary: HX-Request is honoured by match(), so a fragment never stands in for a page.
    const hit = await caches.match(request);
    if (hit) return hit;
    if (request.mode === "navigate") return caches.match(OFFLINE_URL);
    throw err;
  }
}

// A copy that cannot be written (storage full, the connection dropped mid-body) leaves the older
// copy in place; the page itself was answered already.
async function keep(request, copy) {
  try {
    const cache = await caches.open(PAGES_CACHE);
    await cache.put(request, copy);
  } catch (err) {
    console.warn("auditapp: could not keep a copy for offline use", request.url, err);
  }
}
