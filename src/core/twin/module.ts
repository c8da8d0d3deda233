// The one expert-module type (Twin-Merging step 2): per expert and weight, E = theta_t - theta_shared;
// 2-D weights as a truncated SVD, factored (B = U sqrt(S), A = sqrt(S) V^T), 1-D weights (norm
// gains) as their exact delta. Checkpoint orientation ([out, in]); composers change layout themselves.
// pack writes it, eval scores it, the app's session composes it (src/core/twin/build.ts, bundle.ts).
// Tensor names in an expert file: "<W>.A" [r, in], "<W>.B" [out, r], "<W>.delta" (docs/bundle-format.md).
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

/**
 * A dense 2-D delta [rows, cols] as exact factors, for consumers that only compose B A: B = M with
 * A = I (rank cols) when cols <= rows, else B = I with A = M (rank rows).
 */
export function denseAsFactors(e: DeltaEntry): LowRankEntry {
  if (e.shape.length !== 2) throw new ExclusiveModuleError(e.name, `a ${e.shape.length}-D delta has no factors`);
  const [rows, cols] = e.shape as [number, number];
  const n = Math.min(rows, cols);
  const eye = new Float32Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return cols <= rows ? { kind: 'lowrank', name: e.name, rows, cols, rank: cols, B: e.delta, A: eye } : { kind: 'lowrank', name: e.name, rows, cols, rank: rows, B: eye, A: e.delta };
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
