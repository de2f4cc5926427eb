// Federizer webmail service worker (generated at build time from
// tools/sw-template.js). It caches the app shell only: the files of this
// build. API calls (/api/), the OAuth callback and every other origin go
// straight to the network and are never stored: mail for offline reading is
// kept by the app itself in IndexedDB, and tokens only in the page's memory.
const VERSION = '__VERSION__';
const BASE = __BASE__;
const PRECACHE = __PRECACHE__;
const CACHE = `fz-shell-${VERSION}`;

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(PRECACHE.map((f) => BASE + f)))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('fz-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

function isShell(url) {
  if (url.origin !== self.location.origin) return false;
  const path = url.pathname.slice(BASE.length - 1);
  return !path.startsWith('/api/') && !path.startsWith('/mta/') && !path.startsWith('/.well-known/');
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (!isShell(url) || req.headers.has('Authorization')) return;
  if (req.mode === 'navigate') {
    // Network first, so a new build is picked up; the cached shell offline.
    // The OAuth callback (which carries a code) is never cached: the shell
    // answers it only when the network is gone.
    event.respondWith(
      fetch(req).catch(() =>
        caches.match(BASE + 'index.html', { ignoreVary: true }).then((r) => r || Response.error()),
      ),
    );
    return;
  }
  // ignoreVary: module scripts are requested with an Origin header, the
  // precache was filled without one, and servers often answer Vary: Origin.
  event.respondWith(caches.match(req, { ignoreVary: true }).then((hit) => hit || fetch(req)));
});
