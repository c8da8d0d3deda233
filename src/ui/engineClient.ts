// The UI side of the worker protocol: one promise per request (its final message), plus a callback
// for the events that come before it (progress, routing, tokens).
import { FINAL_TYPES, type FinalFor, type WorkerError, type WorkerEvent, type WorkerNotice, type WorkerRequestBody, type WorkerResponse } from '../worker/protocol.ts';

export class EngineError extends Error {
  readonly code: string;
  readonly file: string | undefined;
  readonly tensor: string | undefined;
  constructor(e: WorkerError) {
    super(e.message);
    this.name = 'EngineError';
    this.code = e.code;
    this.file = e.file;
    this.tensor = e.tensor;
  }
}

interface Pending {
  resolve: (r: WorkerResponse) => void;
  reject: (e: Error) => void;
  onEvent: ((e: WorkerEvent) => void) | undefined;
}

export interface Requested<T> {
  id: number;
  done: Promise<T>;
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  onNotice: ((n: WorkerNotice) => void) | undefined;

  constructor(private readonly worker: Worker) {
    worker.onmessage = (e: MessageEvent<WorkerResponse>) => this.receive(e.data);
    worker.onerror = (e) => {
      const err = new EngineError({ code: 'WORKER_CRASHED', message: e.message || 'The engine worker stopped unexpectedly.' });
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
    };
  }

  static create(): EngineClient {
    return new EngineClient(new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' }));
  }

  private receive(msg: WorkerResponse): void {
    if (msg.type === 'notice') return this.onNotice?.(msg);
    const waiter = this.pending.get(msg.id);
    if (!waiter) return;
    if (!FINAL_TYPES.has(msg.type)) return waiter.onEvent?.(msg as WorkerEvent);
    this.pending.delete(msg.id);
    if (msg.type === 'error') waiter.reject(new EngineError(msg.error));
    else waiter.resolve(msg);
  }

  /** Sends a request; `done` settles with its final message. */
  send<B extends WorkerRequestBody>(body: B, onEvent?: (e: WorkerEvent) => void): Requested<FinalFor[B['type']]> {
    const id = this.nextId++;
    const done = new Promise<FinalFor[B['type']]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as unknown as (r: WorkerResponse) => void, reject, onEvent });
    });
    this.worker.postMessage({ ...body, id });
    return { id, done };
  }

  request<B extends WorkerRequestBody>(body: B, onEvent?: (e: WorkerEvent) => void): Promise<FinalFor[B['type']]> {
    return this.send(body, onEvent).done;
  }

  dispose(): void {
    this.worker.terminate();
    const err = new EngineError({ code: 'DISPOSED', message: 'The engine was shut down.' });
    for (const w of this.pending.values()) w.reject(err);
    this.pending.clear();
  }
}
