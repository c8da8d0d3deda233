/// <reference lib="webworker" />
// The engine worker: owns the GPU device, sessions and (later) the composer. Model work never runs on
// the UI thread; everything arrives and leaves as the typed messages of protocol.ts.
import { probeBackend } from '../runtime/backendProbe.ts';
import type { WorkerRequest, WorkerResponse } from './protocol.ts';

const scope = self as unknown as DedicatedWorkerGlobalScope;

function reply(msg: WorkerResponse): void {
  scope.postMessage(msg);
}

scope.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const req = event.data;
  try {
    switch (req.type) {
      case 'probe':
        reply({ id: req.id, type: 'probe-result', backend: await probeBackend(req.preference) });
        break;
      default:
        reply({ id: req.id, type: 'error', error: { code: 'NOT_READY', message: `"${req.type}" needs a loaded bundle; none is loaded yet.` } });
    }
  } catch (e) {
    reply({ id: req.id, type: 'error', error: { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) } });
  }
};
