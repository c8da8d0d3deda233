// A whole Twin-Merging session in Node on the demo bundle (models/bundle), with the CPU composer and
// onnxruntime-web's WASM build: route each fixture prompt, compose, generate; the answers must be the
// fine-tuned experts' own (models/fixtures, PyTorch greedy). Then add the PEFT adapter the zoo ships
// (models/adapters/caesar), use it, remove it, and check the router is restored bit for bit; and a
// fully fine-tuned checkpoint (models/checkpoints/double) whose module the session extracts.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractMain } from '../../cli/extract.ts';
import { routerToTensors, type RouterModel } from '../../core/router/index.ts';
import { readModule, type ExclusiveModule } from '../../core/twin/index.ts';
import { openNodeSession } from '../../testing/nodeSession.ts';
import { moduleDiff } from '../../core/twin/moduleDiff.ts';
import type { TwinSession } from './session.ts';

const BUNDLE = resolve('models/bundle');
const BUNDLE_EXPERTS = ['add', 'reverse', 'sort', 'upper', 'vowels', 'help'];
const FIX = resolve('models/fixtures');
const SETTINGS = { temperature: 0, topK: 0, topP: 1, maxNewTokens: 100, seed: 0, routingTemperature: 1, routingTopK: 0 };

interface Generation {
  task: string;
  prompt: string;
  text: string;
  min_top2_logit_margin: number;
}
const fixture = async (name: string): Promise<Generation[]> => (JSON.parse(await readFile(resolve(FIX, `generations_${name}.json`), 'utf8')) as { generations: Generation[] }).generations;

/** Every parameter of a router, as bytes: equal arrays ⇔ the same router bit for bit. */
function routerBytes(m: RouterModel): Record<string, number[]> {
  const { tensors, metadata } = routerToTensors(m);
  const out: Record<string, number[]> = { metadata: [...new TextEncoder().encode(JSON.stringify(metadata))] };
  for (const [k, t] of tensors) out[k] = [...new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)];
  return out;
}

describe('TwinSession in Node (CPU composer, WASM engine)', () => {
  let session: TwinSession;
  const ask = (text: string, settings = SETTINGS) => session.generate([{ role: 'user', content: text }], settings, { kind: 'twin' }, () => undefined, new AbortController().signal);

  beforeAll(async () => {
    session = await openNodeSession(BUNDLE, 'Node test');
  }, 120_000);
  afterAll(async () => session?.dispose());

  it('routes each task to its expert and answers as the fine-tuned expert does (within Twin-Merging’s measured recovery)', async () => {
    // Twin-Merging approximates each expert: the shipped setting (λ 0.2, rank 16, 21% of an expert's
    // bytes) scores 79 normalized on test (docs/results/eval.md), so ≥ 70% of these answers must be
    // the expert's (a regression in composition or routing falls far below), routing ≥ 95%.
    let n = 0;
    let routed = 0;
    let same = 0;
    const misses: string[] = [];
    for (const expert of BUNDLE_EXPERTS) {
      for (const g of (await fixture(`expert_${expert}`)).filter((x) => x.task === expert)) {
        const r = await ask(g.prompt);
        const top = Object.entries(r.routing).sort((a, b) => b[1] - a[1])[0]!;
        if (top[0] === expert) routed++;
        if (r.text.trim() === g.text.trim()) same++;
        else misses.push(`${expert}: "${g.prompt}" → "${r.text}" (expert: "${g.text}")`);
        expect(r.timings.generatedTokens).toBeGreaterThan(0);
        n++;
      }
    }
    console.log(`${n} fixture prompts: ${routed} routed to their expert, ${same} answered as the expert does${misses.length ? `; differing: ${misses.join('; ')}` : ''}`);
    expect(n).toBeGreaterThanOrEqual(6 * 8);
    expect(routed / n).toBeGreaterThanOrEqual(0.95);
    expect(same / n).toBeGreaterThanOrEqual(0.7);
  }, 300_000);

  it('a chat longer than the model’s 256 positions keeps working: the oldest turns are left out', async () => {
    const g = (await fixture('expert_upper')).find((x) => x.task === 'upper')!;
    const long = 'Tiny demo, try: 12 + 30 = ? / Reverse cat / Sort dog / Uppercase hen / Remove vowels: apple';
    const history = Array.from({ length: 4 }, (_, i) => [{ role: 'user' as const, content: `hello ${i}` }, { role: 'assistant' as const, content: long }]).flat();
    const r = await session.generate([...history, { role: 'user', content: g.prompt }], SETTINGS, { kind: 'expert', expertId: 'upper' }, () => undefined, new AbortController().signal);
    expect(r.text.trim()).toBe(g.text.trim());
    expect(r.droppedTurns).toBeGreaterThan(0);
    expect((await ask(g.prompt)).droppedTurns).toBe(0);
  }, 60_000);

  it('says when no expert fits: far-off prompts and a prompt whose expert is switched off; task prompts are confident', async () => {
    const R = { routingTemperature: 1, routingTopK: 0 };
    for (const p of ['12345678', '!!!???']) expect((await session.route(p, R)).confidence, p).toMatchObject({ confident: false, reason: 'far' });
    for (const expert of ['add', 'reverse', 'upper']) {
      for (const g of (await fixture(`expert_${expert}`)).filter((x) => x.task === expert)) expect((await session.route(g.prompt, R)).confidence?.confident, g.prompt).toBe(true);
    }
    const g = (await fixture('expert_upper')).find((x) => x.task === 'upper')!;
    session.setEnabled('upper', false);
    try {
      const r = await ask(g.prompt);
      expect(r.confidence).toMatchObject({ confident: false, reason: 'uncertain' });
    } finally {
      session.setEnabled('upper', true);
    }
  }, 120_000);

  it('the compare variants: the expert’s own full weights give the fixture answer; the static merge differs', async () => {
    const g = (await fixture('expert_reverse')).find((x) => x.task === 'reverse')!;
    const own = await session.generate([{ role: 'user', content: g.prompt }], SETTINGS, { kind: 'expert', expertId: 'reverse' }, () => undefined, new AbortController().signal);
    expect(own.text.trim()).toBe(g.text.trim());
    const stat = await session.generate([{ role: 'user', content: g.prompt }], SETTINGS, { kind: 'static' }, () => undefined, new AbortController().signal);
    expect(stat.routing).toEqual({});
    expect(stat.text.trim()).not.toBe(g.text.trim());
  }, 60_000);

  it('adds the PEFT adapter (caesar), routes to it and answers like base + adapter; removing it restores the router bit for bit', async () => {
    const before = routerBytes(session.routerModel());
    const dir = resolve('models/adapters/caesar');
    const files = await Promise.all(['adapter_config.json', 'adapter_model.safetensors'].map(async (name) => ({ name, bytes: new Uint8Array(await readFile(resolve(dir, name))) })));
    const examples = (JSON.parse(await readFile(resolve('models/data/caesar/examples.json'), 'utf8')) as { prompts: string[] }).prompts;
    const inspected = await session.inspect(files);
    if (inspected.format !== 'peft') throw new Error(`read as ${inspected.format}`);
    expect(inspected.warnings).toEqual([]);
    // fan_in_fan_out on Linear targets is ignored as PEFT does, and the user is told.
    const flagged = JSON.stringify({ ...JSON.parse(new TextDecoder().decode(files[0]!.bytes)), fan_in_fan_out: true });
    const withFlag = await session.inspect([{ name: 'adapter_config.json', bytes: new TextEncoder().encode(flagged) }, files[1]!]);
    expect(withFlag.warnings.join(' ')).toMatch(/fan_in_fan_out/);
    expect(withFlag.format === 'peft' && withFlag.module).toEqual(inspected.module);
    const memBefore = session.memory().experts;
    const steps: number[] = [];
    const added = await session.addExpert({ id: 'caesar', name: 'Caesar shift', description: '', examplePrompts: examples.slice(0, 32), files }, (p) => steps.push(p.done));
    expect(steps).toEqual(Array.from({ length: 33 }, (_, i) => i)); // one step per example prompt
    expect(added.reusedFeatures).toBe(false);
    expect(added.features.vectors.length).toBe(32);
    expect(session.listExperts().map((e) => e.id)).toEqual([...BUNDLE_EXPERTS, 'caesar']);
    // Re-added with its stored features (a reload): no model run, the very same router.
    const routerWith = routerBytes(session.routerModel());
    session.removeExpert('caesar');
    const again = await session.addExpert({ id: 'caesar', name: 'Caesar shift', description: '', examplePrompts: examples.slice(0, 32), files, features: added.features });
    expect(again.reusedFeatures).toBe(true);
    expect(routerBytes(session.routerModel())).toEqual(routerWith);
    // Features of another model are not reused.
    session.removeExpert('caesar');
    const other = await session.addExpert({ id: 'caesar', name: 'Caesar shift', description: '', examplePrompts: examples.slice(0, 32), files, features: { ...added.features, key: 'another model' } });
    expect(other.reusedFeatures).toBe(false);
    expect(routerBytes(session.routerModel())).toEqual(routerWith);
    expect(session.memory().experts).toBeGreaterThan(memBefore);
    const gens = (await fixture('base_adapter_caesar')).filter((x) => x.task === 'caesar');
    let same = 0;
    for (const g of gens) {
      const r = await ask(g.prompt);
      expect(Object.entries(r.routing).sort((a, b) => b[1] - a[1])[0]![0], g.prompt).toBe('caesar');
      if (r.text.trim() === g.text.trim()) same++;
    }
    // The app runs shared − D + adapter, D = shared − base stored as f16 factors (99.99% energy, rank
    // ≤ 128), routed with the bundle's dense experts: base + adapter is nearly, not exactly, rebuilt.
    // Measured on the dense-expert zoo: 7/10 (the old rank-4 LoRA zoo: ≥ 9/10); the misses are routing
    // weight on other experts (top-k 1 gives 10/10, checked below); docs/limitations.md.
    console.log(`caesar: ${same}/${gens.length} answers equal base + adapter's`);
    expect(same / gens.length).toBeGreaterThanOrEqual(0.6);
    // Routed to the adapter alone, the session runs base + adapter (up to D's f16 factors): every answer is the fixture's.
    for (const g of gens) expect((await ask(g.prompt, { ...SETTINGS, routingTopK: 1 })).text.trim(), g.prompt).toBe(g.text.trim());
    // A bad file changes nothing.
    await expect(session.addExpert({ id: 'bad', name: 'bad', description: '', examplePrompts: examples.slice(0, 4), files: [{ name: 'x.safetensors', bytes: new Uint8Array(7) }] })).rejects.toThrow(/x\.safetensors/);
    expect(session.listExperts().length).toBe(BUNDLE_EXPERTS.length + 1);
    session.removeExpert('caesar');
    expect(session.listExperts().map((e) => e.id)).toEqual(BUNDLE_EXPERTS);
    expect(routerBytes(session.routerModel())).toEqual(before);
    expect(() => session.removeExpert('add')).toThrow(/part of the bundle/);
  }, 180_000);

  it('a dropped full checkpoint (double): its module, extracted in the session, is `twinmerge extract`’s; it answers as well; a NaN weight changes nothing', async () => {
    const dir = resolve('models/checkpoints/double');
    const files = await Promise.all(['config.json', 'model.safetensors'].map(async (name) => ({ name, bytes: new Uint8Array(await readFile(resolve(dir, name))) })));
    const examples = (JSON.parse(await readFile(resolve('models/data/double/examples.json'), 'utf8')) as { prompts: string[] }).prompts.slice(0, 24);
    const stages: string[] = [];
    const added = await session.addExpert({ id: 'double', name: 'Double letters', description: '', examplePrompts: examples, files }, (p) => stages.push(`${p.stage} ${p.done}/${p.total}`));
    const weights = session.io.weightInputs;
    expect(stages.slice(0, weights.length)).toEqual(weights.map((_, i) => `extract ${i + 1}/${weights.length}`));
    expect(stages.at(-1)).toBe(`features ${examples.length}/${examples.length}`);
    expect(added.moduleFile?.name).toBe('double.safetensors');
    console.log(`double: module extracted in ${added.extractMs.toFixed(0)} ms (${added.moduleFile!.bytes.length} bytes)`);

    // The offline module: `twinmerge extract` on the same checkpoint and bundle.
    const tmp = await mkdtemp(join(tmpdir(), 'tm-extract-'));
    let offline: ExclusiveModule;
    try {
      expect(await extractMain(['--bundle', BUNDLE, '--checkpoint', dir, '--out', join(tmp, 'double.safetensors')])).toBe(0);
      offline = readModule('double.safetensors', new Uint8Array(await readFile(join(tmp, 'double.safetensors'))), weights);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    const inBrowser = readModule('double.safetensors', added.moduleFile!.bytes, weights);
    const diff = moduleDiff(inBrowser, offline);
    console.log(`double: largest relative Frobenius difference, session vs twinmerge extract: factors ${diff.factors}, B A ${diff.product}`);
    expect(diff.factors).toBeLessThan(1e-3);
    expect(diff.product).toBeLessThan(1e-3);

    // Exact match on the task's test prompts, routed among all experts: the extracted module, then the offline one.
    const lines = (await readFile(resolve('models/data/double/test.jsonl'), 'utf8')).trim().split('\n').slice(0, 30);
    const tests = lines.map((l) => JSON.parse(l) as { prompt: string; answer: string });
    let routed = 0;
    const score = async () => {
      let hit = 0;
      for (const t of tests) {
        const r = await ask(t.prompt);
        if (r.text.trim() === t.answer) hit++;
        if (Object.entries(r.routing).sort((a, b) => b[1] - a[1])[0]![0] === 'double') routed++;
      }
      return (100 * hit) / tests.length;
    };
    const extracted = await score();
    session.removeExpert('double');
    await session.addExpert({ id: 'double', name: 'Double letters', description: '', examplePrompts: examples, files: [added.moduleFile!], features: added.features });
    const fromCli = await score();
    console.log(`double: exact match on ${tests.length} test prompts, extracted in the session ${extracted.toFixed(1)}, twinmerge extract's module ${fromCli.toFixed(1)}; routed to double ${routed} of ${2 * tests.length}`);
    expect(Math.abs(extracted - fromCli)).toBeLessThanOrEqual(2);
    // The router learns the new task from its example prompts. (The answers themselves are weak at the
    // bundle's rank 16: a checkpoint outside the merge has none of its task vector in the shared model,
    // so its residual is large; docs/limitations.md.)
    expect(routed / (2 * tests.length)).toBeGreaterThanOrEqual(0.8);
    session.removeExpert('double');

    // A NaN in one weight: a clear error naming the file and tensor, and the experts unchanged.
    const { decodeSafetensors, encodeSafetensors } = await import('../../core/safetensors/index.ts');
    const list = [...decodeSafetensors(files[1]!.bytes).tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: t.data.slice() }));
    const target = list.find((t) => t.name === 'model.layers.2.self_attn.v_proj.weight')!;
    (target.data as Float32Array)[3] = Number.NaN;
    const poisoned = [files[0]!, { name: 'model.safetensors', bytes: encodeSafetensors(list as never) }];
    const before = session.listExperts().map((e) => e.id);
    const err = await session.addExpert({ id: 'double', name: 'Double letters', description: '', examplePrompts: examples, files: poisoned }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ExpertFileError', file: 'model.safetensors', tensor: 'model.layers.2.self_attn.v_proj.weight' });
    expect((err as Error).message).toMatch(/^model\.safetensors contains invalid numbers \(NaN or infinity\) in model\.layers\.2\.self_attn\.v_proj\.weight\./);
    expect(session.listExperts().map((e) => e.id)).toEqual(before);
  }, 300_000);
});
