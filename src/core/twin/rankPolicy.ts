// How many singular directions each exclusive module keeps, per matrix. One definition for pack
// (the bundle it writes), eval (the variants it scores) and the docs:
//   fixed r           every matrix at min(r, rows, cols);
//   energy e (max m)  the smallest rank keeping a share e of the matrix's sigma^2 (at most m);
//   budget s          one expert's file (header + factors + 1-D deltas) within s x one full expert's
//                     bytes at the exclusive dtype; ranks bought greedily by kept energy per byte.
import { allocateRanksByBudget } from '../linalg/index.ts';
import type { ExclusiveDtype, TwinWeight } from './shared.ts';

export type RankPolicy =
  | { readonly kind: 'fixed'; readonly rank: number }
  | { readonly kind: 'energy'; readonly energy: number; readonly max?: number }
  | { readonly kind: 'budget'; readonly share: number; readonly objective?: 'absolute' | 'relative' };

/** pack.yaml's `exclusive.rank` object → a policy. */
export function policyFromConfig(c: { fixed: number } | { budget: number; objective?: 'absolute' | 'relative' } | { energy: number; max?: number | undefined }): RankPolicy {
  if ('fixed' in c) return { kind: 'fixed', rank: c.fixed };
  if ('budget' in c) return { kind: 'budget', share: c.budget, ...(c.objective ? { objective: c.objective } : {}) };
  return { kind: 'energy', energy: c.energy, ...(c.max !== undefined ? { max: c.max } : {}) };
}

const pct = (x: number): string => `${Math.round(x * 1000) / 10}%`;

/** A short stable id, e.g. "r16", "budget10%", "budget10%-rel", "energy99%". */
export function policyId(p: RankPolicy): string {
  if (p.kind === 'fixed') return `r${p.rank}`;
  if (p.kind === 'energy') return `energy${pct(p.energy)}${p.max !== undefined ? `-max${p.max}` : ''}`;
  return `budget${pct(p.share)}${p.objective === 'relative' ? '-rel' : ''}`;
}

export function policyLabel(p: RankPolicy): string {
  if (p.kind === 'fixed') return `r = ${p.rank}`;
  if (p.kind === 'energy') return `energy ${pct(p.energy)}${p.max !== undefined ? ` (rank ≤ ${p.max})` : ''}`;
  return `budget ${pct(p.share)} (${p.objective ?? 'absolute'})`;
}

/** The rank to compute a matrix's SVD at before the policy picks its final rank. */
export function svdRankFor(p: RankPolicy, rows: number, cols: number): number {
  const full = Math.min(rows, cols);
  if (p.kind === 'fixed') return Math.min(p.rank, full);
  if (p.kind === 'energy') return Math.min(p.max ?? full, full);
  return full;
}

/** Estimated header bytes of an expert file: names, dtypes, shapes (~120 bytes a tensor). */
export function expertHeaderEstimate(weights: readonly TwinWeight[]): number {
  const twoD = weights.filter((w) => w.shape.length === 2).length;
  return 120 * (2 * twoD + (weights.length - twoD)) + 64;
}

/** One full expert's bytes at the exclusive dtype: the denominator of every "share of a full expert". */
export function fullExpertBytes(weights: readonly TwinWeight[], dtype: ExclusiveDtype): number {
  return weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * (dtype === 'f16' ? 2 : 4), 0);
}

/**
 * Per-matrix ranks of one expert under a byte budget. The 1-D deltas (f32) and the file header
 * count against it; singular values at float-rounding level (< 1e-6 sigma_0) are never bought.
 */
export function budgetRanks(
  p: Extract<RankPolicy, { kind: 'budget' }>,
  weights: readonly TwinWeight[],
  sigmas: ReadonlyMap<string, Float64Array>,
  dtype: ExclusiveDtype,
): Map<string, number> {
  const twoD = weights.filter((w) => w.shape.length === 2);
  const oneDBytes = weights.filter((w) => w.shape.length === 1).reduce((s, w) => s + w.shape[0]! * 4, 0);
  const sig = (n: string): Float64Array => {
    const v = sigmas.get(n) ?? new Float64Array(0);
    const cut = (v[0] ?? 0) * 1e-6;
    return v.filter((x) => x > cut);
  };
  const alloc = allocateRanksByBudget(
    twoD.map((w) => ({ name: w.name, rows: w.shape[0]!, cols: w.shape[1]!, singularValues: sig(w.name) })),
    {
      budgetBytes: Math.max(0, p.share * fullExpertBytes(weights, dtype) - oneDBytes - expertHeaderEstimate(weights)),
      bytesPerElement: dtype === 'f16' ? 2 : 4,
      ...(p.objective ? { objective: p.objective } : {}),
    },
  );
  return new Map(twoD.map((w) => [w.name, alloc.ranks.get(w.name) ?? 0]));
}
