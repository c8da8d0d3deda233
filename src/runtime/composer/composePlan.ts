// Compose only what changed (issue 13.5). W = shared + Σ_t w_t·E_t is linear in the routing weights,
// so going from the composed routing w to w' only needs W += Σ_t (w'_t − w_t)·E_t over the experts
// whose weight moved. A composer takes that path when it touches fewer experts than composing from
// scratch would (e.g. one weight of a top-k set moved, or an expert joined the set), and composes
// from scratch otherwise, and after MAX_DELTAS_IN_A_ROW updates so float32 rounding cannot pile up.
import type { RoutingWeights } from './types.ts';

/** Updates in a row before a composition from scratch (each adds at most ~1 ulp per element). */
export const MAX_DELTAS_IN_A_ROW = 8;

export type ComposePlan =
  /** From scratch: shared + Σ over these (active) weights. */
  | { kind: 'full'; weights: ReadonlyMap<string, number> }
  /** In place: the current outputs + Σ over these weight changes. */
  | { kind: 'delta'; weights: ReadonlyMap<string, number> };

/**
 * `composed`: the active weights the outputs hold now, or undefined when they hold something else
 * (nothing composed yet, experts replaced, a weight overwritten). `deltasInARow`: delta updates since
 * the last composition from scratch.
 */
export function planCompose(composed: ReadonlyMap<string, number> | undefined, next: ReadonlyMap<string, number>, deltasInARow: number): ComposePlan {
  if (!composed || deltasInARow >= MAX_DELTAS_IN_A_ROW) return { kind: 'full', weights: next };
  const change = new Map<string, number>();
  for (const id of new Set([...composed.keys(), ...next.keys()])) {
    const d = (next.get(id) ?? 0) - (composed.get(id) ?? 0);
    if (d !== 0) change.set(id, d);
  }
  return change.size < next.size ? { kind: 'delta', weights: change } : { kind: 'full', weights: next };
}
