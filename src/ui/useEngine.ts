// Owns the engine worker for the page: loads the bundle (with progress), restores the user's own
// experts, and exposes the expert actions and the engine's memory figures (refreshed after each
// message and each change of the experts). Everything goes through the public engine API
// (src/api/engine.ts), the same object the library exports.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AddProgress, BackendInfo, BackendPreference, BundleInfo, DroppedFile, EngineLoadProgress, ExpertInfo, MemoryReport, StoredFeatures } from '../worker/protocol.ts';
import { exposeDiagnostics } from './diagnostics.ts';
import { EngineError, TwinmergeEngine } from '../api/engine.ts';
import { storage, type StoredExpert } from './storage.ts';

export type EngineState =
  | { phase: 'loading'; progress: EngineLoadProgress | null }
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

/** Stores an expert's example-prompt features with it, so the next reload re-adds it without model runs. */
async function persistFeatures(id: string, features: StoredFeatures): Promise<void> {
  await storage.saveExperts((await storage.loadExperts()).map((e) => (e.id === id ? { ...e, features } : e)));
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
        // The user's stored experts come back after the load; a PEFT adapter among them needs the
        // bundle's base delta, fetched with the bundle then (else only when an adapter is dropped).
        const restoring = await storage.loadExperts();
        const withBaseDelta = restoring.some((e) => e.files.some((f) => f.name === 'adapter_config.json'));
        const bundle = await client.load(bundleUrl, {
          backend: preference,
          withBaseDelta,
          onProgress: (progress) => {
            if (live) setState({ phase: 'loading', progress });
          },
        });
        if (!live) return;
        setBackend(bundle.backend);
        setMemory(bundle.memory);
        let current = bundle.experts;
        // The user's own experts come back after a reload (their stored features spare the model runs);
        // one that no longer fits is reported, not fatal.
        const restoreStart = performance.now();
        for (const [i, stored] of restoring.entries()) {
          if (live) setState({ phase: 'loading', progress: { stage: 'experts', file: stored.name, loadedBytes: i, totalBytes: restoring.length } });
          try {
            const r = await client.experts.add(stored);
            current = r.experts;
            if (!r.added.reusedFeatures) await persistFeatures(stored.id, r.added.features);
            if (!stored.enabled) current = (await client.experts.setEnabled(stored.id, false)).experts;
          } catch (e) {
            setNotice({ level: 'warning', message: `Your expert "${stored.name}" could not be restored: ${e instanceof Error ? e.message : String(e)}` });
          }
        }
        // Measured for the e2e test: with stored features a restore needs no model run.
        if (restoring.length) performance.measure('twinmerge:restore-experts', { start: restoreStart });
        if (!live) return;
        setExperts(current);
        await refreshMemory();
        if (!live) return;
        setState({ phase: 'ready', bundle });
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
  }, [bundleUrl, preference, refreshMemory, startAfter]);

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
      await persistCustom((list) => [...list.filter((e) => e.id !== input.id), { ...input, files, enabled: true, features: r.added.features }]);
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
      await persistCustom((list) => list.filter((e) => e.id !== id));
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
      await persistCustom((list) => list.map((e) => (e.id === id ? { ...e, enabled } : e)));
    },
    [persistCustom, refreshMemory],
  );

  return { client: clientRef, state, experts, backend, memory, refreshMemory, notice, dismissNotice: () => setNotice(null), addExpert, removeExpert, setEnabled };
}
