/** Test helpers (Node): a tiny config.json and a random checkpoint of it running on an engine. */
import { parseModelConfig, type ModelSpec } from '../model/config.ts';
import { buildDecoderGraph, type DecoderGraphOptions } from '../model/onnx/decoder.ts';
import { randomCheckpoint } from '../model/random.ts';
import type { DecoderEngine } from '../runtime/engine.ts';
import { cpuWeightFeeds } from '../runtime/weights.ts';
import { createNodeEngine, loadNodeOrt, type NodeBackend } from '../runtime/node/session.ts';

/** A tiny config.json (head_dim 16: the smallest GQA accepts). */
export function tinyConfig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'llama',
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    intermediate_size: 96,
    vocab_size: 61,
    max_position_embeddings: 128,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    tie_word_embeddings: true,
    eos_token_id: 60,
    ...over,
  };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export interface TinyModel {
  spec: ModelSpec;
  weights: Map<string, Float32Array>;
  engine: DecoderEngine;
}

/** A random checkpoint of `config` running on an engine (mode 'inputs' or 'initializers'). */
export async function tinyEngine(
  config: Record<string, unknown>,
  /** step: decode steps on the single-token step graph (EngineOptions.stepModel). */
  opts: { seed?: number; mode?: 'inputs' | 'initializers'; backend?: NodeBackend; graph?: Partial<DecoderGraphOptions>; chunked?: boolean; step?: boolean } = {},
): Promise<TinyModel> {
  const spec = parseModelConfig(config);
  const weights = randomCheckpoint(spec, opts.seed ?? 1);
  const mode = opts.mode ?? 'inputs';
  const graph = buildDecoderGraph(spec, {
    weights: mode,
    weight: (n) => weights.get(n)!,
    hiddenStateOutput: true,
    ...opts.graph,
  });
  const backend = opts.backend ?? 'wasm';
  const stepModel = opts.step ? buildDecoderGraph(spec, { weights: mode, weight: (n) => weights.get(n)!, singleTokenStep: true, ...opts.graph }).bytes : undefined;
  const engine = await createNodeEngine(spec, graph, { backend, engine: { chunkedContinuation: opts.chunked ?? true, ...(stepModel ? { stepModel } : {}) } });
  if (mode === 'inputs') {
    const ort = await loadNodeOrt(backend);
    engine.setWeights(await cpuWeightFeeds(ort, graph.io, (n) => weights.get(n)!));
  }
  return { spec, weights, engine };
}
