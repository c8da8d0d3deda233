// What `twinmerge eval` writes to docs/results/eval.json (rendered by report.ts).
import type { TaskScore } from './score.ts';

export type VariantKind = 'base' | 'expert' | 'static' | 'twin' | 'bundle';

export interface VariantBytes {
  /** The shared model as stored (0 for the experts row: each task has its own full model). */
  shared: number;
  /** Mean bytes of one expert's exclusive module (a full model for the experts row). */
  exclusivePerExpert: number;
  /** exclusivePerExpert / one full expert's bytes at the exclusive dtype. */
  exclusiveShare: number;
  /** Everything the variant needs for all tasks. */
  total: number;
}

/** The further test splits: unseen wordings, the task after earlier turns, longer inputs. */
export type ExtraSplit = 'wording' | 'multiturn' | 'long';
export const EXTRA_SPLITS: readonly ExtraSplit[] = ['wording', 'multiturn', 'long'];

export interface SplitResult {
  scores: Record<string, TaskScore>;
  /** Normalized by each expert's EM on the same split. */
  normalized: Record<string, number | null>;
  normalizedAverage: number | null;
  routerAccuracy?: number;
}

export interface VariantResult {
  id: string;
  kind: VariantKind;
  label: string;
  routing?: 'oracle' | 'learned';
  lambda?: number;
  policy?: string;
  /** How lambda was set: 'val' (chosen on the val split), 'fixed' (a testLambdas value; the budget objective still chosen on val), 'manifest' (the bundle). */
  chosen?: 'val' | 'fixed' | 'manifest';
  scores: Record<string, TaskScore>;
  emAverage: number;
  normalized: Record<string, number | null>;
  normalizedAverage: number | null;
  bytes: VariantBytes;
  ranks?: { max: number; mean: number };
  routerTestAccuracy?: number;
  /** A static merge's parameters as chosen on val. */
  params?: Record<string, unknown>;
  /** The same variant on the further test splits (where the zoo has them). */
  splits?: Partial<Record<ExtraSplit, SplitResult>>;
}

export interface SelectionRow {
  group: string;
  policy: string;
  lambda: number;
  valEm: Record<string, number>;
  score: number;
  exclusiveShare: number;
}

export interface EvalResults {
  createdBy: string;
  config: Record<string, unknown>;
  tasks: string[];
  examples: Partial<Record<'test' | 'val' | ExtraSplit, Record<string, number>>>;
  fullExpertBytes: number;
  /** expert id → task → test EM (every expert on every task when crossTask). */
  expertMatrix: Record<string, Record<string, number>>;
  /** Each expert's EM on its own task: the normalization (test) and the selection's reference (val). */
  upperBound: { test: Record<string, number>; val: Record<string, number> } & Partial<Record<ExtraSplit, Record<string, number>>>;
  /** Static merges: every grid point's val score; the best one per method runs on test. */
  staticSelection: { name: string; method: string; params: Record<string, unknown>; score: number; chosen: boolean }[];
  /** Task vectors τ_t = θ_t − θ_0: pairwise cosines (all weights flattened) and ‖mean τ‖² / mean ‖τ_t‖². */
  taskVectors: { cosines: Record<string, number>; meanCosine: number; sharedEnergy: number; relNorm: Record<string, number> };
  variants: VariantResult[];
  selection: { rows: SelectionRow[]; chosen: { group: string; policy: string; lambda: number; score: number }[]; criterion: string };
  recommended: { group: string; policy: string; lambda: number; valScore: number; exclusiveShare: number } | null;
  /** The learned router per λ: at the layer chosen on val (early exit), and every candidate layer's accuracy. */
  routers: {
    lambda: number;
    accuracy: { train: number; val: number; test: number } & Partial<Record<ExtraSplit, number>>;
    bestEpoch: number;
    layer: number;
    layers: { layer: number; accuracy: { train: number; val: number; test: number } & Partial<Record<ExtraSplit, number>> }[];
  }[];
  /** Median ms of one routing pass (router graph of that many layers, shared weights baked in) over sample prompts, per layer. */
  routingMs: { layer: number; ms: number }[];
  /** The val choice written into the pack config and packed (eval's `ship`), or null. */
  shipped: null | { packConfig: string; lambda: number; rank: unknown };
  headline: Headline | null;
  bundle: null | {
    path: string;
    merge: unknown;
    rankPolicy: string;
    maxRank: number;
    exclusiveShare: number;
    routerTestAccuracy: number;
    acceptance: { normalizedAverage: number | null; exclusiveShare: number; routerTestAccuracy: number; pass: { score95: boolean; share25: boolean; router99: boolean } };
  };
  timing: { seconds: number; generations: number; msPerGeneration: number; composeSeconds: number; featureSeconds: number; svdSeconds: number };
}

/** The figures the project tracks (docs/results/eval.json `headline`), from this run. */
export interface Headline {
  taskVectorMeanCosine: number;
  taNormalized: number | null;
  tiesNormalized: number | null;
  dareTiesNormalized: number | null;
  twin: { normalized: number | null; exclusiveShare: number; lambda: number; rank: number };
  routedOnlySameBytes: { normalized: number | null; exclusiveShare: number };
  routerTestAccuracy: number | null;
  routerTestWordingAccuracy: number | null;
  expertsTestWordingEm: number | null;
  twinTestWordingNormalized: number | null;
  twinTestMultiturnNormalized: number | null;
  shippedBundleIsValChoice: boolean;
}
