// Does any enabled expert fit a message? Two signals, both calibrated on the router's val prompts at
// pack time (pack uses the extremes of val: share 0) and checked per message in the app:
//   far:       the message's features (standardized as the router standardizes them) are further from
//              every replay feature (training prompts of every expert) than val prompts ever are;
//   uncertain: the largest routing weight of an ENABLED expert, before renormalization over the enabled
//              ones, is below what val prompts get (a prompt whose expert is switched off lands here).
import { routeWeights, type RouterModel } from './mlp.ts';

export interface ConfidenceThresholds {
  /** Root-mean-square distance per dimension to the nearest replay feature, above which a message is "far". */
  readonly maxDistance: number;
  /** Top routing weight (softmax at T = 1, before masking) below which a message is "uncertain". */
  readonly minTopWeight: number;
}

export interface Confidence {
  confident: boolean;
  /** Why not (the first that applies). */
  reason?: 'far' | 'uncertain';
  distance: number;
  topWeight: number;
}

/** RMS distance (standardized features) from x to its nearest neighbour among `replay`. */
export function nearestDistance(m: RouterModel, replay: readonly Float32Array[], x: ArrayLike<number>): number {
  const n = m.inputSize;
  let best = Infinity;
  for (const r of replay) {
    let d = 0;
    for (let i = 0; i < n; i++) {
      const s = m.std[i]! || 1;
      const diff = (x[i]! - r[i]!) / s;
      d += diff * diff;
      if (d >= best) break;
    }
    if (d < best) best = d;
  }
  return Math.sqrt(best / n);
}

function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const pos = Math.min(s.length - 1, Math.max(0, q * (s.length - 1)));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

/** Thresholds from val features: the `share` of val prompts furthest out / least certain lie beyond them (0: the extremes of val). */
export function calibrateConfidence(m: RouterModel, replay: readonly Float32Array[], val: readonly Float32Array[], share = 0.01): ConfidenceThresholds {
  const distances = val.map((x) => nearestDistance(m, replay, x));
  const tops = val.map((x) => Math.max(...routeWeights(m, x)));
  return { maxDistance: quantile(distances, 1 - share), minTopWeight: quantile(tops, share) };
}

/** The verdict for one message; `enabled[c]` says whether class c's expert may answer. */
export function judgeConfidence(m: RouterModel, replay: readonly Float32Array[], x: ArrayLike<number>, enabled: readonly boolean[], t: ConfidenceThresholds): Confidence {
  const distance = nearestDistance(m, replay, x);
  const p = routeWeights(m, x);
  let topWeight = 0;
  for (let c = 0; c < p.length; c++) if (enabled[c] && p[c]! > topWeight) topWeight = p[c]!;
  if (distance > t.maxDistance) return { confident: false, reason: 'far', distance, topWeight };
  if (topWeight < t.minTopWeight) return { confident: false, reason: 'uncertain', distance, topWeight };
  return { confident: true, distance, topWeight };
}
