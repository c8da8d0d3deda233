// Fetches a bundle (manifest + files) with progress by stage and bytes, and checks every file's size
// and sha256 against the manifest before anything uses it.
import { parseManifest, type FileEntry, type Manifest } from '../core/bundle/manifest.ts';
import { planBundle, type BundlePlan } from './bundlePlan.ts';

export type LoadStage = 'manifest' | 'download' | 'verify' | 'done';

export interface LoadProgress {
  stage: LoadStage;
  /** The file being fetched or checked, when there is one. */
  file?: string;
  loadedBytes: number;
  totalBytes: number;
}

export class BundleLoadError extends Error {
  constructor(
    readonly code: 'HTTP' | 'NETWORK' | 'SIZE' | 'CHECKSUM' | 'MANIFEST' | 'FIT' | 'ABORTED',
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'BundleLoadError';
  }
}

export interface LoadedBundle {
  baseUrl: string;
  manifest: Manifest;
  files: Map<string, Uint8Array<ArrayBuffer>>;
  /** What the manifest says the bundle costs (checked before the first download). */
  plan: BundlePlan;
}

export interface LoadOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  /** Only these files (default: all in the manifest). */
  only?: (entry: FileEntry, manifest: Manifest) => boolean;
  fetch?: typeof fetch;
  /** Why the planned bundle cannot run here (e.g. deviceFitProblem), or null: asked before any download. */
  fits?: (plan: BundlePlan) => string | null;
}

function join(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.split('/').map(encodeURIComponent).join('/')}`;
}

async function get(url: string, file: string, fetchFn: typeof fetch, signal: AbortSignal | undefined): Promise<Response> {
  let res: Response;
  try {
    res = await fetchFn(url, signal ? { signal } : {});
  } catch (e) {
    if (signal?.aborted) throw new BundleLoadError('ABORTED', file, 'loading was cancelled');
    throw new BundleLoadError('NETWORK', file, `could not be fetched (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!res.ok) throw new BundleLoadError('HTTP', file, `HTTP ${res.status} ${res.statusText}`.trim());
  return res;
}

export async function sha256Hex(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Reads a response body into exactly `expected` bytes, reporting progress; a different size is an error. */
async function readBody(res: Response, entry: FileEntry, onChunk: (n: number) => void): Promise<Uint8Array<ArrayBuffer>> {
  const out = new Uint8Array(entry.bytes);
  let at = 0;
  const reader = res.body?.getReader();
  if (!reader) {
    const all = new Uint8Array(await res.arrayBuffer());
    if (all.length !== entry.bytes) throw new BundleLoadError('SIZE', entry.path, `is ${all.length} bytes, the manifest says ${entry.bytes}`);
    onChunk(all.length);
    return all;
  }
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (at + value.length > entry.bytes) {
      await reader.cancel();
      throw new BundleLoadError('SIZE', entry.path, `is larger than the ${entry.bytes} bytes the manifest says`);
    }
    out.set(value, at);
    at += value.length;
    onChunk(value.length);
  }
  if (at !== entry.bytes) throw new BundleLoadError('SIZE', entry.path, `is ${at} bytes, the manifest says ${entry.bytes}`);
  return out;
}

/** A bundle's manifest and plan, read and checked before any of its files is downloaded. */
export interface CheckedManifest {
  manifest: Manifest;
  plan: BundlePlan;
}

/**
 * Fetches and checks manifest.json alone: a wrong URL, a manifest that is not one, an architecture
 * we do not run, absurd sizes, or (with `fits`) a model the device cannot hold throw a
 * BundleLoadError here, before anything large is downloaded or allocated.
 */
export async function checkBundle(baseUrl: string, options: Omit<LoadOptions, 'onProgress'> = {}): Promise<CheckedManifest> {
  const fetchFn = options.fetch ?? fetch;
  const manifestRes = await get(join(baseUrl, 'manifest.json'), 'manifest.json', fetchFn, options.signal);
  let manifest: Manifest;
  const text = await manifestRes.text();
  // A single-page host answers every unknown path with its index.html: that is a wrong URL, not a broken bundle.
  if (/^\s*</.test(text)) throw new BundleLoadError('MANIFEST', 'manifest.json', `there is no bundle at ${baseUrl}: the server answered with a web page instead of manifest.json (check the URL)`);
  try {
    manifest = parseManifest(text, `${baseUrl}/manifest.json`);
  } catch (e) {
    throw new BundleLoadError('MANIFEST', 'manifest.json', e instanceof Error ? e.message : String(e));
  }
  const only = options.only;
  // Nothing is downloaded or allocated for a manifest whose model or sizes are absurd.
  let plan: BundlePlan;
  try {
    plan = planBundle(manifest, only ? (f) => only(f, manifest) : undefined);
  } catch (e) {
    throw new BundleLoadError('MANIFEST', 'manifest.json', e instanceof Error ? e.message : String(e));
  }
  const misfit = options.fits?.(plan);
  if (misfit) throw new BundleLoadError('FIT', 'manifest.json', misfit);
  return { manifest, plan };
}

export async function loadBundle(baseUrl: string, options: LoadOptions = {}): Promise<LoadedBundle> {
  const fetchFn = options.fetch ?? fetch;
  const report = options.onProgress ?? (() => {});
  report({ stage: 'manifest', file: 'manifest.json', loadedBytes: 0, totalBytes: 0 });
  const { manifest, plan } = await checkBundle(baseUrl, options);
  const only = options.only;
  const entries = only ? manifest.files.filter((f) => only(f, manifest)) : manifest.files;
  const totalBytes = plan.loadBytes;
  let loadedBytes = 0;
  const files = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const entry of entries) {
    if (options.signal?.aborted) throw new BundleLoadError('ABORTED', entry.path, 'loading was cancelled');
    report({ stage: 'download', file: entry.path, loadedBytes, totalBytes });
    const res = await get(join(baseUrl, entry.path), entry.path, fetchFn, options.signal);
    let data: Uint8Array<ArrayBuffer>;
    try {
      data = await readBody(res, entry, (n) => {
        loadedBytes += n;
        report({ stage: 'download', file: entry.path, loadedBytes, totalBytes });
      });
    } catch (e) {
      if (e instanceof BundleLoadError) throw e;
      if (options.signal?.aborted) throw new BundleLoadError('ABORTED', entry.path, 'loading was cancelled');
      throw new BundleLoadError('NETWORK', entry.path, `download broke off (${e instanceof Error ? e.message : String(e)})`);
    }
    report({ stage: 'verify', file: entry.path, loadedBytes, totalBytes });
    const sha = await sha256Hex(data);
    if (sha !== entry.sha256) throw new BundleLoadError('CHECKSUM', entry.path, `sha256 ${sha} differs from the manifest's ${entry.sha256} (corrupt or stale download)`);
    files.set(entry.path, data);
  }
  report({ stage: 'done', loadedBytes, totalBytes });
  return { baseUrl, manifest, files, plan };
}
