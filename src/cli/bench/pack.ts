// Pack benchmark: time and peak RSS of `twinmerge pack` in a child process, for the zoo and for
// `twinmerge synth`'s SmolLM2-135M-shaped checkpoints (whole model by default), with 2 and 4 experts.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { parseModelConfig } from '../../model/config.ts';
import { expectedTensors } from '../../model/llama.ts';
import { cachedSynth, synthesize, SYNTH_CACHE } from '../synth/synth.ts';

export interface PackBenchRow {
  label: string;
  experts: number;
  layers: number;
  params: number;
  seconds: number;
  maxRssBytes: number;
  bundleBytes: number;
  /** Peak RSS minus the bundle's bytes: what pack holds beyond its output. */
  rssMinusOutputBytes: number;
}

const TSX_CLI = 'node_modules/tsx/dist/cli.mjs';

async function runChild(configPath: string, dir: string): Promise<{ seconds: number; maxRssBytes: number; bundleBytes: number }> {
  const out = join(dir, `result-${Date.now()}.json`);
  await new Promise<void>((res, rej) => {
    const child = spawn(process.execPath, [TSX_CLI, 'src/cli/bench/packChild.ts', configPath, out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', rej);
    child.on('exit', (code) => (code === 0 ? res() : rej(new Error(`pack exited with ${code}: ${err}`))));
  });
  return JSON.parse(await readFile(out, 'utf8')) as { seconds: number; maxRssBytes: number; bundleBytes: number };
}

/** The zoo's pack config: models/pack.yaml, else one made for models/experts or the recipe's smoke zoo. Output redirected to `out`. */
async function zooConfig(dir: string, out: string): Promise<{ path: string; source: string } | { skip: string }> {
  const { parse } = await import('yaml');
  if (existsSync('models/pack.yaml')) {
    const raw = parse(await readFile('models/pack.yaml', 'utf8')) as Record<string, unknown>;
    // Paths in it are relative to models/: make them absolute before moving the file.
    const abs = (p: unknown) => resolve('models', String(p));
    const experts = (raw.experts as Record<string, unknown>[]).map((e) => ({ ...e, path: abs(e.path), examples: abs(e.examples), train: abs(e.train), val: abs(e.val), ...(e.test ? { test: abs(e.test) } : {}) }));
    const path = join(dir, 'zoo-pack.yaml');
    await writeFile(path, stringify({ ...raw, base: abs(raw.base), experts, output: out }));
    return { path, source: 'models/pack.yaml' };
  }
  for (const root of ['models', 'models/recipe/work/smoke']) {
    const ex = join(root, 'experts');
    const ids = existsSync(ex) ? readdirSync(ex).filter((id) => existsSync(join(ex, id, 'config.json')) && existsSync(join(root, 'data', id, 'train.jsonl'))) : [];
    if (ids.length < 2 || !existsSync(join(root, 'base', 'config.json'))) continue;
    const d = (id: string, f: string) => resolve(root, 'data', id, f);
    const cfg = {
      base: resolve(root, 'base'),
      experts: ids.map((id) => ({ id, path: resolve(ex, id), examples: d(id, 'examples.json'), train: d(id, 'train.jsonl'), val: d(id, 'val.jsonl'), test: d(id, 'test.jsonl') })),
      merge: { method: 'task_arithmetic', params: { lambda: 0.3 } },
      exclusive: { rank: { fixed: 16 }, dtype: 'f16' },
      shared: { dtype: 'f16' },
      router: { trainPerExpert: 64, valPerExpert: 32, testPerExpert: 32 },
      output: out,
    };
    const path = join(dir, 'zoo-pack.yaml');
    await writeFile(path, stringify(cfg));
    return { path, source: `${root}/experts (generated config: task arithmetic λ 0.3, rank 16, f16)` };
  }
  return { skip: 'no zoo: neither models/pack.yaml nor models/experts/* (or the recipe smoke zoo) with data' };
}

export async function benchPack(o: { bigLayers: number; tokenizerDir: string; log: (s: string) => void; skipZoo?: boolean }): Promise<{ rows: PackBenchRow[]; notes: string[] }> {
  const rows: PackBenchRow[] = [];
  const notes: string[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'tm-bench-pack-'));
  try {
    if (!o.skipZoo) {
      const z = await zooConfig(dir, join(dir, 'zoo-bundle'));
      if ('skip' in z) notes.push(`pack (zoo): skipped, ${z.skip}`);
      else {
        o.log(`pack: zoo (${z.source})`);
        const r = await runChild(z.path, dir).catch((e: unknown) => {
          notes.push(`pack (zoo, ${z.source}): failed, ${(e instanceof Error ? e.message : String(e)).split('\n').find((l) => /Error:/.test(l)) ?? 'see the log'}`);
          o.log(`pack (zoo) failed: ${e instanceof Error ? e.message : String(e)}`);
          return undefined;
        });
        if (r) {
        const raw = (await import('yaml')).parse(await readFile(z.path, 'utf8')) as { base: string; experts: unknown[] };
        const spec = parseModelConfig(JSON.parse(await readFile(join(raw.base, 'config.json'), 'utf8')));
        const params = expectedTensors(spec).reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
        rows.push({ label: `zoo (${z.source.split(' ')[0]})`, experts: raw.experts.length, layers: spec.numLayers, params, ...r, rssMinusOutputBytes: r.maxRssBytes - r.bundleBytes });
        await rm(join(dir, 'zoo-bundle'), { recursive: true, force: true });
        }
      }
    }
    // twinmerge synth's SmolLM2-135M-shaped checkpoints (bf16 shards, realistic deltas), cached between runs.
    const synthOpts = { shape: 'smollm2-135m' as const, out: join(SYNTH_CACHE, o.bigLayers >= 30 ? 'smollm2-135m' : `smollm2-135m-${o.bigLayers}l`), tokenizerDir: o.tokenizerDir, ...(o.bigLayers < 30 ? { layers: o.bigLayers } : {}) };
    let synth = await cachedSynth(synthOpts);
    if (!synth) {
      o.log(`pack: twinmerge synth, SmolLM2-135M shape (${o.bigLayers} layers, base + 4 experts, bf16 shards)`);
      synth = await synthesize(synthOpts);
    }
    const rz = resolve(synthOpts.out);
    for (const n of [2, 4]) {
      const cfg = {
        ...((await import('yaml')).parse(await readFile(join(rz, 'pack.yaml'), 'utf8')) as Record<string, unknown>),
        base: join(rz, 'base'),
        experts: Array.from({ length: n }, (_, t) => {
          const d = join(rz, 'data', `e${t}`);
          return { id: `e${t}`, path: join(rz, 'experts', `e${t}`), examples: join(d, 'examples.json'), train: join(d, 'train.jsonl'), val: join(d, 'val.jsonl'), test: join(d, 'test.jsonl') };
        }),
        output: join(dir, `random-bundle-${n}`),
      };
      const path = join(dir, `random-${n}.yaml`);
      await writeFile(path, stringify(cfg));
      o.log(`pack: SmolLM2-135M shape, ${synth.layers} layers, ${n} experts`);
      const r = await runChild(path, dir);
      rows.push({ label: `SmolLM2-135M shape, ${synth.layers} of 30 layers (twinmerge synth, bf16 shards)`, experts: n, layers: synth.layers, params: synth.params, ...r, rssMinusOutputBytes: r.maxRssBytes - r.bundleBytes });
      await rm(cfg.output, { recursive: true, force: true });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { rows, notes };
}
