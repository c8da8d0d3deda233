// The UI side of the worker protocol: one promise per request, matched by id.
import type { ResponseFor, WorkerRequest, WorkerResponse } from '../worker/protocol.ts';

type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;
export type RequestBody = DistributiveOmit<WorkerRequest, 'id'>;

export class EngineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: WorkerResponse) => void; reject: (e: Error) => void }>();

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => {
      const waiter = this.pending.get(e.data.id);
      if (!waiter) return;
      this.pending.delete(e.data.id);
      if (e.data.type === 'error') waiter.reject(new EngineError(e.data.error.code, e.data.error.message));
      else waiter.resolve(e.data);
    };
    worker.onerror = (e) => {
      const err = new EngineError('WORKER_CRASHED', e.message || 'The engine worker stopped unexpectedly.');
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
    };
  }

  static create(): EngineClient {
    return new EngineClient(new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' }));
  }

  request<B extends RequestBody>(body: B): Promise<ResponseFor<B['type']>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: WorkerResponse) => void, reject });
      this.worker.postMessage({ ...body, id });
    });
  }

  dispose(): void {
    this.worker.terminate();
  }
}
