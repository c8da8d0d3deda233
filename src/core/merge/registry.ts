// The registry of merge methods (one file each, the way mergekit keeps merge_methods/).
import { dare } from './dare.ts';
import { mergeWith, streamMerge } from './combine.ts';
import { dareTies } from './dare_ties.ts';
import { taskArithmetic } from './task_arithmetic.ts';
import { ties } from './ties.ts';
import { MERGE_METHOD_NAMES, MergeParamsError, type BaseMergeParams, type MergeContext, type MergeMethod, type MergeMethodName } from './types.ts';

const METHODS: { readonly [K in MergeMethodName]: MergeMethod<BaseMergeParams> } = {
  task_arithmetic: taskArithmetic,
  ties,
  dare,
  dare_ties: dareTies,
};

export function isMergeMethodName(name: string): name is MergeMethodName {
  return (MERGE_METHOD_NAMES as readonly string[]).includes(name);
}

/** The method registered under `name`; an unknown name throws, listing the known ones. */
export function getMergeMethod(name: string): MergeMethod<BaseMergeParams> {
  if (!isMergeMethodName(name)) {
    throw new MergeParamsError(name, `unknown merge method; known methods: ${MERGE_METHOD_NAMES.join(', ')}`);
  }
  return METHODS[name];
}

/** A method bound to validated parameters: what `pack` streams tensors through. */
export interface Merger {
  readonly method: MergeMethodName;
  readonly params: BaseMergeParams & Record<string, unknown>;
  /** For the manifest: { method, lambda, params }. */
  readonly manifest: { method: MergeMethodName; lambda: number; params: Record<string, number | string | boolean> };
  merge(deltas: readonly Float32Array[], ctx: MergeContext): Float32Array;
  /** The same result, reading one task vector at a time (memory independent of the number of experts). */
  mergeStreamed(tasks: number, readTau: (task: number) => Promise<Float32Array>, ctx: MergeContext): Promise<Float32Array>;
}

export { MERGE_METHOD_NAMES };

export function createMerger(name: string, rawParams: unknown = {}): Merger {
  const m = getMergeMethod(name);
  const params = m.parseParams(rawParams) as BaseMergeParams & Record<string, unknown>;
  return {
    method: m.name,
    params,
    manifest: { method: m.name, lambda: params.lambda, params: m.manifestParams(params) },
    merge: (deltas, ctx) => mergeWith(m, deltas, params, ctx),
    mergeStreamed: (tasks, readTau, ctx) => streamMerge(m, params, ctx, tasks, readTau),
  };
}
