// eval.yaml: what `twinmerge eval` measures. Paths are relative to the YAML file. The zoo (base,
// experts, data splits, router settings, dtypes, merge method) comes from the pack config, so eval
// measures exactly what pack builds. Flags override the file (see main.ts).
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const StaticMerge = z
  .object({
    /** Shown in the tables (default: the method's name). */
    name: z.string().min(1).optional(),
    method: z.string().min(1),
    /** Fixed parameters. */
    params: z.record(z.string(), z.unknown()).default({}),
    /** Parameters chosen on val: every combination of these values is scored, the best runs on test. */
    grid: z.record(z.string(), z.array(z.unknown()).min(1)).default({}),
  })
  .strict();

export const EvalConfigSchema = z
  .object({
    /** The pack config (pack.yaml) describing the zoo: base, experts with their splits, router, dtypes, merge method. */
    pack: z.string().min(1),
    /** The shipped bundle to evaluate from its files (optional; e.g. models/bundle). */
    bundle: z.string().min(1).optional(),
    /** Test examples per task (default: the whole split). */
    limit: z.number().int().positive().optional(),
    /** Val examples per task for choosing lambda and ranks (default: the whole split). */
    valLimit: z.number().int().positive().optional(),
    /** Examples per task of each further test split (pack.yaml's `tests`: wording, multiturn, long). */
    extraLimit: z.number().int().positive().optional(),
    /**
     * Ship the val choice: write the recommended lambda and rank policy into the pack config (comments
     * kept), run pack, and evaluate that bundle (`bundle` must be the pack config's output).
     */
    ship: z.boolean().default(false),
    /** Twin-Merging's grid: lambda of the shared part (pack's merge method), ranks and byte budgets. */
    lambdas: z.array(z.number().min(0)).min(1).default([0, 0.1, 0.2, 0.3]),
    ranks: z.array(z.number().int().positive()).default([4, 8, 16, 32]),
    /** Lambdas also run on test for every rank group besides the one chosen on val (0 = routed experts, no shared part). */
    testLambdas: z.array(z.number().min(0)).default([0, 0.3]),
    /** Budgets as a share of one full expert's bytes (exclusive dtype), per-matrix ranks by singular-value energy. */
    budgets: z.array(z.number().positive().max(1)).default([0.1, 0.25]),
    /** Budget allocation objectives to choose from on val (src/core/linalg/rank.ts). */
    budgetObjectives: z.array(z.enum(['absolute', 'relative'])).min(1).default(['absolute', 'relative']),
    /** The largest exclusive share a recommended setting may use (the acceptance's 25%). */
    maxShare: z.number().positive().max(1).default(0.25),
    /** Static merges (shared weights only). */
    static: z
      .array(StaticMerge)
      .default([
        { name: 'Task Arithmetic', method: 'task_arithmetic', params: {}, grid: { lambda: [0.1, 0.2, 0.3, 0.5, 0.7, 1] } },
        { name: 'TIES', method: 'ties', params: {}, grid: { lambda: [0.5, 1, 1.5], density: [0.1, 0.2, 0.5] } },
        { name: 'DARE-TIES', method: 'dare_ties', params: { seed: 0 }, grid: { lambda: [0.5, 1, 1.5], dropRate: [0.5, 0.9] } },
      ]),
    /** Every expert on every task (false: each expert on its own task only). */
    crossTask: z.boolean().default(true),
    /** Routing weights below this are dropped, as the app's composer does. */
    skipBelow: z.number().min(0).default(1e-3),
    /** Routing weights are rounded to this grid so near-identical routings share a composition (0 = exact). */
    routingRound: z.number().min(0).default(1e-3),
    /** onnxruntime backend in Node: 'cpu' (onnxruntime-node, fastest here) or 'wasm' (onnxruntime-web). */
    backend: z.enum(['cpu', 'wasm']).default('cpu'),
    threads: z.number().int().positive().default(1),
    /** Where eval.json, eval.md and eval.svg go. */
    output: z.string().min(1).default('docs/results'),
    /** Seed of the SVD (randomized method only) — pack's `svd.seed` is used when absent. */
    seed: z.number().int().optional(),
  })
  .strict();

export type EvalConfig = z.infer<typeof EvalConfigSchema>;

export class EvalConfigError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'EvalConfigError';
  }
}

/** Validates a raw config; paths are resolved against `baseDir`. */
export function parseEvalConfig(raw: unknown, file: string, baseDir: string): EvalConfig {
  const r = EvalConfigSchema.safeParse(raw ?? {});
  if (!r.success) throw new EvalConfigError(file, r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  const c = r.data;
  const missing = c.testLambdas.filter((l) => !c.lambdas.includes(l));
  if (missing.length) throw new EvalConfigError(file, `testLambdas ${JSON.stringify(missing)} are not in lambdas ${JSON.stringify(c.lambdas)} (their settings are chosen on val)`);
  if (c.ranks.length === 0 && c.budgets.length === 0) throw new EvalConfigError(file, 'ranks and budgets are both empty: nothing to evaluate for Twin-Merging');
  return { ...c, pack: resolve(baseDir, c.pack), output: resolve(baseDir, c.output), ...(c.bundle ? { bundle: resolve(baseDir, c.bundle) } : {}) };
}

export async function loadEvalConfig(path: string): Promise<EvalConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (e) {
    throw new EvalConfigError(path, `not readable YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseEvalConfig(raw, path, dirname(path));
}
