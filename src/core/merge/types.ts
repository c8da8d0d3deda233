// One interface for every merge method: tensor by tensor, on task vectors (deltas from the base).

/** Where a tensor comes from; the name also seeds per-tensor random streams (DARE). */
export interface MergeContext {
  /** The tensor's checkpoint name, e.g. "model.layers.0.self_attn.q_proj.weight". */
  readonly name: string;
  readonly shape?: readonly number[];
}

/** The one list of merge method names (the registry, pack.yaml and the bundle manifest use it). */
export const MERGE_METHOD_NAMES = ['task_arithmetic', 'ties', 'dare', 'dare_ties'] as const;
export type MergeMethodName = (typeof MERGE_METHOD_NAMES)[number];

/** Parameters common to all methods: the scale of the merged task vector (0 = no shared part). */
export interface BaseMergeParams {
  readonly lambda: number;
}

export interface MergeMethod<P extends BaseMergeParams = BaseMergeParams> {
  readonly name: MergeMethodName;
  /** One line for --help and the docs. */
  readonly summary: string;
  /** Validates raw parameters (from pack.yaml), fills defaults; throws MergeParamsError. */
  parseParams(raw: unknown): P;
  /**
   * The same merge in two steps, so a packer can stream experts one at a time instead of holding all
   * T task vectors: `sparsify` each task vector on its own (identity, magnitude trim, or DARE drop),
   * then `combine` them: 'sum' = lambda * sum, 'elect' = TIES sign election + disjoint mean.
   * The merged delta (theta_shared = theta_0 + merged) is always combine(sparsify(tau_t) for t):
   * see combine.ts; no method writes its own merge.
   */
  sparsify(tau: Float32Array, task: number, params: P, ctx: MergeContext): Float32Array;
  readonly combine: 'sum' | 'elect';
  /** The parameters as recorded in the bundle manifest's merge.params (lambda is recorded apart). */
  manifestParams(params: P): Record<string, number | string | boolean>;
}

export class MergeParamsError extends Error {
  constructor(
    readonly method: string,
    message: string,
  ) {
    super(`merge method "${method}": ${message}`);
    this.name = 'MergeParamsError';
  }
}
