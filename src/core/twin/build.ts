// The Twin-Merging build, written once: `twinmerge pack` streams it into a bundle, `twinmerge eval`
// scores what it returns, so eval measures exactly what pack ships. Tensor by tensor:
//   tau_t = theta_t - theta_0 → merge → theta_s, stored at the shared dtype and read back (shared.ts)
//   E_t = theta_t - dequant(theta_s) → SVD at the policy's rank (2-D) or exact delta (1-D)
//   D = dequant(theta_s) - theta_0 in low rank (adapters trained on the base join through it)
// then per expert: final ranks (budget policies need every matrix's sigma first), the expert file's
// tensors at the exclusive dtype, and the module exactly as the app reads it back.
// Experts are read one at a time, again for each pass: memory does not grow with their number
// beyond the kept factors.
import { f32ToF16Array } from '../dtype/index.ts';
import { rankForEnergy, singularValues, truncatedSvd } from '../linalg/index.ts';
import type { Merger } from '../merge/index.ts';
import { dequantizeF16, quantizeF16 } from '../quant/index.ts';
import { planSafetensors, type TensorInput } from '../safetensors/index.ts';
import { tensorDelta, type ExclusiveEntry, type ExclusiveModule } from './module.ts';
import { budgetRanks, svdRankFor, type RankPolicy } from './rankPolicy.ts';
import { dequantShared, storeShared, type ExclusiveDtype, type SharedDtype, type StoredShared, type TwinWeight } from './shared.ts';

export interface TwinSource {
  readonly weights: readonly TwinWeight[];
  /** Expert ids, in order (they name the expert files). */
  readonly expertIds: readonly string[];
  readBase(name: string): Promise<Float32Array>;
  /** Expert t's tensor, a fresh array on every call (the build writes into it). */
  readExpert(t: number, name: string): Promise<Float32Array>;
}

export interface TwinSettings {
  readonly merger: Merger;
  readonly sharedDtype: SharedDtype;
  readonly exclusiveDtype: ExclusiveDtype;
  /** null: the shared model only (a static merge). */
  readonly policy: RankPolicy | null;
  readonly svdSeed: number;
  /** Build D = theta_s - theta_0 in low rank: the smallest rank keeping `energy`, at most `maxRank`. */
  readonly baseDelta?: { readonly energy: number; readonly maxRank: number };
}

export interface TwinHooks {
  /** Each shared tensor as stored, in weight order (pack streams them into shared.safetensors). */
  onShared?(w: TwinWeight, stored: StoredShared): Promise<void> | void;
  /** After each weight (progress). */
  onWeight?(w: TwinWeight): void;
}

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

export interface TwinBuild {
  /** theta_s as every consumer computes with it (dequantized), checkpoint layout. */
  readonly shared: Map<string, Float32Array>;
  readonly experts: BuiltExpert[];
  readonly baseDelta?: { readonly tensors: TensorInput[]; readonly metadata: Record<string, string>; readonly maxRank: number; readonly relativeError: number };
}

/** A 2-D residual's SVD (B [rows, rank], A [rank, cols]) before the final rank is known, or a 1-D delta. */
type Factored = { kind: 'lowrank'; rows: number; cols: number; rank: number; A: Float32Array; B: Float32Array; sigma: Float64Array } | { kind: 'delta'; delta: Float32Array };

/** The first r components of a factorization (B is [rows, rank] row-major). */
function truncateFactors(f: { rows: number; cols: number; rank: number; A: Float32Array; B: Float32Array }, r: number): { A: Float32Array; B: Float32Array } {
  if (r >= f.rank) return { A: f.A, B: f.B };
  const B = new Float32Array(f.rows * r);
  for (let i = 0; i < f.rows; i++) for (let k = 0; k < r; k++) B[i * r + k] = f.B[i * f.rank + k]!;
  return { A: f.A.slice(0, r * f.cols), B };
}

/** E [rows, cols] factored at the policy's SVD rank (fixed: final; budget: cut per expert later); energy cuts it to its rank. */
function factorResidual(E: Float32Array, rows: number, cols: number, policy: RankPolicy, seed: number): Factored {
  const svd = truncatedSvd(E, rows, cols, svdRankFor(policy, rows, cols), { seed });
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
function finishExpert(id: string, weights: readonly TwinWeight[], factored: ReadonlyMap<string, Factored>, ranks: ReadonlyMap<string, number>, dtype: ExclusiveDtype): BuiltExpert {
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

/** Runs the build over every weight of `src`. */
export async function buildTwin(src: TwinSource, settings: TwinSettings, hooks: TwinHooks = {}): Promise<TwinBuild> {
  const { merger, policy, svdSeed: seed } = settings;
  const T = src.expertIds.length;
  const shared = new Map<string, Float32Array>();
  const factored = src.expertIds.map(() => new Map<string, Factored>());
  const dTensors: TensorInput[] = [];
  let dErrNum = 0;
  let dErrDen = 0;
  let dMaxRank = 0;
  for (const w of src.weights) {
    const theta0 = await src.readBase(w.name);
    const merged = await merger.mergeStreamed(
      T,
      async (t) => {
        const theta = await src.readExpert(t, w.name);
        for (let i = 0; i < theta.length; i++) theta[i] = theta[i]! - theta0[i]!;
        return theta;
      },
      { name: w.name, shape: w.shape },
    );
    for (let i = 0; i < merged.length; i++) merged[i] = theta0[i]! + merged[i]!;
    const stored = storeShared(w, merged, settings.sharedDtype);
    await hooks.onShared?.(w, stored);
    const deq = dequantShared(w, stored);
    shared.set(w.name, deq);
    if (policy) {
      for (let t = 0; t < T; t++) {
        // E_t = theta_t - dequant(theta_s), in place in the freshly read theta_t.
        const E = await src.readExpert(t, w.name);
        for (let i = 0; i < E.length; i++) E[i] = E[i]! - deq[i]!;
        factored[t]!.set(w.name, w.shape.length === 1 ? { kind: 'delta', delta: E } : factorResidual(E, w.shape[0]!, w.shape[1]!, policy, seed));
      }
    }
    if (settings.baseDelta) {
      const D = tensorDelta(w.name, theta0, deq);
      if (w.shape.length === 1) dTensors.push({ name: `${w.name}.delta`, dtype: 'F32', shape: w.shape, data: D });
      else {
        const [rows, cols] = w.shape as [number, number];
        const sig = singularValues(D, rows, cols);
        const total = sig.reduce((s, v) => s + v * v, 0);
        const r = total > 0 ? Math.min(settings.baseDelta.maxRank, Math.max(1, rankForEnergy(sig, settings.baseDelta.energy))) : 0;
        if (r > 0) {
          const f = truncatedSvd(D, rows, cols, r, { seed });
          dTensors.push({ name: `${w.name}.A`, dtype: 'F32', shape: [f.rank, cols], data: f.A }, { name: `${w.name}.B`, dtype: 'F32', shape: [rows, f.rank], data: f.B });
          let kept = 0;
          for (let k = 0; k < f.rank; k++) kept += f.singularValues[k]! ** 2;
          dErrNum += Math.max(0, total - kept);
          dMaxRank = Math.max(dMaxRank, f.rank);
        }
        dErrDen += total;
      }
    }
    hooks.onWeight?.(w);
  }
  const experts = policy
    ? factored.map((fs, t) => {
        const sigmas = new Map<string, Float64Array>();
        const ranks = new Map<string, number>();
        for (const [name, f] of fs) if (f.kind === 'lowrank') (sigmas.set(name, f.sigma), ranks.set(name, f.rank));
        const final = policy.kind === 'budget' ? budgetRanks(policy, src.weights, sigmas, settings.exclusiveDtype) : ranks;
        return finishExpert(src.expertIds[t]!, src.weights, fs, final, settings.exclusiveDtype);
      })
    : [];
  return {
    shared,
    experts,
    ...(settings.baseDelta ? { baseDelta: { tensors: dTensors, metadata: { format: 'twinmerge-base-delta' }, maxRank: dMaxRank, relativeError: dErrDen > 0 ? Math.sqrt(dErrNum / dErrDen) : 0 } } : {}),
  };
}
