// Opt-in diagnostics for tests and troubleshooting: with `?diagnostics` in the page's URL the app
// puts a few read-only engine requests on `window.twinmergeDiagnostics` (e2e/experts.spec.ts
// reads the router through it). Without the parameter nothing is exposed.
import type { MemoryReport, RouterParameters } from '../worker/protocol.ts';
import type { TwinmergeEngine } from '../api/engine.ts';

export interface DiagnosticsApi {
  routerParameters(): Promise<RouterParameters>;
  memory(): Promise<MemoryReport>;
}

declare global {
  interface Window {
    twinmergeDiagnostics?: DiagnosticsApi;
  }
}

/** Exposes `engine`'s diagnostics when the URL asks for them; returns the cleanup. */
export function exposeDiagnostics(engine: TwinmergeEngine): () => void {
  if (typeof window === 'undefined' || !new URLSearchParams(window.location.search).has('diagnostics')) return () => undefined;
  const api: DiagnosticsApi = {
    routerParameters: () => engine.diagnostics.routerParameters(),
    memory: () => engine.memory(),
  };
  window.twinmergeDiagnostics = api;
  return () => {
    if (window.twinmergeDiagnostics === api) delete window.twinmergeDiagnostics;
  };
}
