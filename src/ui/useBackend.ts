import { useEffect, useState } from 'react';
import type { BackendInfo, BackendPreference } from '../worker/protocol.ts';
import { EngineClient } from './engineClient.ts';

export type BackendState =
  | { status: 'probing' }
  | { status: 'ready'; backend: BackendInfo }
  | { status: 'failed'; message: string };

/** Starts the engine worker and asks it which backend it can use. */
export function useBackend(preference: BackendPreference): BackendState {
  const [state, setState] = useState<BackendState>({ status: 'probing' });
  useEffect(() => {
    const client = EngineClient.create();
    let live = true;
    setState({ status: 'probing' });
    client
      .request({ type: 'probe', preference })
      .then((r) => live && setState({ status: 'ready', backend: r.backend }))
      .catch((e: unknown) => live && setState({ status: 'failed', message: e instanceof Error ? e.message : String(e) }));
    return () => {
      live = false;
      client.dispose();
    };
  }, [preference]);
  return state;
}
