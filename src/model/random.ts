/**
 * Random checkpoints for benchmarks (`twinmerge bench-engine`, the pack benchmark) and tests
 * (deterministic, seeded). Pure TS. The RNG itself is core's `mulberry32`.
 */
import { mulberry32 } from '../core/tensor/random.ts';
import { expectedTensors, type WeightInfo } from './llama.ts';
import type { ModelSpec } from './config.ts';

/** Random HF-layout float32 data for one tensor: linears ~U(±1/sqrt(in)), norms ~1±0.1, biases ±0.1. */
export function randomTensor(w: WeightInfo, rand: () => number, scale = 1): Float32Array {
  const n = w.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (w.role === 'norm') {
    for (let i = 0; i < n; i++) out[i] = 1 + 0.2 * (rand() - 0.5);
  } else if (w.role === 'bias') {
    for (let i = 0; i < n; i++) out[i] = 0.2 * (rand() - 0.5);
  } else {
    const a = (scale * 2) / Math.sqrt(w.shape[1]!);
    for (let i = 0; i < n; i++) out[i] = a * (rand() - 0.5);
  }
  return out;
}

/** A full random checkpoint in HF layout. */
export function randomCheckpoint(spec: ModelSpec, seed = 1, scale = 1): Map<string, Float32Array> {
  const rand = mulberry32(seed);
  const m = new Map<string, Float32Array>();
  for (const w of expectedTensors(spec)) m.set(w.name, randomTensor(w, rand, scale));
  return m;
}
