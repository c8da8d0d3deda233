// Owns the engine worker for the page: loads the bundle (with progress), restores the user's own
// experts, and exposes the expert actions and the engine's memory figures (refreshed after each
// message and each change of the experts). Everything goes through the public engine API
// (src/api/engine.ts), the same object the library exports.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AddProgress, BackendInfo, BackendPreference, BundleCheckInfo, BundleInfo, DroppedFile, EngineLoadProgress, ExpertInfo, MemoryReport, StoredFeatures } from '../worker/protocol.ts';
import { exposeDiagnostics } from './diagnostics.ts';
import { EngineError, TwinmergeEngine } from '../api/engine.ts';
import { belongsTo, DEFAULT_BUNDLE_URL, foreignOrigin, rememberBundle, showBundleInAddress } from './bundles.ts';
import { storage, type StoredExpert } from './storage.ts';

export type EngineState =
  | { phase: 'loading'; progress: EngineLoadProgress | null }
  /** A bundle on another origin (from the address): shown with its size and origin, loaded only once the user says so. */
  | { phase: 'confirm'; url: string; origin: string; check: BundleCheckInfo | null; error: string | null }
  | { phase: 'ready'; bundle: BundleInfo }
  | { phase: 'failed'; message: string };

export interface Notice {
  level: 'info' | 'warning' | 'error';
  message: string;
}

export interface AddExpertInput {
  id: string;
  name: string;
  description: string;
  examplePrompts: string[];
  files: DroppedFile[];
}

/** What adding took, for the success message. */
export interface AddExpertResult {
  totalMs: number;
  /** A checkpoint's module extraction (0 otherwise). */
  extractMs: number;
  trainMs: number;
}

/** How the picker lists a bundle: its model and experts. */
export function bundleLabel(b: BundleInfo): string {
  const names = b.experts.map((e) => e.name);
  return `${names.length} experts: ${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}`;
}

/** Stores an expert's example-prompt features with it, so the next reload re-adds it without model runs. */
async function persistFeatures(bundleUrl: string, id: string, features: StoredFeatures): Promise<void> {
  await storage.saveExperts((await storage.loadExperts()).map((e) => (e.id === id && belongsTo(e, bundleUrl) ? { ...e, features } : e)));
}

/**
 * The engine worker and what the UI knows of it. The worker starts once `startAfter` resolves (the
 * service worker controls the page, so the worker's downloads are cached for offline use), while
 * the page is already drawn.
 */
export function useEngine(bundleUrl: string, preference: BackendPreference, startAfter: Promise<void> = Promise.resolve()) {
  const clientRef = useRef<TwinmergeEngine | null>(null);
  const [state, setState] = useState<EngineState>({ phase: 'loading', progress: null });
  const [experts, setExperts] = useState<ExpertInfo[]>([]);
  const [backend, setBackend] = useState<BackendInfo | null>(null);
  const [memory, setMemory] = useState<MemoryReport | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);

  /** Asks the worker for its memory now: after each message and each change of the experts. */
  const refreshMemory = useCallback(async () => {
    const client = clientRef.current;
    if (!client) return;
    try {
      const m = await client.memory();
      if (clientRef.current === client) setMemory(m);
    } catch {
      // No bundle (yet, or any more): keep the last figures.
    }
  }, []);

  /** The bundle loaded now (stored experts belong to it). */
  const bundleUrlRef = useRef(bundleUrl);
  /** Resolves when the user confirms loading a bundle from another origin. */
  const confirmRef = useRef<(() => void) | null>(null);

  /**
   * Loads `url` into the running worker and puts back the user's experts stored for it. The worker
   * keeps the loaded bundle until the new one is downloaded and checked; `onProgress` sees every stage.
   */
  const loadInto = useCallback(
    async (client: TwinmergeEngine, url: string, onProgress: (p: EngineLoadProgress) => void, live: () => boolean): Promise<BundleInfo | null> => {
      // The user's stored experts come back after the load; a PEFT adapter among them needs the
      // bundle's base delta, fetched with the bundle then (else only when an adapter is dropped).
      const restoring = (await storage.loadExperts()).filter((e) => belongsTo(e, url));
      const withBaseDelta = restoring.some((e) => e.files.some((f) => f.name === 'adapter_config.json'));
      const bundle = await client.load(url, { backend: preference, withBaseDelta, onProgress });
      if (!live()) return null;
      bundleUrlRef.current = url;
      setBackend(bundle.backend);
      setMemory(bundle.memory);
      let current = bundle.experts;
      // The user's own experts come back after a reload (their stored features spare the model runs);
      // one that no longer fits is reported, not fatal.
      const restoreStart = performance.now();
      for (const [i, stored] of restoring.entries()) {
        onProgress({ stage: 'experts', file: stored.name, loadedBytes: i, totalBytes: restoring.length });
        try {
          const r = await client.experts.add(stored);
          current = r.experts;
          if (!r.added.reusedFeatures) await persistFeatures(url, stored.id, r.added.features);
          if (!stored.enabled) current = (await client.experts.setEnabled(stored.id, false)).experts;
        } catch (e) {
          setNotice({ level: 'warning', message: `Your expert "${stored.name}" could not be restored: ${e instanceof Error ? e.message : String(e)}` });
        }
      }
      // Measured for the e2e test: with stored features a restore needs no model run.
      if (restoring.length) performance.measure('twinmerge:restore-experts', { start: restoreStart });
      if (!live()) return null;
      setExperts(current);
      await refreshMemory();
      return bundle;
    },
    [preference, refreshMemory],
  );

  useEffect(() => {
    let live = true;
    let client: TwinmergeEngine | null = null;
    let hideDiagnostics = () => {};
    (async () => {
      await startAfter;
      if (!live) return;
      client = TwinmergeEngine.start();
      clientRef.current = client;
      hideDiagnostics = exposeDiagnostics(client);
      client.onNotice = (n) => {
        setNotice({ level: n.level, message: n.message });
        // The engine was rebuilt (device loss): a new backend, and new buffers.
        if (n.backend) {
          setBackend(n.backend);
          void refreshMemory();
        }
      };
      try {
        // The backend is known (and shown) before the bundle finishes loading.
        const probed = await client.probe(preference);
        if (live) setBackend(probed);
        // A bundle on another site is only read after the user has seen where it is and what it weighs.
        const origin = foreignOrigin(bundleUrl);
        if (origin) {
          setState({ phase: 'confirm', url: bundleUrl, origin, check: null, error: null });
          const check = await client.checkBundle(bundleUrl, { backend: preference }).catch((e: unknown) => (live && setState({ phase: 'confirm', url: bundleUrl, origin, check: null, error: e instanceof Error ? e.message : String(e) }), null));
          if (!live || !check) return;
          setState({ phase: 'confirm', url: bundleUrl, origin, check, error: null });
          await new Promise<void>((resolve) => (confirmRef.current = resolve));
          if (!live) return;
        }
        const bundle = await loadInto(client, bundleUrl, (progress) => live && setState({ phase: 'loading', progress }), () => live);
        if (!bundle) return;
        setState({ phase: 'ready', bundle });
        if (bundleUrl !== DEFAULT_BUNDLE_URL) void rememberBundle(bundleUrl, bundleLabel(bundle));
      } catch (e) {
        if (live) setState({ phase: 'failed', message: e instanceof Error ? e.message : String(e) });
      }
    })();
    return () => {
      live = false;
      hideDiagnostics();
      client?.unload();
      clientRef.current = null;
    };
  }, [bundleUrl, preference, refreshMemory, startAfter, loadInto]);

  /** What loading another bundle would take here (manifest only; the loaded bundle is untouched). */
  const checkBundle = useCallback(async (url: string): Promise<BundleCheckInfo> => {
    const client = clientRef.current;
    if (!client) throw new EngineError({ code: 'NOT_READY', message: 'The engine is not running.' });
    return client.checkBundle(url, { backend: preference });
  }, [preference]);

  /**
   * Switches to another bundle in place. A bundle that cannot be downloaded leaves the loaded one
   * as it was (the error is thrown for the picker to show); the address bar then names the new one.
   */
  const openBundle = useCallback(
    async (url: string, onProgress: (p: EngineLoadProgress) => void): Promise<BundleInfo> => {
      const client = clientRef.current;
      if (!client) throw new EngineError({ code: 'NOT_READY', message: 'The engine is not running.' });
      let bundle: BundleInfo | null;
      try {
        bundle = await loadInto(client, url, onProgress, () => clientRef.current === client);
      } catch (e) {
        // Failed before the old bundle was freed (download, checks): it is still loaded and answers.
        const stillLoaded = await client.memory().then(() => true, () => false);
        if (!stillLoaded) setState({ phase: 'failed', message: e instanceof Error ? e.message : String(e) });
        throw e;
      }
      if (!bundle) throw new EngineError({ code: 'NOT_READY', message: 'The engine was stopped.' });
      setState({ phase: 'ready', bundle });
      showBundleInAddress(url);
      await rememberBundle(url, bundleLabel(bundle));
      return bundle;
    },
    [loadInto],
  );

  const persistCustom = useCallback(async (update: (list: StoredExpert[]) => StoredExpert[]) => {
    await storage.saveExperts(update(await storage.loadExperts()));
  }, []);

  const addExpert = useCallback(
    async (input: AddExpertInput, onProgress?: (p: AddProgress) => void): Promise<AddExpertResult> => {
      const client = clientRef.current;
      if (!client) throw new EngineError({ code: 'NOT_READY', message: 'The engine is not running.' });
      const r = await client.experts.add(input, onProgress ? { onProgress } : {});
      setExperts(r.experts);
      void refreshMemory();
      // A checkpoint is stored as its extracted module (a few hundred kB, not the whole model).
      const files = r.added.moduleFile ? [r.added.moduleFile] : input.files;
      await persistCustom((list) => [...list.filter((e) => !(e.id === input.id && belongsTo(e, bundleUrlRef.current))), { ...input, files, enabled: true, features: r.added.features, bundle: bundleUrlRef.current }]);
      return { totalMs: r.added.totalMs, trainMs: r.added.trainMs, extractMs: r.added.extractMs };
    },
    [persistCustom, refreshMemory],
  );

  const removeExpert = useCallback(
    async (id: string) => {
      const client = clientRef.current;
      if (!client) return;
      const r = await client.experts.remove(id);
      setExperts(r.experts);
      void refreshMemory();
      await persistCustom((list) => list.filter((e) => !(e.id === id && belongsTo(e, bundleUrlRef.current))));
    },
    [persistCustom, refreshMemory],
  );

  const setEnabled = useCallback(
    async (id: string, enabled: boolean) => {
      const client = clientRef.current;
      if (!client) return;
      const r = await client.experts.setEnabled(id, enabled);
      setExperts(r.experts);
      void refreshMemory();
      await persistCustom((list) => list.map((e) => (e.id === id && belongsTo(e, bundleUrlRef.current) ? { ...e, enabled } : e)));
    },
    [persistCustom, refreshMemory],
  );

  return { client: clientRef, state, confirmLoad: () => confirmRef.current?.(), checkBundle, openBundle, experts, backend, memory, refreshMemory, notice, dismissNotice: () => setNotice(null), addExpert, removeExpert, setEnabled };
}
