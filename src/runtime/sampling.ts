/**
 * Next-token selection: greedy, temperature, top-k, top-p (nucleus), with a seeded RNG.
 * Order of filters as in HF transformers: temperature → top-k → top-p → sample.
 */
import { mulberry32 } from '../core/tensor/random.ts';

export interface SamplingOptions {
  /** 0 (default) = greedy argmax. */
  temperature?: number;
  /** Keep the k most likely tokens (0/undefined = off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability mass reaches p (1/undefined = off). */
  topP?: number;
  /** Seed for the sampler's RNG (default 0). */
  seed?: number;
}

export type Rng = () => number;
export const makeRng = (seed = 0): Rng => mulberry32(seed);

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** Pick the next token from one row of logits. */
export function sampleToken(logits: ArrayLike<number>, opts: SamplingOptions, rng: Rng): number {
  const t = opts.temperature ?? 0;
  if (!(t > 0)) return argmax(logits);
  const n = logits.length;
  let idx = Array.from({ length: n }, (_, i) => i);
  const scaled = new Float64Array(n);
  for (let i = 0; i < n; i++) scaled[i] = logits[i]! / t;
  idx.sort((a, b) => scaled[b]! - scaled[a]!);
  const k = opts.topK ?? 0;
  if (k > 0 && k < n) idx = idx.slice(0, k);
  const max = scaled[idx[0]!]!;
  const probs = idx.map((i) => Math.exp(scaled[i]! - max));
  let total = probs.reduce((a, b) => a + b, 0);
  const p = opts.topP ?? 1;
  if (p < 1) {
    let acc = 0;
    let keep = idx.length;
    for (let j = 0; j < idx.length; j++) {
      acc += probs[j]! / total;
      if (acc >= p) {
        keep = j + 1;
        break;
      }
    }
    idx = idx.slice(0, keep);
    probs.length = keep;
    total = probs.reduce((a, b) => a + b, 0);
  }
  let r = rng() * total;
  for (let j = 0; j < idx.length; j++) {
    r -= probs[j]!;
    if (r <= 0) return idx[j]!;
  }
  return idx[idx.length - 1]!;
}
