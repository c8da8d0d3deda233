/**
 * One generation's timings from when it was called and when each generated token arrived, the same
 * arithmetic for every implementation measured (ours through generate's onToken, transformers.js
 * through a streamer): prefill = call → first token, decode = first token → last, stepMs = the
 * median time between two tokens (robust to a GC or arena stall landing in one step).
 */
import { median } from './shapes.ts';

export interface TokenTimings {
  prefillMs: number;
  decodeMs: number;
  stepMs: number;
}

export function tokenTimings(t0: number, stamps: readonly number[]): TokenTimings {
  if (stamps.length < 2) throw new Error(`tokenTimings: need at least 2 token stamps, got ${stamps.length}`);
  return { prefillMs: stamps[0]! - t0, decodeMs: stamps.at(-1)! - stamps[0]!, stepMs: median(stamps.slice(1).map((t, i) => t - stamps[i]!)) };
}
