// Owns the engine worker for the page: loads the bundle (with progress), restores the user's own
// experts, and exposes the expert actions. Everything goes through the typed protocol.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { BackendInfo, BackendPreference, BundleInfo, DroppedFile, EngineLoadProgress, ExpertInfo } from '../worker/protocol.ts';
import { EngineClient, EngineError } from './engineClient.ts';
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

export function useEngine(bundleUrl: string, preference: BackendPreference) {
  const clientRef = useRef<EngineClient | null>(null);
  const [state, setState] = useState<EngineState>({ phase: 'loading', progress: null });
  const [experts, setExperts] = useState<ExpertInfo[]>([]);
  const [backend, setBackend] = useState<BackendInfo | null>(null);
  const [notice, setNotice] = useState<Notice | null>(null);

  useEffect(() => {
    const client = EngineClient.create();
    clientRef.current = client;
    client.onNotice = (n) => {
      setNotice({ level: n.level, message: n.message });
      if (n.backend) setBackend(n.backend);
    };
    let live = true;
    (async () => {
      try {
        // The backend is known (and shown) before the bundle finishes loading.
        const probe = await client.request({ type: 'probe', preference });
        if (live) setBackend(probe.backend);
        const { bundle } = await client.request({ type: 'load', url: bundleUrl, preference }, (e) => {
          if (live && e.type === 'load-progress') setState({ phase: 'loading', progress: e.progress });
        });
        if (!live) return;
        setBackend(bundle.backend);
        let current = bundle.experts;
        // The user's own experts come back after a reload; one that no longer fits is reported, not fatal.
        for (const stored of await storage.loadExperts()) {
          try {
            const r = await client.request({ type: 'add-expert', expertId: stored.id, name: stored.name, description: stored.description, examplePrompts: stored.examplePrompts, files: stored.files });
            current = r.experts;
            if (!stored.enabled) current = (await client.request({ type: 'set-expert-enabled', expertId: stored.id, enabled: false })).experts;
          } catch (e) {
            setNotice({ level: 'warning', message: `Your expert "${stored.name}" could not be restored: ${e instanceof Error ? e.message : String(e)}` });
          }
        }
        if (!live) return;
        setExperts(current);
        setState({ phase: 'ready', bundle });
      } catch (e) {
        if (live) setState({ phase: 'failed', message: e instanceof Error ? e.message : String(e) });
      }
    })();
    return () => {
      live = false;
      client.dispose();
      clientRef.current = null;
    };
  }, [bundleUrl, preference]);

  const persistCustom = useCallback(async (update: (list: StoredExpert[]) => StoredExpert[]) => {
    await storage.saveExperts(update(await storage.loadExperts()));
  }, []);

  const addExpert = useCallback(
    async (input: AddExpertInput): Promise<{ trainMs: number }> => {
      const client = clientRef.current;
      if (!client) throw new EngineError({ code: 'NOT_READY', message: 'The engine is not running.' });
      const r = await client.request({ type: 'add-expert', expertId: input.id, name: input.name, description: input.description, examplePrompts: input.examplePrompts, files: input.files });
      setExperts(r.experts);
      await persistCustom((list) => [...list.filter((e) => e.id !== input.id), { ...input, enabled: true }]);
      return { trainMs: r.trainMs };
    },
    [persistCustom],
  );

  const removeExpert = useCallback(
    async (id: string) => {
      const client = clientRef.current;
      if (!client) return;
      const r = await client.request({ type: 'remove-expert', expertId: id });
      setExperts(r.experts);
      await persistCustom((list) => list.filter((e) => e.id !== id));
    },
    [persistCustom],
  );

  const setEnabled = useCallback(
    async (id: string, enabled: boolean) => {
      const client = clientRef.current;
      if (!client) return;
      const r = await client.request({ type: 'set-expert-enabled', expertId: id, enabled });
      setExperts(r.experts);
      await persistCustom((list) => list.map((e) => (e.id === id ? { ...e, enabled } : e)));
    },
    [persistCustom],
  );

  return { client: clientRef, state, experts, backend, notice, dismissNotice: () => setNotice(null), addExpert, removeExpert, setEnabled };
}
