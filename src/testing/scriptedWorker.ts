// A scripted stand-in for the engine worker, for unit tests of the API layer in Node: it records what
// is posted and answers each request with `script(request, reply)`, asynchronously like a worker.
// The real worker runs in Chromium in the e2e tests (e2e/api.spec.ts, e2e/worker.spec.ts).
import type { WorkerRequest, WorkerResponse } from '../worker/protocol.ts';

export type WorkerScript = (req: WorkerRequest, reply: (m: WorkerResponse) => void) => void;

export class ScriptedWorker {
  onmessage: ((e: MessageEvent<WorkerResponse>) => void) | null = null;
  onerror: ((e: ErrorEvent) => void) | null = null;
  readonly posted: WorkerRequest[] = [];
  terminated = false;
  constructor(private readonly script: WorkerScript) {}
  postMessage(m: WorkerRequest): void {
    this.posted.push(m);
    this.script(m, (r) => setTimeout(() => this.onmessage?.({ data: r } as MessageEvent<WorkerResponse>), 0));
  }
  terminate(): void {
    this.terminated = true;
  }
  /** Typed as the Worker the API expects. */
  get asWorker(): Worker {
    return this as unknown as Worker;
  }
}
