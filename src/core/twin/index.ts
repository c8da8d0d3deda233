// The Twin-Merging pipeline, written once (docs/architecture.md): build (pack, eval), the expert
// module type, rank policies, the shared model's storage, CPU composition, and the bundle reader.
export { buildTwin, type BuiltExpert, type TwinBuild, type TwinHooks, type TwinSettings, type TwinSource } from './build.ts';
export { BundleFormatError, mergeEosIds, readBundle, readModule, readRouter, readShared, type BundleExpert, type BundleFileGetter, type BundleRouter, type TwinBundle } from './bundle.ts';
export { composeTensorCpu } from './compose.ts';
export { denseAsFactors, ExclusiveModuleError, moduleFromTensors, tensorDelta, type DeltaEntry, type ExclusiveEntry, type ExclusiveModule, type LowRankEntry } from './module.ts';
export { budgetRanks, expertHeaderEstimate, fullExpertBytes, policyFromConfig, policyId, policyLabel, svdRankFor, type RankPolicy } from './rankPolicy.ts';
export { dequantShared, sharedBytes, sharedParts, sharedSpecs, storeShared, type ExclusiveDtype, type SharedDtype, type StoredShared, type TwinWeight } from './shared.ts';
