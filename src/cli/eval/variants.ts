// The models `twinmerge eval` compares, built in process with the core functions (the same steps as
// `twinmerge pack`, src/cli/pack/pack.ts): a shared model theta_s = theta_0 + merge(tau) stored at
// the shared dtype (and read back), exclusive modules E_t = theta_t - theta_s factored by SVD at a
// rank policy, stored at the exclusive dtype (and read back), and the per-input composition
// W = W_s + sum_t w_t B_t A_t. Everything is held in memory: meant for zoo-sized models.

import { allocateRanksByBudget, truncatedSvd } from '../../core/linalg/index.ts';
import { composeTensorCpu, type ExclusiveEntry, type ExclusiveModule, type Merger } from '../../core/merge/index.ts';
import { dequantizeF16, dequantizeInt8Rows, quantizeF16, quantizeInt8Rows } from '../../core/quant/index.ts';
import { planSafetensors, type TensorSpec } from '../../core/safetensors/index.ts';
import type { WeightInfo } from '../../model/llama.ts';

/** HF-layout float32 tensors by name. */
export type Weights = Map<string, Float32Array>;
export type SharedDtype = 'f32' | 'f16' | 'int8';
export type ExclusiveDtype = 'f32' | 'f16';

export type RankPolicy = { kind: 'fixed'; rank: number } | { kind: 'budget'; share: number; objective: 'absolute' | 'relative' };

export function policyId(p: RankPolicy): string {
  return p.kind === 'fixed' ? `r${p.rank}` : `budget${Math.round(p.share * 1000) / 10}%${p.objective === 'relative' ? '-rel' : ''}`;
}

export function policyLabel(p: RankPolicy): string {
  return p.kind === 'fixed' ? `r = ${p.rank}` : `budget ${Math.round(p.share * 1000) / 10}% (${p.objective})`;
}

const numelOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Bytes of the shared model as pack stores it (1-D tensors always f32; int8 adds one f32 scale per row). */
export function sharedBytes(weights: readonly WeightInfo[], dtype: SharedDtype): number {
  let b = 0;
  for (const w of weights) {
    const n = numelOf(w.shape);
    if (w.shape.length === 1 || dtype === 'f32') b += 4 * n;
    else if (dtype === 'f16') b += 2 * n;
    else b += n + 4 * w.shape[0]!;
  }
  return b;
}

/** One full expert's bytes at the exclusive dtype: the denominator of "share of a full expert" (as pack reports it). */
export function fullExpertBytes(weights: readonly WeightInfo[], dtype: ExclusiveDtype): number {
  return weights.reduce((s, w) => s + numelOf(w.shape) * (dtype === 'f16' ? 2 : 4), 0);
}

/** What the app reads back from a shared tensor stored at `dtype`. */
export function storeShared(w: WeightInfo, data: Float32Array, dtype: SharedDtype): Float32Array {
  if (w.shape.length === 1 || dtype === 'f32') return data;
  if (dtype === 'f16') return dequantizeF16(quantizeF16(data, w.name));
  return dequantizeInt8Rows(quantizeInt8Rows(data, w.shape, w.name));
}

/** theta_s = theta_0 + merge(theta_t - theta_0), tensor by tensor, as stored at `dtype` and read back. */
export function buildShared(weights: readonly WeightInfo[], base: Weights, experts: readonly Weights[], merger: Merger, dtype: SharedDtype): Weights {
  const out: Weights = new Map();
  for (const w of weights) {
    const theta0 = base.get(w.name)!;
    const taus = experts.map((e) => {
      const th = e.get(w.name)!;
      const d = new Float32Array(th.length);
      for (let i = 0; i < d.length; i++) d[i] = th[i]! - theta0[i]!;
      return d;
    });
    const merged = merger.merge(taus, { name: w.name, shape: w.shape });
    const s = new Float32Array(theta0.length);
    for (let i = 0; i < s.length; i++) s[i] = theta0[i]! + merged[i]!;
    out.set(w.name, storeShared(w, s, dtype));
  }
  return out;
}

interface FullFactor {
  rows: number;
  cols: number;
  rank: number;
  A: Float32Array;
  B: Float32Array;
  sigma: Float64Array;
}

/** One expert's E = theta_t - theta_s: every 2-D weight's SVD up to `maxRank`, 1-D deltas exact. */
export interface ExpertFactors {
  readonly factors: Map<string, FullFactor>;
  readonly deltas: Map<string, Float32Array>;
}

export function factorExpert(weights: readonly WeightInfo[], shared: Weights, expert: Weights, opts: { seed?: number; maxRank?: number } = {}): ExpertFactors {
  const factors = new Map<string, FullFactor>();
  const deltas = new Map<string, Float32Array>();
  for (const w of weights) {
    const s = shared.get(w.name)!;
    const th = expert.get(w.name)!;
    const E = new Float32Array(s.length);
    for (let i = 0; i < E.length; i++) E[i] = th[i]! - s[i]!;
    if (w.shape.length === 1) {
      deltas.set(w.name, E);
      continue;
    }
    const [rows, cols] = w.shape as [number, number];
    const r = Math.min(rows, cols, opts.maxRank ?? Infinity);
    const f = truncatedSvd(E, rows, cols, r, { seed: opts.seed ?? 0 });
    factors.set(w.name, { rows, cols, rank: f.rank, A: f.A, B: f.B, sigma: f.singularValues });
  }
  return { factors, deltas };
}

/** Per-matrix ranks of one expert under a policy (the budget as pack allocates it). */
export function allocateRanks(weights: readonly WeightInfo[], f: ExpertFactors, policy: RankPolicy, dtype: ExclusiveDtype): Map<string, number> {
  const ranks = new Map<string, number>();
  if (policy.kind === 'fixed') {
    for (const [name, x] of f.factors) ranks.set(name, Math.min(policy.rank, x.rank));
    return ranks;
  }
  const bpe = dtype === 'f16' ? 2 : 4;
  const oneD = weights.filter((w) => w.shape.length === 1).reduce((s, w) => s + 4 * w.shape[0]!, 0);
  const alloc = allocateRanksByBudget(
    [...f.factors].map(([name, x]) => ({ name, rows: x.rows, cols: x.cols, singularValues: x.sigma })),
    { budgetBytes: Math.max(0, policy.share * fullExpertBytes(weights, dtype) - oneD), bytesPerElement: bpe, objective: policy.objective },
  );
  for (const name of f.factors.keys()) ranks.set(name, alloc.ranks.get(name) ?? 0);
  return ranks;
}

const roundF16 = (x: Float32Array): Float32Array => dequantizeF16(quantizeF16(x));

export interface BuiltModule {
  module: ExclusiveModule;
  /** The expert file's bytes (safetensors header + data), as pack would write it. */
  bytes: number;
  maxRank: number;
  meanRank: number;
}

/** An expert's exclusive module at `ranks`, as stored at `dtype` and read back. Rank-0 matrices are left out (as pack does). */
export function exclusiveModule(id: string, f: ExpertFactors, ranks: ReadonlyMap<string, number>, dtype: ExclusiveDtype): BuiltModule {
  const module = new Map<string, ExclusiveEntry>();
  const specs: TensorSpec[] = [];
  const fileDtype = dtype === 'f16' ? 'F16' : 'F32';
  let maxRank = 0;
  let rankSum = 0;
  for (const [name, x] of f.factors) {
    const r = Math.min(ranks.get(name) ?? 0, x.rank);
    rankSum += r;
    if (r === 0) continue;
    maxRank = Math.max(maxRank, r);
    let B: Float32Array = new Float32Array(x.rows * r);
    for (let i = 0; i < x.rows; i++) for (let k = 0; k < r; k++) B[i * r + k] = x.B[i * x.rank + k]!;
    let A: Float32Array = x.A.slice(0, r * x.cols);
    if (dtype === 'f16') {
      A = roundF16(A);
      B = roundF16(B);
    }
    module.set(name, { kind: 'lowrank', name, rows: x.rows, cols: x.cols, rank: r, A, B });
    specs.push({ name: `${name}.A`, dtype: fileDtype, shape: [r, x.cols] }, { name: `${name}.B`, dtype: fileDtype, shape: [x.rows, r] });
  }
  for (const [name, d] of f.deltas) {
    module.set(name, { kind: 'delta', name, shape: [d.length], delta: d });
    specs.push({ name: `${name}.delta`, dtype: 'F32', shape: [d.length] });
  }
  const bytes = planSafetensors(specs, { format: 'twinmerge-expert', id }).totalSize;
  return { module, bytes, maxRank, meanRank: f.factors.size ? rankSum / f.factors.size : 0 };
}

/** W = W_s + sum_t w_t * entry_t for every weight (the CPU composer of src/core/merge). */
export function composeWeights(weights: readonly WeightInfo[], shared: Weights, modules: readonly ExclusiveModule[], routing: readonly number[]): Weights {
  const out: Weights = new Map();
  for (const w of weights) {
    const s = shared.get(w.name)!;
    const entries = modules.map((m) => m.get(w.name));
    out.set(w.name, entries.some((e, t) => e && routing[t] !== 0) ? composeTensorCpu(w.name, w.shape, s, entries, routing) : s);
  }
  return out;
}

