// Exclusive modules (Twin-Merging step 2): per expert and weight, E = theta_t - theta_shared;
// 2-D weights are stored as a truncated SVD, factored (B = U sqrt(S), A = sqrt(S) V^T);
// 1-D weights (norm gains, biases) as their exact delta.
// Tensor names in an expert file: "<W>.A" [r, in], "<W>.B" [out, r], "<W>.delta" (docs/bundle-format.md).
import { frobenius2, truncatedSvd, type SvdOptions } from '../linalg/svd.ts';
import { numel, shapeString, type F32Tensor } from '../tensor/tensor.ts';

export interface LowRankEntry {
  readonly kind: 'lowrank';
  /** The weight's name W (the file holds W.A and W.B). */
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  readonly rank: number;
  /** [rank, cols] row-major. */
  readonly A: Float32Array;
  /** [rows, rank] row-major. */
  readonly B: Float32Array;
}

export interface DeltaEntry {
  readonly kind: 'delta';
  readonly name: string;
  readonly shape: readonly number[];
  readonly delta: Float32Array;
}

export type ExclusiveEntry = LowRankEntry | DeltaEntry;
/** One expert's exclusive module: entries by weight name. */
export type ExclusiveModule = ReadonlyMap<string, ExclusiveEntry>;

export class ExclusiveModuleError extends Error {
  constructor(
    readonly tensor: string,
    message: string,
  ) {
    super(`${tensor}: ${message}`);
    this.name = 'ExclusiveModuleError';
  }
}

/** expert - shared, element-wise (float32), checking lengths and finiteness; names the tensor on error. */
export function tensorDelta(name: string, shared: Float32Array, expert: Float32Array): Float32Array {
  if (shared.length !== expert.length) throw new ExclusiveModuleError(name, `expert has ${expert.length} elements, shared has ${shared.length}`);
  const out = new Float32Array(shared.length);
  for (let i = 0; i < out.length; i++) {
    const a = shared[i]!, b = expert[i]!;
    if (!Number.isFinite(a) || !Number.isFinite(b)) throw new ExclusiveModuleError(name, `non-finite value at index ${i} (${Number.isFinite(a) ? 'expert' : 'shared'})`);
    out[i] = b - a;
  }
  return out;
}

export interface FactorResult {
  readonly entry: LowRankEntry;
  /** ||E - B A||_F / ||E||_F (0 for a zero delta), from the kept singular values. */
  readonly relativeError: number;
  /** The kept singular values. */
  readonly singularValues: Float64Array;
}

/** Factors a 2-D delta E [rows, cols] at `rank` (clamped to min(rows, cols)). */
export function factorDelta(name: string, shape: readonly number[], delta: Float32Array | Float64Array, rank: number, svd: SvdOptions = {}): FactorResult {
  if (shape.length !== 2) throw new ExclusiveModuleError(name, `factorDelta needs a 2-D tensor, got ${shapeString(shape)}`);
  const [rows, cols] = shape as [number, number];
  if (delta.length !== rows * cols) throw new ExclusiveModuleError(name, `${delta.length} elements is not ${shapeString(shape)}`);
  const f = truncatedSvd(delta, rows, cols, rank, svd);
  const total = frobenius2(delta);
  let kept = 0;
  for (const s of f.singularValues) kept += s * s;
  const relativeError = total > 0 ? Math.sqrt(Math.max(0, 1 - kept / total)) : 0;
  return {
    entry: { kind: 'lowrank', name, rows, cols, rank: f.rank, A: f.A, B: f.B },
    relativeError,
    singularValues: f.singularValues,
  };
}

/**
 * One entry of an exclusive module from the shared and the expert's weight: 2-D -> low rank at
 * `rank`, 1-D -> exact delta. Other ranks are refused.
 */
export function buildExclusiveEntry(
  name: string,
  shape: readonly number[],
  shared: Float32Array,
  expert: Float32Array,
  rank: number,
  svd: SvdOptions = {},
): ExclusiveEntry {
  if (numel(shape) !== shared.length) throw new ExclusiveModuleError(name, `shared has ${shared.length} elements, shape ${shapeString(shape)}`);
  const delta = tensorDelta(name, shared, expert);
  if (shape.length === 1) return { kind: 'delta', name, shape: [...shape], delta };
  if (shape.length === 2) return factorDelta(name, shape, delta, rank, svd).entry;
  throw new ExclusiveModuleError(name, `only 1-D and 2-D weights can be experts' modules, got ${shapeString(shape)}`);
}

export interface NamedTensor extends F32Tensor {
  readonly name: string;
}

/** The tensors an entry is stored as: W.A [r, in] and W.B [out, r], or W.delta. */
export function entryTensors(e: ExclusiveEntry): NamedTensor[] {
  if (e.kind === 'delta') return [{ name: `${e.name}.delta`, shape: [...e.shape], data: e.delta }];
  return [
    { name: `${e.name}.A`, shape: [e.rank, e.cols], data: e.A },
    { name: `${e.name}.B`, shape: [e.rows, e.rank], data: e.B },
  ];
}

/**
 * Reads an exclusive module back from its tensors (name -> F32Tensor): pairs W.A with W.B, takes
 * W.delta as is. Missing halves, rank or shape mismatches and unknown suffixes are errors.
 * If `expected` (weight name -> shape) is given, every entry must name a known weight of that shape.
 */
export function moduleFromTensors(
  tensors: ReadonlyMap<string, F32Tensor>,
  expected?: ReadonlyMap<string, readonly number[]>,
): Map<string, ExclusiveEntry> {
  const out = new Map<string, ExclusiveEntry>();
  const seen = new Set<string>();
  for (const [key, t] of tensors) {
    const m = /^(.*)\.(A|B|delta)$/.exec(key);
    if (!m) throw new ExclusiveModuleError(key, 'not an exclusive-module tensor (expected "<W>.A", "<W>.B" or "<W>.delta")');
    const name = m[1]!;
    const part = m[2]!;
    if (seen.has(name + '|' + part)) continue;
    if (out.has(name)) throw new ExclusiveModuleError(name, 'has both a delta and A/B factors');
    if (numel(t.shape) !== t.data.length) throw new ExclusiveModuleError(key, `data has ${t.data.length} elements, shape ${shapeString(t.shape)}`);
    const want = expected?.get(name);
    if (expected && !want) throw new ExclusiveModuleError(key, `the model has no weight ${name}`);
    if (part === 'delta') {
      if (want && (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i])))
        throw new ExclusiveModuleError(key, `shape ${shapeString(t.shape)} does not match the weight's ${shapeString(want)}`);
      out.set(name, { kind: 'delta', name, shape: [...t.shape], delta: t.data });
      seen.add(name + '|delta');
      continue;
    }
    const aKey = `${name}.A`, bKey = `${name}.B`;
    const A = tensors.get(aKey), B = tensors.get(bKey);
    if (!A) throw new ExclusiveModuleError(bKey, `has no matching ${aKey}`);
    if (!B) throw new ExclusiveModuleError(aKey, `has no matching ${bKey}`);
    if (A.shape.length !== 2 || B.shape.length !== 2) throw new ExclusiveModuleError(name, `A ${shapeString(A.shape)} and B ${shapeString(B.shape)} must be 2-D`);
    const [r, cols] = A.shape as [number, number];
    const [rows, rb] = B.shape as [number, number];
    if (r !== rb) throw new ExclusiveModuleError(name, `rank mismatch: A ${shapeString(A.shape)}, B ${shapeString(B.shape)}`);
    if (numel(A.shape) !== A.data.length || numel(B.shape) !== B.data.length) throw new ExclusiveModuleError(name, 'data length does not match shape');
    if (want && (want.length !== 2 || want[0] !== rows || want[1] !== cols))
      throw new ExclusiveModuleError(name, `B*A is [${rows}, ${cols}], the weight is ${shapeString(want)}`);
    out.set(name, { kind: 'lowrank', name, rows, cols, rank: r, A: A.data, B: B.data });
    seen.add(name + '|A');
    seen.add(name + '|B');
  }
  return out;
}

/** Bytes of an entry's values at `bytesPerElement`. */
export function entryElements(e: ExclusiveEntry): number {
  return e.kind === 'delta' ? e.delta.length : e.A.length + e.B.length;
}
