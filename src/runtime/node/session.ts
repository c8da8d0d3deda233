/**
 * Node-only: ORT backends for Node. 'wasm' = onnxruntime-web's WebAssembly build (the same kernels
 * the browser's wasm fallback runs; the default), 'cpu' = onnxruntime-node's native CPU EP.
 */
import type { ModelSpec } from '../../model/config.ts';
import type { DecoderGraph } from '../../model/onnx/decoder.ts';
import { DecoderEngine, type EngineOptions } from '../engine.ts';
import type { OrtModule, OrtSessionOptions } from '../ort.ts';

export type NodeBackend = 'wasm' | 'cpu';

export interface NodeSessionOptions {
  backend?: NodeBackend;
  /** Intra-op threads (default 1: fastest for tiny models on this machine). */
  threads?: number;
  engine?: EngineOptions;
}

export async function loadNodeOrt(backend: NodeBackend = 'wasm', threads = 1): Promise<OrtModule> {
  if (backend === 'cpu') {
    const mod = (await import('onnxruntime-node')) as unknown as OrtModule & { default?: OrtModule };
    return mod.default ?? mod;
  }
  const mod = (await import('onnxruntime-web')) as unknown as OrtModule & { default?: OrtModule };
  const ort = mod.default ?? mod;
  ort.env.wasm.numThreads = threads;
  return ort;
}

export function nodeSessionOptions(backend: NodeBackend, threads = 1): OrtSessionOptions {
  return backend === 'cpu'
    ? { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1 }
    : { executionProviders: ['wasm'] };
}

/** An engine for `graph` on a Node backend. */
export async function createNodeEngine(
  spec: ModelSpec,
  graph: DecoderGraph,
  opts: NodeSessionOptions = {},
): Promise<DecoderEngine> {
  const backend = opts.backend ?? 'wasm';
  const ort = await loadNodeOrt(backend, opts.threads ?? 1);
  return DecoderEngine.create(ort, graph.bytes, spec, graph.io, nodeSessionOptions(backend, opts.threads ?? 1), opts.engine ?? {});
}
