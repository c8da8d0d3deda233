// Parity with the model zoo's PyTorch fixtures (models/fixtures, written by models/recipe/make_zoo.py)
// and with transformers.js running our standard export. Skips (with a message) until the zoo exists.
// TWINMERGE_ZOO_DIR points elsewhere (e.g. the recipe's smoke output) to run it against another zoo.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toFloat32 } from '../core/safetensors/index.ts';
import { openSafetensorsFile } from '../node/fileSource.ts';
import { buildDecoderGraph } from '../model/onnx/decoder.ts';
import { exportCheckpoint } from '../cli/export.ts';
import { generate } from './generate.ts';
import { openCheckpointDir } from './node/checkpoint.ts';
import { createNodeEngine, loadNodeOrt } from './node/session.ts';
import { loadTokenizerDir } from './node/tokenizer.ts';
import { maxAbsDiff } from './node/testUtil.ts';
import { cpuWeightFeeds } from './weights.ts';
import type { DecoderEngine } from './engine.ts';

const ROOT = resolve(process.env.TWINMERGE_ZOO_DIR ?? 'models');
const HAVE = existsSync(join(ROOT, 'fixtures', 'logits_base.safetensors')) && existsSync(join(ROOT, 'base', 'model.safetensors'));
if (!HAVE) console.log(`zoo parity tests skipped: no fixtures/checkpoints under ${ROOT} yet (models/recipe/make_zoo.py writes them)`);

interface GenFixture {
  checkpoint: string;
  generations: { task: string; prompt: string; input_ids: number[]; generated_ids: number[]; stop_token_id: number | null; min_top2_logit_margin: number }[];
}
const STOP = [258, 256];
const errors: Record<string, number> = {};
afterAll(() => HAVE && console.log('zoo logits max-abs error vs PyTorch:', errors));

async function engineFor(dir: string): Promise<{ engine: DecoderEngine; close: () => Promise<void> }> {
  const ck = await openCheckpointDir(dir);
  const graph = buildDecoderGraph(ck.spec, { weights: 'inputs', hiddenStateOutput: true });
  const engine = await createNodeEngine(ck.spec, graph);
  engine.setWeights(await cpuWeightFeeds(await loadNodeOrt('wasm'), graph.io, (n) => ck.read(n)));
  return { engine, close: async () => { await engine.dispose(); await ck.close(); } };
}

function ckptDir(checkpoint: string): string | null {
  if (checkpoint === 'base') return join(ROOT, 'base');
  const m = /^expert:(\w+)$/.exec(checkpoint);
  return m ? join(ROOT, 'experts', m[1]!) : null; // base+adapter fixtures belong to the PEFT import
}

describe.skipIf(!HAVE)('zoo parity (ORT wasm in Node)', () => {
  for (const [name, dir] of [['base', 'base'], ['expert_add', 'experts/add']] as const) {
    it(`logits of ${name} match PyTorch within 1e-4`, async () => {
      const fx = await openSafetensorsFile(join(ROOT, 'fixtures', `logits_${name}.safetensors`));
      const { engine, close } = await engineFor(join(ROOT, dir));
      let worst = 0;
      for (let i = 0; fx.tensors.has(`seq${i}.input_ids`); i++) {
        const ids = Array.from((await fx.read(`seq${i}.input_ids`)).data as BigInt64Array, Number);
        const want = toFloat32(await fx.read(`seq${i}.logits`));
        engine.resetCache();
        const got = await engine.forward(ids, { allLogits: true });
        worst = Math.max(worst, maxAbsDiff(got.allLogits!, want));
      }
      errors[name] = worst;
      await close();
      await fx.close();
      expect(worst).toBeLessThanOrEqual(1e-4);
    });
  }

  const genFiles = HAVE ? ['base', 'expert_add', 'expert_reverse', 'expert_sort', 'expert_upper', 'expert_caesar'].map((n) => join(ROOT, 'fixtures', `generations_${n}.json`)).filter((p) => existsSync(p)) : [];
  for (const file of genFiles) {
    it(`greedy generations equal ${file.split('/').pop()}`, async () => {
      const fx = JSON.parse(readFileSync(file, 'utf8')) as GenFixture;
      const dir = ckptDir(fx.checkpoint);
      if (!dir || !existsSync(dir)) return;
      const { engine, close } = await engineFor(dir);
      const mismatches: string[] = [];
      for (const g of fx.generations) {
        engine.resetCache();
        const r = await generate(engine, g.input_ids, { maxNewTokens: 32, eosTokenIds: STOP });
        if (JSON.stringify(r.tokens) !== JSON.stringify(g.generated_ids)) mismatches.push(`${g.task} "${g.prompt}" (margin ${g.min_top2_logit_margin})`);
      }
      await close();
      expect(mismatches).toEqual([]);
    });
  }

  it('tokenizer + chat template through transformers.js reproduce the fixture prompt ids', async () => {
    const tok = await loadTokenizerDir(join(ROOT, 'base'));
    const fx = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'generations_base.json'), 'utf8')) as GenFixture;
    for (const g of fx.generations.slice(0, 10)) {
      expect(tok.encodeChat([{ role: 'user', content: g.prompt }])).toEqual(g.input_ids);
    }
  });

  it('transformers.js on our standard export gives the same greedy tokens as our engine (expert add)', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'tm-export-'));
    try {
      await exportCheckpoint(join(ROOT, 'experts', 'add'), join(tmp, 'expert_add'));
      const tf = await import('@huggingface/transformers');
      tf.env.allowRemoteModels = false;
      tf.env.allowLocalModels = true;
      tf.env.localModelPath = `${tmp}/`;
      const model = await tf.AutoModelForCausalLM.from_pretrained('expert_add', { device: 'cpu', dtype: 'fp32' });
      const fx = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'generations_expert_add.json'), 'utf8')) as GenFixture;
      const { engine, close } = await engineFor(join(ROOT, 'experts', 'add'));
      const diffs: string[] = [];
      for (const g of fx.generations) {
        const ids = new tf.Tensor('int64', BigInt64Array.from(g.input_ids, BigInt), [1, g.input_ids.length]);
        const out = (await model.generate({ input_ids: ids, max_new_tokens: 32, do_sample: false })) as { tolist(): bigint[][] };
        let theirs = out.tolist()[0]!.map(Number).slice(g.input_ids.length);
        if (theirs.length > 0 && STOP.includes(theirs[theirs.length - 1]!)) theirs = theirs.slice(0, -1);
        engine.resetCache();
        const ours = await generate(engine, g.input_ids, { maxNewTokens: 32, eosTokenIds: STOP });
        if (JSON.stringify(ours.tokens) !== JSON.stringify(theirs)) diffs.push(g.prompt);
      }
      await close();
      await model.dispose();
      expect(diffs).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
