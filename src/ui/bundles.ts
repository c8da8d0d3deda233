// Which bundle the page runs: the demo's by default, another by `?bundle=<url>` or the bundle picker.
// A bundle on another origin loads only after the user confirms (its origin and size shown); the
// ones opened before are remembered for the picker.
import { storage, type RecentBundle, type StoredExpert } from './storage.ts';

/** The demo bundle built by `twinmerge pack` from the zoo, served with the app. */
export const DEFAULT_BUNDLE_URL = '/models/bundle';

const RECENT_MAX = 6;

/** The bundle's URL resolved against the page (relative URLs are the site's own). */
export function absoluteBundleUrl(url: string): URL {
  return new URL(url, window.location.href);
}

/** The origin of a bundle on another site, or null for the page's own. */
export function foreignOrigin(url: string): string | null {
  try {
    const u = absoluteBundleUrl(url);
    return u.origin === window.location.origin ? null : u.origin;
  } catch {
    return null;
  }
}

/** Whether a stored expert was added to this bundle (those stored without a bundle belong to the demo's). */
export function belongsTo(e: StoredExpert, url: string): boolean {
  return (e.bundle ?? DEFAULT_BUNDLE_URL) === url;
}

/** Puts `url` first in the recent list (newest first, at most RECENT_MAX). */
export async function rememberBundle(url: string, label: string): Promise<RecentBundle[]> {
  const list = [{ url, label, openedAt: Date.now() }, ...(await storage.loadRecentBundles()).filter((r) => r.url !== url)].slice(0, RECENT_MAX);
  await storage.saveRecentBundles(list);
  return list;
}

/** The address bar names the bundle (a reload opens it again); the demo's is the plain page. */
export function showBundleInAddress(url: string): void {
  const q = new URLSearchParams(window.location.search);
  if (url === DEFAULT_BUNDLE_URL) q.delete('bundle');
  else q.set('bundle', url);
  const search = q.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${search ? `?${search}` : ''}${window.location.hash}`);
}
