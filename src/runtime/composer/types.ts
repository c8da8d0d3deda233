// What the composer takes in. Shapes follow the checkpoint (HF layout: a weight is [out, in]);
// the composer owns the GPU layout ([in, out], what ORT's MatMul wants).

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

/** One expert's low-rank delta for one weight: ΔW = B·A, B [out, r], A [r, in], row-major. */
export interface LowRankFactor {
  rank: number;
  a: Float32Array;
  b: Float32Array;
}

/** An exclusive module: weights it has no factor for are unchanged by it. */
export interface ExpertModule {
  id: string;
  factors: ReadonlyMap<string, LowRankFactor>;
}

/** A 1-D delta (a norm gain) is exactly a rank-1 factor with A = [1]: B = delta as [n, 1]. */
export function vectorDeltaAsFactor(delta: Float32Array): LowRankFactor {
  return { rank: 1, a: new Float32Array([1]), b: delta };
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

/** Checks a set of experts against the composer's weights before anything changes: unique ids, known weights, fitting factors. */
export function validateExperts(experts: readonly ExpertModule[], shapeOf: (name: string) => { outDim: number; inDim: number } | undefined): void {
  const ids = new Set<string>();
  for (const e of experts) {
    if (ids.has(e.id)) throw new ComposerError('DUPLICATE', `expert "${e.id}" is listed twice`);
    ids.add(e.id);
    for (const [name, f] of e.factors) {
      const s = shapeOf(name);
      if (!s) throw new ComposerError('UNKNOWN_WEIGHT', `expert "${e.id}" has a factor for ${name}, which is not a mergeable weight of this model`);
      checkFactor(e.id, { name, outDim: s.outDim, inDim: s.inDim, shared: { dtype: 'f32', data: new Float32Array(0) } }, f);
    }
  }
}
