// The Twin-Merging build, written once: `twinmerge pack` streams it into a bundle, `twinmerge eval`
// scores what it returns, so eval measures exactly what pack ships. Tensor by tensor:
//   tau_t = theta_t - theta_0 → merge → theta_s, stored at the shared dtype and read back (shared.ts)
//   E_t = theta_t - dequant(theta_s) → SVD at the policy's rank (2-D) or exact delta (1-D)
//   D = dequant(theta_s) - theta_0 in low rank, or dense where the factors would not be smaller
//   (adapters trained on the base join through it)
// then per expert: final ranks (budget policies need every matrix's sigma first), the expert file's
// tensors at the exclusive dtype, and the module exactly as the app reads it back.
// Experts are read one at a time, again for each pass: memory does not grow with their number
// beyond the kept factors.
import { f32ToF16Array } from '../dtype/index.ts';
import { rankForEnergy, truncatedSvdAsync, type MatrixProducts } from '../linalg/index.ts';
import { dequantizeF16, quantizeF16 } from '../quant/index.ts';
import type { Merger } from '../merge/index.ts';
import type { TensorInput } from '../safetensors/index.ts';
import { factorResidual, finalRanks, finishExpert, truncateFactors, type BuiltExpert, type Factored } from './factor.ts';
import type { RankPolicy } from './rankPolicy.ts';
import { dequantShared, storeShared, type ExclusiveDtype, type SharedDtype, type StoredShared, type TwinWeight } from './shared.ts';

export type { BuiltExpert };

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
  /** An engine for the randomized SVD's big products (pack: onnxruntime's MatMul); float64 loops without. */
  readonly products?: MatrixProducts;
  /**
   * Build D = theta_s - theta_0: per matrix the smallest rank keeping `energy`, at most `maxRank`,
   * stored dense instead where those factors would hold as many numbers as the matrix; at `dtype`
   * (f32 when absent). 1-D weights are kept exactly, in f32.
   */
  readonly baseDelta?: { readonly energy: number; readonly maxRank: number; readonly dtype?: ExclusiveDtype };
  /**
   * Keep every dequantized shared tensor in the result (default true). Pack keeps the stored form
   * itself (onShared: half the bytes at f16) and dequantizes on use, so the whole model is not held in
   * float32 next to the experts' factors.
   */
  readonly keepShared?: boolean;
}

export interface TwinHooks {
  /** Each shared tensor as stored, in weight order (pack streams them into shared.safetensors). */
  onShared?(w: TwinWeight, stored: StoredShared): Promise<void> | void;
  /** After each weight (progress). */
  onWeight?(w: TwinWeight): void;
}


export interface TwinBuild {
  /** theta_s as every consumer computes with it (dequantized), checkpoint layout; empty with keepShared false. */
  readonly shared: Map<string, Float32Array>;
  readonly experts: BuiltExpert[];
  readonly baseDelta?: { readonly tensors: TensorInput[]; readonly metadata: Record<string, string>; readonly maxRank: number; readonly relativeError: number };
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
  /** theta_s of one weight as stored (merged = theta_0 + merge(tau); the float32 merge is dropped on return). */
  const mergeWeight = async (w: TwinWeight, theta0: Float32Array): Promise<StoredShared> => {
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
    return storeShared(w, merged, settings.sharedDtype);
  };
  for (const w of src.weights) {
    // At most a few float32 copies of one weight are alive at a time (a [151936, 896] embedding is
    // 545 MB each): theta_0 becomes D in place, and D is factored before the experts' residuals.
    const theta0 = await src.readBase(w.name);
    const stored = await mergeWeight(w, theta0);
    await hooks.onShared?.(w, stored);
    const deq = dequantShared(w, stored);
    if (settings.keepShared ?? true) shared.set(w.name, deq);
    if (settings.baseDelta) {
      const { energy, maxRank, dtype = 'f32' } = settings.baseDelta;
      const fileDtype = dtype === 'f16' ? 'F16' : 'F32';
      const storedD = (x: Float32Array): Float32Array | Uint16Array => (dtype === 'f16' ? f32ToF16Array(x) : x);
      const D = theta0;
      for (let i = 0; i < D.length; i++) D[i] = deq[i]! - D[i]!;
      if (w.shape.length === 1) dTensors.push({ name: `${w.name}.delta`, dtype: 'F32', shape: w.shape, data: D });
      else {
        const [rows, cols] = w.shape as [number, number];
        const total = D.reduce((s, v) => s + v * v, 0);
        // Factors of rank r hold r (rows + cols) numbers: from `denseAt` on, the dense matrix is no larger and exact.
        const denseAt = Math.ceil((rows * cols) / (rows + cols));
        const f = total > 0 ? await truncatedSvdAsync(D, rows, cols, Math.min(maxRank, denseAt - 1), { seed }, settings.products) : undefined;
        let r = f ? Math.max(1, rankForEnergy(f.singularValues, energy, total)) : 0;
        let kept = 0;
        for (let k = 0; k < r; k++) kept += f!.singularValues[k]! ** 2;
        if (f && r === f.rank && kept < energy * total * (1 - 1e-12) && maxRank >= denseAt) r = denseAt;
        if (f && r >= denseAt) {
          dTensors.push({ name: `${w.name}.delta`, dtype: fileDtype, shape: w.shape, data: storedD(D) });
          if (dtype === 'f16') {
            const back = dequantizeF16(quantizeF16(D));
            for (let i = 0; i < D.length; i++) dErrNum += (D[i]! - back[i]!) ** 2;
          }
          dMaxRank = Math.max(dMaxRank, Math.min(rows, cols));
        } else if (f && r > 0) {
          const { A, B } = truncateFactors(f, r);
          dTensors.push({ name: `${w.name}.A`, dtype: fileDtype, shape: [r, cols], data: storedD(A) }, { name: `${w.name}.B`, dtype: fileDtype, shape: [rows, r], data: storedD(B) });
          dErrNum += Math.max(0, total - kept);
          dMaxRank = Math.max(dMaxRank, r);
        }
        dErrDen += total;
      }
    }
    if (policy) {
      for (let t = 0; t < T; t++) {
        // E_t = theta_t - dequant(theta_s), in place in the freshly read theta_t.
        const E = await src.readExpert(t, w.name);
        for (let i = 0; i < E.length; i++) E[i] = E[i]! - deq[i]!;
        factored[t]!.set(w.name, w.shape.length === 1 ? { kind: 'delta', delta: E } : await factorResidual(E, w.shape[0]!, w.shape[1]!, policy, seed, settings.products));
      }
    }
    hooks.onWeight?.(w);
  }
  const experts = policy
    ? factored.map((fs, t) => {
        return finishExpert(src.expertIds[t]!, src.weights, fs, finalRanks(policy, src.weights, fs, settings.exclusiveDtype), settings.exclusiveDtype);
      })
    : [];
  return {
    shared,
    experts,
    ...(settings.baseDelta ? { baseDelta: { tensors: dTensors, metadata: { format: 'twinmerge-base-delta' }, maxRank: dMaxRank, relativeError: dErrDen > 0 ? Math.sqrt(dErrNum / dErrDen) : 0 } } : {}),
  };
}
