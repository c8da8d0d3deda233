// A fine-tuned checkpoint that was not in the merge joins a built bundle as one more expert: its
// residual E = theta - dequant(theta_s) against the bundle's stored shared weights, factored exactly
// as pack factors its own experts (factor.ts, same policy and SVD seed). The app runs this on a
// checkpoint dropped into the page (in the worker); `twinmerge extract` runs it in Node. Tensor by
// tensor: one checkpoint tensor and one shared tensor are held at a time, besides the kept factors.
import type { Manifest } from '../bundle/manifest.ts';
import type { MatrixProducts } from '../linalg/index.ts';
import { factorResidual, finalRanks, finishExpert, type BuiltExpert, type Factored } from './factor.ts';
import { policyFromConfig, type RankPolicy } from './rankPolicy.ts';
import type { ExclusiveDtype, TwinWeight } from './shared.ts';

export interface ExtractSettings {
  readonly policy: RankPolicy;
  readonly svdSeed: number;
  readonly exclusiveDtype: ExclusiveDtype;
  /** An engine for the randomized SVD's products (`twinmerge extract`: onnxruntime); float64 loops without. */
  readonly products?: MatrixProducts;
}

/**
 * How the bundle's own experts were factored (manifest `exclusive`, written by pack). Bundles from
 * before that field: pack's defaults then, a fixed rank at the largest expert rank, f16, seed 0.
 */
export function extractSettings(m: Manifest): ExtractSettings {
  if (m.exclusive) return { policy: policyFromConfig(m.exclusive.rank), svdSeed: m.exclusive.svdSeed, exclusiveDtype: m.exclusive.dtype };
  return { policy: { kind: 'fixed', rank: Math.max(1, ...m.experts.map((e) => e.rank)) }, svdSeed: 0, exclusiveDtype: 'f16' };
}

export interface ExtractSource {
  /** The bundle's weights, in order (checkpoint names and shapes). */
  readonly weights: readonly TwinWeight[];
  /** dequant(theta_s) of one weight, checkpoint layout (not written into). */
  readShared(name: string): Promise<Float32Array>;
  /** The checkpoint's tensor, checkpoint layout, a fresh array (the extraction writes into it). */
  readExpert(name: string): Promise<Float32Array>;
}

export interface ExtractHooks {
  /** After each weight: how many are done, of how many, and which. */
  onWeight?(done: number, total: number, w: TwinWeight): void;
  /** Checked between weights: an abort stops the extraction with the signal's reason. */
  signal?: AbortSignal;
}

/** The checkpoint cannot become an expert: which tensor, and why. */
export class ExtractError extends Error {
  override readonly name = 'ExtractError';
  constructor(
    readonly tensor: string,
    readonly reason: 'non_finite' | 'shape',
    message: string,
  ) {
    super(message);
  }
}

function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i]!)) return i;
  return -1;
}

/** The exclusive module of one checkpoint against the bundle's shared weights. */
export async function extractExpert(id: string, src: ExtractSource, settings: ExtractSettings, hooks: ExtractHooks = {}): Promise<BuiltExpert> {
  const factored = new Map<string, Factored>();
  const total = src.weights.length;
  for (const [i, w] of src.weights.entries()) {
    hooks.signal?.throwIfAborted();
    const numel = w.shape.reduce((a, b) => a * b, 1);
    const E = await src.readExpert(w.name);
    if (E.length !== numel) throw new ExtractError(w.name, 'shape', `${w.name} has ${E.length} values; the model's [${w.shape.join(', ')}] needs ${numel}`);
    const bad = firstNonFinite(E);
    if (bad >= 0) throw new ExtractError(w.name, 'non_finite', `${w.name} holds ${E[bad]} at index ${bad}`);
    const shared = await src.readShared(w.name);
    for (let k = 0; k < numel; k++) E[k] = E[k]! - shared[k]!;
    factored.set(w.name, w.shape.length === 1 ? { kind: 'delta', delta: E } : await factorResidual(E, w.shape[0]!, w.shape[1]!, settings.policy, settings.svdSeed, settings.products));
    hooks.onWeight?.(i + 1, total, w);
  }
  return finishExpert(id, src.weights, factored, finalRanks(settings.policy, src.weights, factored, settings.exclusiveDtype), settings.exclusiveDtype);
}
