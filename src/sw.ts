/// <reference lib="webworker" />
// Offline support: every same-origin GET goes to the network first and its response is kept in the
// Cache API; when the network is unreachable the cached copy answers, and the pages are told so
// (the status line then says it is serving from cache). The page also sends the URLs it loaded
// before this worker took control, so a first visit is enough to work offline afterwards.
export {};
declare const self: ServiceWorkerGlobalScope;

const CACHE = 'twinmerge-v1';

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

async function tellClients(url: string): Promise<void> {
  for (const c of await self.clients.matchAll({ includeUncontrolled: true })) c.postMessage({ type: 'served-from-cache', url });
}

async function networkFirst(req: Request, keep: (p: Promise<unknown>) => void): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(req);
  } catch (e) {
    const cache = await caches.open(CACHE);
    const hit = (await cache.match(req, { ignoreVary: true })) ?? (req.mode === 'navigate' ? await cache.match('/', { ignoreSearch: true }) : undefined);
    if (!hit) throw e;
    void tellClients(req.url);
    return hit;
  }
  // Kept in the background: the page gets the body as it streams, and a copy the cache cannot take
  // (a bundle larger than the storage quota) costs the offline copy, never the answer.
  if (res.ok && res.type === 'basic') {
    const copy = res.clone();
    keep(caches.open(CACHE).then((cache) => cache.put(req, copy)).catch(() => undefined));
  }
  return res;
}

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin) return;
  // Vite's live-reload channel and range requests are not cacheable.
  if (url.pathname.startsWith('/@vite/client') && url.searchParams.has('token')) return;
  if (e.request.headers.has('range')) return;
  e.respondWith(networkFirst(e.request, (p) => e.waitUntil(p)));
});

self.addEventListener('message', (e) => {
  const data = e.data as { type?: string; urls?: unknown };
  if (data?.type !== 'cache-urls' || !Array.isArray(data.urls)) return;
  const urls = data.urls.filter((u): u is string => typeof u === 'string' && new URL(u, self.location.origin).origin === self.location.origin);
  e.waitUntil(
    caches.open(CACHE).then(async (cache) => {
      for (const u of urls) {
        if (await cache.match(u)) continue;
        try {
          const res = await fetch(u);
          if (res.ok) await cache.put(u, res);
        } catch {
          // offline already: nothing to add
        }
      }
    }),
  );
});
