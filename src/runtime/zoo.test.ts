// Parity with the model zoo's PyTorch fixtures (models/fixtures, written by models/recipe/make_zoo.py)
// and with transformers.js running our standard export. The zoo is committed: every fixture listed
// in models/README.md must be there (a missing one fails its test), including the base + caesar PEFT
// adapter ones, which run through the PEFT import (pack's adapter folder) to fold the adapter.
// TWINMERGE_ZOO_DIR points elsewhere (e.g. the recipe's smoke output) to run it against another zoo;
// only such an external zoo is skipped (with a message) when it has no checkpoints yet.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toFloat32 } from '../core/safetensors/index.ts';
import { openSafetensorsFile } from '../node/fileSource.ts';
import { buildDecoderGraph } from '../model/onnx/decoder.ts';
import { exportCheckpoint } from '../cli/export.ts';
import { foldLoraAdapter } from '../cli/pack/lora.ts';
import { openBase, openExpert } from '../cli/pack/sources.ts';
import { generate } from './generate.ts';
import { openCheckpointDir } from './node/checkpoint.ts';
import { createNodeEngine, loadNodeOrt } from './node/session.ts';
import { loadTokenizerDir } from './node/tokenizer.ts';
import { maxAbsDiff } from '../testing/tinyModel.ts';
import { cpuWeightFeeds } from './weights.ts';
import type { DecoderEngine } from './engine.ts';

const ROOT = resolve(process.env.TWINMERGE_ZOO_DIR ?? 'models');
const EXTERNAL = process.env.TWINMERGE_ZOO_DIR !== undefined;
const HAVE = !EXTERNAL || (existsSync(join(ROOT, 'fixtures', 'logits_base.safetensors')) && existsSync(join(ROOT, 'base', 'model.safetensors')));
if (!HAVE) console.log(`zoo parity tests skipped: no fixtures/checkpoints under ${ROOT} yet (models/recipe/make_zoo.py writes them)`);

interface GenFixture {
  checkpoint: string;
  generations: { task: string; prompt: string; reference_answer: string; input_ids: number[]; generated_ids: number[]; stop_token_id: number | null; exact_match: boolean; min_top2_logit_margin: number }[];
}
const STOP = [258, 256];
/** As the recipe's fixtures (models/recipe/make_zoo.py GEN_MAX_NEW: the help answer is ~90 bytes). */
const GEN_MAX_NEW = 100;
const errors: Record<string, number> = {};
afterAll(() => HAVE && console.log('zoo logits max-abs error vs PyTorch:', errors));

/**
 * An engine on a fixture's checkpoint: "base", "expert:<task>" / "checkpoint:<task>" (a full checkpoint folder under experts/ or checkpoints/) or
 * "base+adapter:<name>" (models/adapters/<name> folded onto the base by the PEFT import).
 */
async function engineFor(checkpoint: string): Promise<{ engine: DecoderEngine; close: () => Promise<void> }> {
  const expert = /^(?:expert|checkpoint):(\w+)$/.exec(checkpoint);
  const folder = checkpoint.startsWith('checkpoint:') ? 'checkpoints' : 'experts';
  const adapter = /^base\+adapter:(\w+)$/.exec(checkpoint);
  let spec, read: (n: string) => Promise<Float32Array>, closeWeights: () => Promise<void>;
  if (adapter) {
    const base = await openBase(join(ROOT, 'base'));
    const folded = await openExpert(adapter[1]!, join(ROOT, 'adapters', adapter[1]!), base, foldLoraAdapter);
    spec = base.spec;
    read = (n) => folded.read(n);
    closeWeights = async () => { await folded.close(); await base.close(); };
  } else if (checkpoint === 'base' || expert) {
    const ck = await openCheckpointDir(expert ? join(ROOT, folder, expert[1]!) : join(ROOT, 'base'));
    spec = ck.spec;
    read = (n) => ck.read(n);
    closeWeights = () => ck.close();
  } else {
    throw new Error(`unknown fixture checkpoint ${JSON.stringify(checkpoint)}`);
  }
  const graph = buildDecoderGraph(spec, { weights: 'inputs', hiddenStateOutput: true });
  const engine = await createNodeEngine(spec, graph);
  engine.setWeights(await cpuWeightFeeds(await loadNodeOrt('wasm'), graph.io, read));
  return { engine, close: async () => { await engine.dispose(); await closeWeights(); } };
}

/** The fixtures models/README.md lists; every one must exist. */
const LOGITS = [['base', 'base'], ['expert_add', 'expert:add'], ['base_adapter_caesar', 'base+adapter:caesar']] as const;
const GENERATIONS = ['base', 'expert_add', 'expert_reverse', 'expert_sort', 'expert_upper', 'expert_vowels', 'expert_help', 'checkpoint_double', 'base_adapter_caesar'];

describe.skipIf(!HAVE)('zoo parity (ORT wasm in Node)', () => {
  for (const [name, checkpoint] of LOGITS) {
    it(`logits of ${name} match PyTorch within 1e-4`, async () => {
      const file = join(ROOT, 'fixtures', `logits_${name}.safetensors`);
      expect(existsSync(file), `${file} is missing`).toBe(true);
      const fx = await openSafetensorsFile(file);
      const { engine, close } = await engineFor(checkpoint);
      let worst = 0;
      let seqs = 0;
      for (let i = 0; fx.tensors.has(`seq${i}.input_ids`); i++, seqs++) {
        const ids = Array.from((await fx.read(`seq${i}.input_ids`)).data as BigInt64Array, Number);
        const want = toFloat32(await fx.read(`seq${i}.logits`));
        engine.resetCache();
        const got = await engine.forward(ids, { allLogits: true });
        worst = Math.max(worst, maxAbsDiff(got.allLogits!, want));
      }
      errors[name] = worst;
      await close();
      await fx.close();
      expect(seqs).toBeGreaterThan(0);
      expect(worst).toBeLessThanOrEqual(1e-4);
    });
  }

  for (const name of GENERATIONS) {
    const file = join(ROOT, 'fixtures', `generations_${name}.json`);
    it(`greedy generations equal generations_${name}.json`, async () => {
      expect(existsSync(file), `${file} is missing`).toBe(true);
      const fx = JSON.parse(readFileSync(file, 'utf8')) as GenFixture;
      expect(fx.generations.length).toBeGreaterThan(0);
      const { engine, close } = await engineFor(fx.checkpoint);
      const mismatches: string[] = [];
      const text = new TextDecoder();
      const correct: Record<string, [number, number]> = {};
      for (const g of fx.generations) {
        engine.resetCache();
        const r = await generate(engine, g.input_ids, { maxNewTokens: GEN_MAX_NEW, eosTokenIds: STOP });
        if (JSON.stringify(r.tokens) !== JSON.stringify(g.generated_ids)) mismatches.push(`${g.task} "${g.prompt}" (margin ${g.min_top2_logit_margin})`);
        const c = (correct[g.task] ??= [0, 0]);
        c[0] += Number(text.decode(Uint8Array.from(r.tokens)) === g.reference_answer);
        c[1]++;
      }
      await close();
      expect(mismatches).toEqual([]);
      // The fixture's own exact-match flags (PyTorch) agree with our decoded answers.
      for (const [task, [ok, n]] of Object.entries(correct)) {
        expect(ok, `${name}: ${task}`).toBe(fx.generations.filter((g) => g.task === task && g.exact_match).length);
        if (name === 'base_adapter_caesar' && task === 'caesar') expect(ok / n, 'base + caesar adapter on caesar (models/README.md: 0.897 on test)').toBeGreaterThanOrEqual(0.8);
      }
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
      const { engine, close } = await engineFor('expert:add');
      const diffs: string[] = [];
      for (const g of fx.generations) {
        const ids = new tf.Tensor('int64', BigInt64Array.from(g.input_ids, BigInt), [1, g.input_ids.length]);
        const out = (await model.generate({ input_ids: ids, max_new_tokens: GEN_MAX_NEW, do_sample: false })) as { tolist(): bigint[][] };
        let theirs = out.tolist()[0]!.map(Number).slice(g.input_ids.length);
        if (theirs.length > 0 && STOP.includes(theirs[theirs.length - 1]!)) theirs = theirs.slice(0, -1);
        engine.resetCache();
        const ours = await generate(engine, g.input_ids, { maxNewTokens: GEN_MAX_NEW, eosTokenIds: STOP });
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
