// `twinmerge eval [--config eval.yaml] [--pack pack.yaml] [--bundle dir] [--limit N] [--val-limit N]
//                 [--out dir] [--quick]` — see docs/eval.md.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { EvalConfigError, loadEvalConfig, parseEvalConfig, type EvalConfig } from './config.ts';
import { runEval } from './eval.ts';
import { renderMarkdown, renderSvg } from './report.ts';

const USAGE = `usage: twinmerge eval [--config eval.yaml] [--pack pack.yaml] [--bundle dir | --no-bundle]
                      [--limit N] [--val-limit N] [--out dir] [--quick]
  --config     eval.yaml (paths relative to it); flags override it
  --pack       the zoo's pack config (base, experts, splits, router, dtypes)
  --bundle     the shipped bundle folder, evaluated from its files
  --limit      test examples per task (default: all)
  --val-limit  val examples per task for the choices of λ and ranks (default: all)
  --out        output folder for eval.json, eval.md, eval.svg (default docs/results)
  --quick      --limit 50 --val-limit 25, ranks [8, 32], budgets [0.25], λ {0, 0.3}`;

export async function evalMain(args: string[]): Promise<number> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      console.error(USAGE);
      return 2;
    }
    const [k, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) flags.set(k, inline);
    else if (['quick', 'no-bundle', 'help'].includes(k)) flags.set(k, true);
    else {
      const v = args[++i];
      if (v === undefined) {
        console.error(`--${k} needs a value\n${USAGE}`);
        return 2;
      }
      flags.set(k, v);
    }
  }
  const known = new Set(['config', 'pack', 'bundle', 'no-bundle', 'limit', 'val-limit', 'out', 'quick', 'help']);
  const unknown = [...flags.keys()].filter((k) => !known.has(k));
  if (flags.has('help') || unknown.length) {
    if (unknown.length) console.error(`unknown option(s): ${unknown.map((k) => `--${k}`).join(', ')}`);
    console.error(USAGE);
    return unknown.length ? 2 : 0;
  }
  const str = (k: string): string | undefined => (typeof flags.get(k) === 'string' ? (flags.get(k) as string) : undefined);
  const int = (k: string): number | undefined => {
    const v = str(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new EvalConfigError(`--${k}`, `needs a positive integer, got "${v}"`);
    return n;
  };

  let cfg: EvalConfig;
  const configPath = str('config');
  if (configPath) cfg = await loadEvalConfig(configPath);
  else {
    const pack = str('pack');
    if (!pack) {
      console.error(`--config or --pack is required\n${USAGE}`);
      return 2;
    }
    cfg = parseEvalConfig({ pack }, '(flags)', process.cwd());
  }
  if (str('pack') && configPath) cfg.pack = resolve(str('pack')!);
  if (str('bundle')) cfg.bundle = resolve(str('bundle')!);
  if (flags.has('no-bundle')) delete cfg.bundle;
  if (str('out')) cfg.output = resolve(str('out')!);
  if (flags.has('quick')) Object.assign(cfg, { limit: 50, valLimit: 25, ranks: [8, 32], budgets: [0.25], budgetObjectives: ['absolute'], lambdas: [0, 0.3] });
  const limit = int('limit');
  const valLimit = int('val-limit');
  if (limit !== undefined) cfg.limit = limit;
  if (valLimit !== undefined) cfg.valLimit = valLimit;

  const results = await runEval(cfg);
  await mkdir(cfg.output, { recursive: true });
  // No absolute machine paths in the outputs.
  const rel = (a: string): string => (a.startsWith('/') ? relative(process.cwd(), a) : a.replace(/^(--[^=]+=)(\/.*)$/, (_m, k: string, v: string) => k + relative(process.cwd(), v)));
  const command = `twinmerge eval ${args.map(rel).join(' ')}`.trim();
  await writeFile(join(cfg.output, 'eval.json'), `${JSON.stringify({ command, ...results }, null, 2)}\n`);
  await writeFile(join(cfg.output, 'eval.md'), renderMarkdown(results, command));
  await writeFile(join(cfg.output, 'eval.svg'), renderSvg(results));
  console.log(`eval: ${results.variants.length} variants in ${results.timing.seconds.toFixed(0)} s (${results.timing.msPerGeneration.toFixed(1)} ms per generation) → ${join(cfg.output, 'eval.{json,md,svg}')}`);
  if (results.bundle) {
    const a = results.bundle.acceptance;
    console.log(`bundle: normalized ${a.normalizedAverage === null ? 'n/a' : a.normalizedAverage.toFixed(1)} (≥ 95: ${a.pass.score95}), exclusive ${(100 * a.exclusiveShare).toFixed(1)}% (≤ 25%: ${a.pass.share25}), router ${(100 * a.routerTestAccuracy).toFixed(2)}% (≥ 99%: ${a.pass.router99})`);
  }
  return 0;
}
