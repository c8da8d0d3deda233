export { type MergeContext, type MergeMethod, type MergeMethodName, type BaseMergeParams, MergeParamsError } from './types.ts';
export { getMergeMethod, createMerger, isMergeMethodName, MERGE_METHOD_NAMES, type Merger } from './registry.ts';
export { taskArithmetic, type TaskArithmeticParams } from './task_arithmetic.ts';
export { ties, type TiesParams } from './ties.ts';
export { dare, type DareParams } from './dare.ts';
export { dareTies, type DareTiesParams } from './dare_ties.ts';
export { trimTopK, keepCount, dareDrop, electAndDisjointMean, quickselect } from './common.ts';
export {
  buildExclusiveEntry,
  factorDelta,
  tensorDelta,
  entryTensors,
  moduleFromTensors,
  entryElements,
  ExclusiveModuleError,
  type ExclusiveEntry,
  type ExclusiveModule,
  type LowRankEntry,
  type DeltaEntry,
  type FactorResult,
  type NamedTensor,
} from './exclusive.ts';
export { composeCpu, composeCpuReference, composeTensorCpu } from './compose.ts';
export { streamMerge } from './stream.ts';
