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
      default: {
        const unknown: never = req.type;
        reply({ id: (req as WorkerRequest).id, type: 'error', error: { code: 'UNKNOWN_REQUEST', message: `Unknown request ${String(unknown)}` } });
      }
    }
  } catch (e) {
    reply({ id: req.id, type: 'error', error: { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) } });
  }
};
