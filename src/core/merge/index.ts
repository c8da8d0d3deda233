export { type MergeContext, type MergeMethod, type MergeMethodName, type BaseMergeParams, MergeParamsError } from './types.ts';
export { getMergeMethod, createMerger, isMergeMethodName, MERGE_METHOD_NAMES, type Merger } from './registry.ts';
export { taskArithmetic, type TaskArithmeticParams } from './task_arithmetic.ts';
export { ties, type TiesParams } from './ties.ts';
export { dare, type DareParams } from './dare.ts';
export { dareTies, type DareTiesParams } from './dare_ties.ts';
export { trimTopK, keepCount, dareDrop, quickselect } from './common.ts';
export { mergeWith, streamMerge } from './combine.ts';
