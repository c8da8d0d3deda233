// What composers take in and the interface they share. Inputs follow the checkpoint (HF layout: a
// weight is [out, in]) and src/core/twin's types; each composer owns its output layout (the graph's:
// [in, out] for MatMul weights, what ORT wants).
import type { ExclusiveModule, StoredShared } from '../../core/twin/index.ts';
import type { WeightInfo } from '../../model/llama.ts';
import type { DecoderIO } from '../../model/onnx/decoder.ts';
import type { OrtModule, OrtTensor } from '../ort.ts';

export type SharedWeight =
  | { dtype: 'f32'; data: Float32Array }
  /** Raw IEEE half bits. */
  | { dtype: 'f16'; data: Uint16Array }
  /** Symmetric int8 with one scale per output row: w = q * scale[row]. */
  | { dtype: 'int8'; data: Int8Array; scale: Float32Array };

export interface ComposerWeight {
  name: string;
  outDim: number;
  inDim: number;
  shared: SharedWeight;
}

/** One expert's low-rank delta for one weight in the composer's device layout: ΔW = B·A, B [out, r], A [r, in], row-major. */
export interface LowRankFactor {
  rank: number;
  a: Float32Array;
  b: Float32Array;
}

/** An expert as composers take it: the one module type of src/core/twin (checkpoint orientation). */
export interface ComposerExpert {
  readonly id: string;
  readonly module: ExclusiveModule;
}

/** Bytes a composer holds, by purpose, and how many GPU buffers (0 on the CPU). */
export type ComposerMemory = { shared: number; experts: number; composed: number; scratch: number; buffers: number };

/**
 * Composes W = dequant(W_shared) + Σ_t w_t·E_t for every mergeable weight into outputs in the
 * graph's layout, which the ORT session reads as weight inputs. Two implementations: GpuComposer
 * (WGSL, GPU buffers fed in place) and CpuComposer (TypeScript, CPU tensors for WASM / Node).
 */
export interface Composer {
  /** Adds one weight's shared part (as stored in the bundle) and allocates its composed output. */
  addWeight(w: WeightInfo, shared: StoredShared): void;
  /** Replaces the set of experts; validated against every weight first, nothing changes on error. */
  setExperts(experts: readonly ComposerExpert[]): void;
  readonly expertIds: string[];
  /**
   * Composes for these routing weights; false (and nothing done) when that routing is already
   * composed. When few experts' weights moved it updates the outputs in place (composePlan.ts).
   */
  compose(routing: RoutingWeights, options?: ComposeOptions): Promise<boolean>;
  /** Whether the last compose() composed from scratch or updated in place. */
  readonly lastPlan: 'full' | 'delta' | undefined;
  /** Replaces one composed weight (graph layout) until the next compose: e.g. an expert's own full weights. */
  overwrite(name: string, graphLayout: Float32Array): void;
  /** Graph feeds wrapping the composed outputs (compose updates them in place). */
  feeds(ort: OrtModule, io: DecoderIO): Record<string, OrtTensor>;
  /** The composed weight in graph layout, read back (tests, checks). */
  readOutput(name: string): Promise<Float32Array>;
  memory(): ComposerMemory;
  /** An empty composer of the same kind and settings (e.g. the router's shared-only copy). */
  sibling(): Composer;
  destroy(): void;
}

export type RoutingWeights = ReadonlyMap<string, number>;

export interface ComposeOptions {
  /** Experts whose |weight| is below this add nothing and are skipped. */
  skipBelow?: number;
}

export class ComposerError extends Error {
  constructor(
    readonly code: 'SHAPE_MISMATCH' | 'UNKNOWN_WEIGHT' | 'DUPLICATE' | 'BUFFER_TOO_LARGE' | 'DESTROYED',
    message: string,
  ) {
    super(message);
    this.name = 'ComposerError';
  }
}

export function checkWeight(w: ComposerWeight): void {
  const n = w.outDim * w.inDim;
  if (!Number.isSafeInteger(n) || w.outDim <= 0 || w.inDim <= 0) throw new ComposerError('SHAPE_MISMATCH', `${w.name}: bad shape [${w.outDim}, ${w.inDim}]`);
  if (w.shared.data.length !== n) throw new ComposerError('SHAPE_MISMATCH', `${w.name}: shared data has ${w.shared.data.length} values, expected ${w.outDim}×${w.inDim} = ${n}`);
  if (w.shared.dtype === 'int8' && w.shared.scale.length !== w.outDim) throw new ComposerError('SHAPE_MISMATCH', `${w.name}: int8 scale has ${w.shared.scale.length} rows, expected ${w.outDim}`);
}

export function checkFactor(expertId: string, w: ComposerWeight, f: LowRankFactor): void {
  if (!Number.isInteger(f.rank) || f.rank <= 0 || f.a.length !== f.rank * w.inDim || f.b.length !== w.outDim * f.rank) {
    throw new ComposerError(
      'SHAPE_MISMATCH',
      `expert "${expertId}", ${w.name}: factors A ${f.a.length} values / B ${f.b.length} values do not fit rank ${f.rank} and [${w.outDim}, ${w.inDim}] (A must be [${f.rank}, ${w.inDim}], B [${w.outDim}, ${f.rank}])`,
    );
  }
}

/** The experts that take part, with their weights; the key is stable, so an unchanged routing is detected. */
export function activeExperts(routing: RoutingWeights, known: readonly string[], skipBelow: number): { active: Map<string, number>; key: string } {
  const active = new Map<string, number>();
  for (const id of known) {
    const w = routing.get(id) ?? 0;
    if (Math.abs(w) >= skipBelow && w !== 0) active.set(id, w);
  }
  const key = [...active].map(([id, w]) => `${id}:${w}`).join('|');
  return { active, key };
}

/** Checks a set of experts against the model's weights before anything changes: unique ids, known weights, matching shapes. */
export function validateExperts(experts: readonly ComposerExpert[], weightOf: (name: string) => WeightInfo | undefined): void {
  const ids = new Set<string>();
  for (const e of experts) {
    if (ids.has(e.id)) throw new ComposerError('DUPLICATE', `expert "${e.id}" is listed twice`);
    ids.add(e.id);
    for (const [name, entry] of e.module) {
      const w = weightOf(name);
      if (!w) throw new ComposerError('UNKNOWN_WEIGHT', `expert "${e.id}" has a factor for ${name}, which is not a mergeable weight of this model`);
      const ok =
        entry.kind === 'delta'
          ? entry.shape.length === w.shape.length && entry.shape.every((d, i) => d === w.shape[i]) && entry.delta.length === entry.shape.reduce((a, b) => a * b, 1)
          : w.shape.length === 2 && entry.rows === w.shape[0] && entry.cols === w.shape[1] && Number.isInteger(entry.rank) && entry.rank > 0 && entry.A.length === entry.rank * entry.cols && entry.B.length === entry.rows * entry.rank;
      if (!ok) {
        const got = entry.kind === 'delta' ? `delta [${entry.shape}]` : `factors A ${entry.A.length} values / B ${entry.B.length} values at rank ${entry.rank} for [${entry.rows}, ${entry.cols}]`;
        throw new ComposerError('SHAPE_MISMATCH', `expert "${e.id}", ${name}: ${got} do not fit the weight's [${w.shape}]`);
      }
    }
  }
}
