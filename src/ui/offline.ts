// Registers the service worker (src/sw.ts) and hands it the URLs this page loaded before it took
// control, so the first visit is enough for offline use. Resolves once the page is controlled (or
// after a short wait, so the app never hangs on a browser without service workers).
const SW_URL = import.meta.env.DEV ? '/src/sw.ts' : '/sw.js';

export async function startOfflineSupport(timeoutMs = 4000): Promise<void> {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  const controlled = async () => {
    await navigator.serviceWorker.register(SW_URL, { type: 'module', scope: '/' });
    if (!navigator.serviceWorker.controller) {
      await new Promise<void>((r) => navigator.serviceWorker.addEventListener('controllerchange', () => r(), { once: true }));
    }
    const urls = [window.location.href, ...performance.getEntriesByType('resource').map((e) => e.name)];
    navigator.serviceWorker.controller?.postMessage({ type: 'cache-urls', urls });
  };
  await Promise.race([controlled().catch(() => undefined), new Promise((r) => setTimeout(r, timeoutMs))]);
}

/** Calls `onHit` when the service worker answers a request from its cache. */
export function onServedFromCache(onHit: () => void): () => void {
  if (!('serviceWorker' in navigator)) return () => {};
  const h = (e: MessageEvent) => {
    if ((e.data as { type?: string })?.type === 'served-from-cache') onHit();
  };
  navigator.serviceWorker.addEventListener('message', h);
  return () => navigator.serviceWorker.removeEventListener('message', h);
}
