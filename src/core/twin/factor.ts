// One expert's exclusive module from its residuals E_t = theta_t - dequant(theta_s): each 2-D E
// factored by SVD at the rank policy (1-D weights kept exactly), then the final ranks (a budget
// needs every matrix's sigma first), the expert file's tensors at the exclusive dtype and the module
// as the app reads it back. buildTwin (pack, eval) and extractExpert (a checkpoint dropped into the
// app, `twinmerge extract`) both go through here, so their modules agree.
import { f32ToF16Array } from '../dtype/index.ts';
import { rankForEnergy, singularValues, truncatedSvdAsync, type MatrixProducts } from '../linalg/index.ts';
import { dequantizeF16, quantizeF16 } from '../quant/index.ts';
import { planSafetensors, type TensorInput } from '../safetensors/index.ts';
import type { ExclusiveEntry, ExclusiveModule } from './module.ts';
import { budgetRanks, svdRankFor, type RankPolicy } from './rankPolicy.ts';
import type { ExclusiveDtype, TwinWeight } from './shared.ts';

export interface BuiltExpert {
  readonly id: string;
  /** experts/<id>.safetensors: tensors in weight order, and its metadata. */
  readonly tensors: TensorInput[];
  readonly metadata: Record<string, string>;
  /** The file's size in bytes. */
  readonly bytes: number;
  /** The module as the app reads it back from the file (factors rounded to the exclusive dtype). */
  readonly module: ExclusiveModule;
  readonly maxRank: number;
  /** Mean rank over the 2-D weights (rank-0 matrices included). */
  readonly meanRank: number;
}

/** A 2-D residual's SVD (B [rows, rank], A [rank, cols]) before the final rank is known, or a 1-D delta. */
export type Factored = { kind: 'lowrank'; rows: number; cols: number; rank: number; A: Float32Array; B: Float32Array; sigma: Float64Array } | { kind: 'delta'; delta: Float32Array };

/** The first r components of a factorization (B is [rows, rank] row-major). */
export function truncateFactors(f: { rows: number; cols: number; rank: number; A: Float32Array; B: Float32Array }, r: number): { A: Float32Array; B: Float32Array } {
  if (r >= f.rank) return { A: f.A, B: f.B };
  const B = new Float32Array(f.rows * r);
  for (let i = 0; i < f.rows; i++) for (let k = 0; k < r; k++) B[i * r + k] = f.B[i * f.rank + k]!;
  return { A: f.A.slice(0, r * f.cols), B };
}

/**
 * E [rows, cols] factored at the policy's SVD rank (fixed: final; budget: cut per expert later); energy
 * cuts it to its rank. `products`: an engine for the randomized SVD's big products (pack: onnxruntime).
 */
export async function factorResidual(E: Float32Array, rows: number, cols: number, policy: RankPolicy, seed: number, products?: MatrixProducts): Promise<Factored> {
  const svd = await truncatedSvdAsync(E, rows, cols, svdRankFor(policy, rows, cols), { seed }, products);
  let f: Factored = { kind: 'lowrank', rows, cols, rank: svd.rank, A: svd.A, B: svd.B, sigma: svd.singularValues };
  if (policy.kind === 'energy') {
    // The energy share is of ALL of E's sigma^2, not only of the computed prefix.
    const r = Math.min(svd.rank, Math.max(1, rankForEnergy(singularValues(E, rows, cols), policy.energy)));
    f = { ...f, ...truncateFactors(f, r), rank: r };
  }
  return f;
}

const roundTo = (x: Float32Array, dtype: ExclusiveDtype): Float32Array => (dtype === 'f16' ? dequantizeF16(quantizeF16(x)) : x);

/** One expert's file tensors at `ranks` and the module as read back from them. Rank-0 matrices are left out (no change). */
export function finishExpert(id: string, weights: readonly TwinWeight[], factored: ReadonlyMap<string, Factored>, ranks: ReadonlyMap<string, number>, dtype: ExclusiveDtype): BuiltExpert {
  const tensors: TensorInput[] = [];
  const module = new Map<string, ExclusiveEntry>();
  const fileDtype = dtype === 'f16' ? 'F16' : 'F32';
  let maxRank = 0;
  let rankSum = 0;
  let matrices = 0;
  for (const w of weights) {
    const f = factored.get(w.name)!;
    if (f.kind === 'delta') {
      tensors.push({ name: `${w.name}.delta`, dtype: 'F32', shape: w.shape, data: f.delta });
      module.set(w.name, { kind: 'delta', name: w.name, shape: [...w.shape], delta: f.delta });
      continue;
    }
    matrices++;
    const r = Math.min(ranks.get(w.name) ?? f.rank, f.rank);
    rankSum += r;
    if (r === 0) continue;
    maxRank = Math.max(maxRank, r);
    const { A, B } = truncateFactors(f, r);
    tensors.push(
      { name: `${w.name}.A`, dtype: fileDtype, shape: [r, f.cols], data: dtype === 'f16' ? f32ToF16Array(A) : A },
      { name: `${w.name}.B`, dtype: fileDtype, shape: [f.rows, r], data: dtype === 'f16' ? f32ToF16Array(B) : B },
    );
    module.set(w.name, { kind: 'lowrank', name: w.name, rows: f.rows, cols: f.cols, rank: r, A: roundTo(A, dtype), B: roundTo(B, dtype) });
  }
  const metadata = { format: 'twinmerge-expert', id };
  return { id, tensors, metadata, bytes: planSafetensors(tensors, metadata).totalSize, module, maxRank, meanRank: matrices ? rankSum / matrices : 0 };
}

/** The per-matrix ranks of one expert's factored residuals under the policy (budget: allocated over all of them). */
export function finalRanks(policy: RankPolicy, weights: readonly TwinWeight[], factored: ReadonlyMap<string, Factored>, dtype: ExclusiveDtype): Map<string, number> {
  const sigmas = new Map<string, Float64Array>();
  const ranks = new Map<string, number>();
  for (const [name, f] of factored) if (f.kind === 'lowrank') (sigmas.set(name, f.sigma), ranks.set(name, f.rank));
  return policy.kind === 'budget' ? budgetRanks(policy, weights, sigmas, dtype) : ranks;
}
