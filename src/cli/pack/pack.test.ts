// `twinmerge pack` end to end on a tiny random zoo (a base and three full fine-tunes of it, the demo
// zoo's byte-level tokenizer): pack at full rank → read the bundle back as the app does (sizes and
// sha256 against the manifest, readBundle) → with one-hot routing the composed weights equal each
// expert; at a low rank they do not (the test can fail).
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../core/safetensors/index.ts';
import { readBundle } from '../../core/twin/index.ts';
import { parseModelConfig } from '../../model/config.ts';
import { buildDecoderGraph } from '../../model/onnx/decoder.ts';
import { randomCheckpoint } from '../../model/random.ts';
import { fileFetch, folderUrl } from '../../node/fileFetch.ts';
import { loadBundle } from '../../runtime/bundleLoader.ts';
import { CpuComposer } from '../../runtime/composer/cpuComposer.ts';
import { toGraphLayout } from '../../runtime/weights.ts';
import { tinyConfig } from '../../testing/tinyModel.ts';
import { parsePackConfig } from './config.ts';
import { pack } from './pack.ts';

const CONFIG = tinyConfig({ vocab_size: 264, bos_token_id: 256, eos_token_id: 258 });
const spec = parseModelConfig(CONFIG);
const base = randomCheckpoint(spec, 1);
const experts = [11, 12, 13].map((seed) => {
  const noise = randomCheckpoint(spec, seed);
  return new Map([...base].map(([n, b]) => [n, b.map((x, i) => x + 0.3 * (noise.get(n)![i]! - (n.endsWith('norm.weight') ? 1 : 0)))]));
});
const IDS = ['alpha', 'beta', 'gamma'];
let dir: string;

async function writeCheckpoint(path: string, weights: Map<string, Float32Array>): Promise<void> {
  await cp(resolve('models/base'), path, { recursive: true, filter: (src) => !src.endsWith('.safetensors') });
  await writeFile(join(path, 'config.json'), JSON.stringify(CONFIG));
  await writeFile(join(path, 'model.safetensors'), encodeSafetensors([...weights].map(([name, data]) => ({ name, dtype: 'F32', shape: weightShape(name), data }))));
}
const shapes = new Map(buildDecoderGraph(spec, { weights: 'inputs' }).io.weightInputs.map((w) => [w.name, w.shape]));
const weightShape = (name: string): number[] => shapes.get(name)!;

async function packAt(rank: number, out: string) {
  const splits = (t: number) => Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `${IDS[t]} question ${i}`, answer: 'x' })).join('\n');
  for (const [t, id] of IDS.entries()) {
    await writeFile(join(dir, `${id}.jsonl`), splits(t));
    await writeFile(join(dir, `${id}.examples.json`), JSON.stringify({ prompts: [`${id} question`], name: id }));
  }
  const raw = {
    base: 'base',
    experts: IDS.map((id) => ({ id, path: `experts/${id}`, examples: `${id}.examples.json`, train: `${id}.jsonl`, val: `${id}.jsonl` })),
    merge: { method: 'task_arithmetic', params: { lambda: 0.3 } },
    exclusive: { rank: { fixed: rank }, dtype: 'f32' },
    shared: { dtype: 'f32' },
    router: { hidden: [8], trainPerExpert: 8, valPerExpert: 4, testPerExpert: 4 },
    includeFullWeights: false,
    output: out,
  };
  return pack(parsePackConfig(raw, join(dir, 'pack.yaml'), dir), () => undefined);
}

async function composedErrors(out: string): Promise<number[]> {
  const bundle = await loadBundle(folderUrl(join(dir, out)), { fetch: fileFetch });
  const weights = buildDecoderGraph(spec, { weights: 'inputs' }).io.weightInputs;
  const tb = readBundle(bundle.manifest, (p) => bundle.files.get(p)!, weights);
  const composer = new CpuComposer();
  for (const w of weights) composer.addWeight(w, tb.shared.get(w.name)!);
  composer.setExperts(tb.experts.map((e) => ({ id: e.entry.id, module: e.module })));
  const errs: number[] = [];
  for (const [t, id] of IDS.entries()) {
    await composer.compose(new Map([[id, 1]]));
    let worst = 0;
    for (const w of weights) {
      const want = toGraphLayout(w, experts[t]!.get(w.name)!);
      const got = await composer.readOutput(w.name);
      let diff = 0, scale = 0;
      want.forEach((x, i) => ((diff = Math.max(diff, Math.abs(x - got[i]!))), (scale = Math.max(scale, Math.abs(x)))));
      worst = Math.max(worst, diff / scale);
    }
    errs.push(worst);
  }
  return errs;
}

describe('twinmerge pack on a tiny random zoo', () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'twinmerge-pack-'));
    await writeCheckpoint(join(dir, 'base'), base);
    for (const [t, id] of IDS.entries()) await writeCheckpoint(join(dir, 'experts', id), experts[t]!);
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it('at full rank, the bundle read back composes every expert exactly (one-hot routing)', async () => {
    const { manifest, report } = await packAt(1 << 20, 'full');
    expect(manifest.experts.map((e) => e.id)).toEqual(IDS);
    expect(report.experts.every((e) => e.meanRelErr < 1e-5)).toBe(true);
    for (const e of await composedErrors('full')) expect(e).toBeLessThan(1e-5);
  }, 120_000);

  it('at rank 2 it does not', async () => {
    await packAt(2, 'r2');
    for (const e of await composedErrors('r2')) expect(e).toBeGreaterThan(1e-3);
  }, 120_000);
});
