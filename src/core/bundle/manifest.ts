// The bundle manifest: the contract between `twinmerge pack` and the app (docs/bundle-format.md).
// Every manifest that comes from outside is parsed with `parseManifest`; inside we carry `Manifest`.
import { z } from 'zod';
import { MERGE_METHOD_NAMES } from '../merge/types.ts';

export const BUNDLE_FORMAT = 'twinmerge-bundle';
export const BUNDLE_VERSION = 1;

/** A path inside the bundle: relative, forward slashes, no '..', no empty segments. */
const RelPath = z
  .string()
  .min(1)
  .max(512)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), {
    message: 'must be a relative path inside the bundle (no leading "/", "\\", "." or ".." segments)',
  });

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const Id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'must be lowercase letters, digits, "_" or "-" (at most 64)');

export const FileEntrySchema = z.object({ path: RelPath, bytes: z.number().int().nonnegative(), sha256: Sha256 }).strict();

/** The architecture as in the checkpoint's HF config.json; src/model validates the details. */
export const ArchitectureSchema = z
  .object({
    model_type: z.string().min(1),
    hidden_size: z.number().int().positive(),
    intermediate_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive(),
    vocab_size: z.number().int().positive(),
  })
  .passthrough();

export const MergeMethodSchema = z.enum(MERGE_METHOD_NAMES);

export const MergeSchema = z
  .object({
    method: MergeMethodSchema,
    /** Scale of the merged task vector; 0 means no shared part (purely routed experts). */
    lambda: z.number().finite().min(0),
    /** Method-specific parameters (TIES density, DARE drop rate and seed, ...), recorded as used. */
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])),
  })
  .strict();

export const SharedSchema = z
  .object({
    file: RelPath,
    /** How the shared weights are stored; int8 has per-row scales ("<name>.scale"), dequantized on the GPU. */
    dtype: z.enum(['f32', 'f16', 'int8']),
    /** D = theta_shared - theta_base in factored low-rank form, for adapters trained on the base. */
    baseDelta: z
      .object({ file: RelPath, maxRank: z.number().int().nonnegative(), relativeError: z.number().nonnegative() })
      .strict()
      .optional(),
  })
  .strict();

/** How many singular directions an exclusive module keeps per matrix (pack.yaml `exclusive.rank`; core/twin/rankPolicy.ts). */
export const RankConfigSchema = z.union([
  z.object({ fixed: z.number().int().positive() }).strict(),
  /** Per-matrix ranks under a byte budget per expert, as a share of one full expert's bytes (same dtype). */
  z.object({ budget: z.number().positive().max(1), objective: z.enum(['absolute', 'relative']).optional() }).strict(),
  /** Smallest rank per matrix keeping this share of the singular-value energy. */
  z.object({ energy: z.number().positive().max(1), max: z.number().int().positive().optional() }).strict(),
]);

/** How pack factored the experts: what a checkpoint added later (dropped into the app, `twinmerge extract`) is factored with. */
export const ExclusiveSchema = z
  .object({
    dtype: z.enum(['f32', 'f16']),
    rank: RankConfigSchema,
    svdSeed: z.number().int(),
  })
  .strict();

export const ExpertSchema = z
  .object({
    id: Id,
    name: z.string().min(1).max(80),
    description: z.string().max(500),
    /** Fixed rank, or the largest rank when ranks were allocated per matrix by a byte budget. */
    rank: z.number().int().nonnegative(),
    rankPolicy: z.enum(['fixed', 'budget', 'energy']),
    file: RelPath,
    bytes: z.number().int().nonnegative(),
    examplePrompts: z.array(z.string().min(1).max(2000)).min(1).max(256),
    /** The expert's full fine-tuned weights, shipped for the comparison view. */
    fullWeightsFile: RelPath.optional(),
    source: z.object({ kind: z.enum(['full', 'lora']), path: z.string().max(1024) }).strict(),
  })
  .strict();

export const RouterSchema = z
  .object({
    file: RelPath,
    /**
     * The features: mean over prompt tokens of the shared model's final-norm hidden state after its
     * first `layer` layers (early-exit routing; absent = all layers, the paper's last-layer router).
     */
    feature: z.object({ kind: z.literal('mean_last_hidden'), size: z.number().int().positive(), layer: z.number().int().positive().optional() }).strict(),
    /** Expert ids, one per output class, in class order. */
    labels: z.array(Id).min(1),
    hidden: z.array(z.number().int().positive()),
    temperature: z.number().positive().finite(),
    accuracy: z.object({ val: z.number().min(0).max(1), test: z.number().min(0).max(1) }).strict().optional(),
    /** When no expert fits a message (core/router/confidence.ts), calibrated on val by pack. */
    confidence: z.object({ maxDistance: z.number().positive().finite(), minTopWeight: z.number().min(0).max(1) }).strict().optional(),
  })
  .strict();

export const ProvenanceSchema = z
  .object({ role: z.enum(['base', 'expert']), id: z.string().min(1), path: z.string().max(1024), sha256: Sha256 })
  .strict();

export const ManifestSchema = z
  .object({
    format: z.literal(BUNDLE_FORMAT),
    version: z.literal(BUNDLE_VERSION),
    createdBy: z.string().max(200),
    architecture: ArchitectureSchema,
    graph: RelPath,
    tokenizer: z.object({ files: z.array(RelPath).min(1) }).strict(),
    merge: MergeSchema,
    shared: SharedSchema,
    /** Optional: bundles made before it was recorded get pack's defaults (core/twin/extract.ts). */
    exclusive: ExclusiveSchema.optional(),
    experts: z.array(ExpertSchema).min(1).max(64),
    router: RouterSchema,
    files: z.array(FileEntrySchema).min(1),
    provenance: z.array(ProvenanceSchema),
  })
  .strict()
  .superRefine((m, ctx) => {
    const listed = new Set<string>();
    m.files.forEach((f, i) => {
      if (listed.has(f.path)) ctx.addIssue({ code: 'custom', path: ['files', i, 'path'], message: `file "${f.path}" is listed twice` });
      listed.add(f.path);
    });
    const needFile = (path: string, where: (string | number)[]) => {
      if (!listed.has(path)) ctx.addIssue({ code: 'custom', path: where, message: `"${path}" is not in the files list` });
    };
    needFile(m.graph, ['graph']);
    m.tokenizer.files.forEach((f, i) => needFile(f, ['tokenizer', 'files', i]));
    needFile(m.shared.file, ['shared', 'file']);
    if (m.shared.baseDelta) needFile(m.shared.baseDelta.file, ['shared', 'baseDelta', 'file']);
    needFile(m.router.file, ['router', 'file']);
    const ids = new Set<string>();
    m.experts.forEach((e, i) => {
      if (ids.has(e.id)) ctx.addIssue({ code: 'custom', path: ['experts', i, 'id'], message: `expert id "${e.id}" is used twice` });
      ids.add(e.id);
      needFile(e.file, ['experts', i, 'file']);
      if (e.fullWeightsFile) needFile(e.fullWeightsFile, ['experts', i, 'fullWeightsFile']);
    });
    const labels = m.router.labels;
    if (labels.length !== m.experts.length || labels.some((l) => !ids.has(l)) || new Set(labels).size !== labels.length) {
      ctx.addIssue({ code: 'custom', path: ['router', 'labels'], message: `router labels [${labels.join(', ')}] must be the expert ids [${[...ids].join(', ')}], each once` });
    }
    if (m.router.feature.layer !== undefined && m.router.feature.layer > m.architecture.num_hidden_layers) {
      ctx.addIssue({ code: 'custom', path: ['router', 'feature', 'layer'], message: `router layer ${m.router.feature.layer} is beyond the model's ${m.architecture.num_hidden_layers} layers` });
    }
    if (m.router.feature.size !== m.architecture.hidden_size) {
      ctx.addIssue({ code: 'custom', path: ['router', 'feature', 'size'], message: `feature size ${m.router.feature.size} must equal hidden_size ${m.architecture.hidden_size}` });
    }
  });

export type Manifest = z.infer<typeof ManifestSchema>;
export type ExpertEntry = z.infer<typeof ExpertSchema>;
export type FileEntry = z.infer<typeof FileEntrySchema>;
export type MergeMethod = z.infer<typeof MergeMethodSchema>;

export class ManifestError extends Error {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`${source}: invalid bundle manifest:\n  ${issues.join('\n  ')}`);
    this.name = 'ManifestError';
  }
}

/** Parses untrusted manifest text (or an already-parsed JSON value). Throws ManifestError naming the field. */
export function parseManifest(input: string | unknown, source = 'manifest.json'): Manifest {
  let value: unknown = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new ManifestError(source, [`not valid JSON: ${e instanceof Error ? e.message : String(e)}`]);
    }
  }
  if (value && typeof value === 'object' && 'format' in value && (value as { format: unknown }).format === BUNDLE_FORMAT) {
    const v = (value as { version?: unknown }).version;
    if (typeof v === 'number' && v > BUNDLE_VERSION) {
      throw new ManifestError(source, [`bundle format version ${v} is newer than this app supports (${BUNDLE_VERSION}); update twinmerge`]);
    }
  }
  const r = ManifestSchema.safeParse(value);
  if (!r.success) {
    throw new ManifestError(
      source,
      r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  return r.data;
}
