// pack.yaml: what `twinmerge pack` builds (in the spirit of mergekit's YAML configs). Paths are
// relative to the YAML file. Validated with zod; an error names the key that is wrong.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { RankConfigSchema } from '../../core/bundle/manifest.ts';

const Id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, "_" or "-"');

const ExpertSchema = z
  .object({
    id: Id,
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    /** An HF checkpoint folder (full fine-tune) or a PEFT adapter folder (adapter_config.json). */
    path: z.string().min(1),
    /** JSON with { prompts: string[], name?, description? } or a plain string array: shown in the app. */
    examples: z.string().min(1),
    /** JSONL {prompt, answer} splits: router training (train), early stopping (val), reported accuracy (test). */
    train: z.string().min(1),
    val: z.string().min(1),
    test: z.string().min(1).optional(),
    /** Further test splits that only `twinmerge eval` reads: unseen wordings, multi-turn chats, longer inputs. */
    tests: z.object({ wording: z.string().min(1).optional(), multiturn: z.string().min(1).optional(), long: z.string().min(1).optional() }).strict().optional(),
  })
  .strict();

/** The same schema the bundle manifest records it with (`exclusive.rank`). */
const RankSchema = RankConfigSchema;

export const PackConfigSchema = z
  .object({
    base: z.string().min(1),
    experts: z.array(ExpertSchema).min(1).max(64),
    merge: z
      .object({
        method: z.string().min(1),
        /** Method parameters, lambda included (e.g. { lambda: 0.3, density: 0.2 }). */
        params: z.record(z.string(), z.unknown()).default({}),
      })
      .strict(),
    exclusive: z.object({ rank: RankSchema, dtype: z.enum(['f32', 'f16']).default('f16') }).strict(),
    shared: z.object({ dtype: z.enum(['f32', 'f16', 'int8']).default('f16') }).strict().default({ dtype: 'f16' }),
    /** D = shared - base, for adapters trained on the base: low rank (energy, maxRank), or dense where factors would not be smaller. */
    baseDelta: z
      .object({ energy: z.number().positive().max(1).default(0.9999), maxRank: z.number().int().positive().default(64), dtype: z.enum(['f32', 'f16']).default('f16') })
      .strict()
      .default({ energy: 0.9999, maxRank: 64, dtype: 'f16' }),
    router: z
      .object({
        hidden: z.array(z.number().int().positive()).default([64]),
        temperature: z.number().positive().default(1),
        /** Prompts per expert taken from each split (keeps feature extraction quick). */
        trainPerExpert: z.number().int().positive().default(256),
        valPerExpert: z.number().int().positive().default(128),
        testPerExpert: z.number().int().positive().default(256),
        seed: z.number().int().default(0),
        /**
         * Which layer's hidden state the router reads: 'auto' = the smallest whose val accuracy is
         * within 0.5 point of the last layer's (early exit: routing runs only that far), 'last' = the
         * paper's last-layer router, or a layer number (1-based).
         */
        layer: z.union([z.enum(['auto', 'last']), z.number().int().positive()]).default('auto'),
      })
      .strict()
      .default({ hidden: [64], temperature: 1, trainPerExpert: 256, valPerExpert: 128, testPerExpert: 256, seed: 0, layer: 'auto' }),
    /** Ship every expert's own fine-tuned weights (f16) for the app's comparison view. */
    includeFullWeights: z.boolean().default(true),
    output: z.string().min(1),
    svd: z.object({ seed: z.number().int().default(0) }).strict().default({ seed: 0 }),
  })
  .strict();

export type PackConfig = z.infer<typeof PackConfigSchema>;
export type PackExpertConfig = PackConfig['experts'][number];

export class PackConfigError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'PackConfigError';
  }
}

/** Parses a config object; paths are resolved against `baseDir`. */
export function parsePackConfig(raw: unknown, file: string, baseDir: string): PackConfig {
  const r = PackConfigSchema.safeParse(raw);
  if (!r.success) {
    throw new PackConfigError(file, r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  }
  const c = r.data;
  const ids = new Set<string>();
  for (const e of c.experts) {
    if (ids.has(e.id)) throw new PackConfigError(file, `experts: id "${e.id}" is used twice`);
    ids.add(e.id);
  }
  const abs = (p: string) => resolve(baseDir, p);
  return {
    ...c,
    base: abs(c.base),
    output: abs(c.output),
    experts: c.experts.map((e) => ({ ...e, path: abs(e.path), examples: abs(e.examples), train: abs(e.train), val: abs(e.val), ...(e.test ? { test: abs(e.test) } : {}), ...(e.tests ? { tests: Object.fromEntries(Object.entries(e.tests).map(([k, v]) => [k, abs(v)])) } : {}) })),
  };
}

export async function loadPackConfig(path: string): Promise<PackConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (e) {
    throw new PackConfigError(path, `not readable YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parsePackConfig(raw, path, dirname(path));
}
