/**
 * Engine benchmark (Node): prefill and decode tokens/s of our engine vs transformers.js running
 * our standard export of the same model, on the same EP (onnxruntime-node CPU), plus ours on
 * onnxruntime-web's wasm. Writes docs/results/engine-bench.{json,md}.
 *   npx tsx src/cli/main.ts bench-engine [--zoo=models] [--big] [--prompt=64] [--decode=32]
 * --big adds the SmolLM2-135M-shaped random model (slow on 2 cores).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseModelConfig, specToHFConfig, type ModelSpec } from '../model/config.ts';
import { buildDecoderGraph } from '../model/onnx/decoder.ts';
import { randomCheckpoint } from '../model/random.ts';
import { generate } from '../runtime/generate.ts';
import { openCheckpointDir } from '../runtime/node/checkpoint.ts';
import { createNodeEngine, loadNodeOrt, type NodeBackend } from '../runtime/node/session.ts';
import { cpuWeightFeeds, type WeightSource } from '../runtime/weights.ts';
import { median } from './bench/shapes.ts';
import { tokenTimings, type TokenTimings } from './bench/tokenTimings.ts';

interface Row {
  model: string;
  ep: string;
  impl: 'ours' | 'transformers.js';
  promptTokens: number;
  /** Medians over the rounds: prefill = prompt tokens / (call → first token); decode = 1 / the median step (first token → last). */
  prefillTokS: number;
  decodeTokS: number;
  /** Decode tokens / (first token → last): stalls included. */
  decodeThroughputTokS: number;
  /** Every round's figures (ours and transformers.js alternate round by round). */
  rounds: { prefillTokS: number; decodeTokS: number; decodeThroughputTokS: number }[];
}

type Timed = { prefill: number; decode: number; throughput: number };
const timed = (promptLen: number, decode: number, t: TokenTimings): Timed => ({
  prefill: promptLen / (t.prefillMs / 1000),
  decode: 1000 / t.stepMs,
  throughput: decode / (t.decodeMs / 1000),
});
/** A loaded model: `run()` times one greedy generation; `close()` frees it. */
type Bench = { run: () => Promise<Timed>; close: () => Promise<void> };

async function benchOurs(spec: ModelSpec, get: WeightSource, backend: NodeBackend, prompt: number[], decode: number): Promise<Bench> {
  const graph = buildDecoderGraph(spec, { weights: 'inputs', logits: 'last' });
  const engine = await createNodeEngine(spec, graph, { backend });
  engine.setWeights(await cpuWeightFeeds(await loadNodeOrt(backend), graph.io, get));
  await generate(engine, prompt.slice(0, 4), { maxNewTokens: 2, eosTokenIds: [] }); // warm-up
  return {
    run: async () => {
      engine.resetCache();
      const stamps: number[] = [];
      const t0 = performance.now();
      await generate(engine, prompt, { maxNewTokens: decode + 1, eosTokenIds: [], onToken: () => void stamps.push(performance.now()) });
      return timed(prompt.length, decode, tokenTimings(t0, stamps));
    },
    close: () => engine.dispose(),
  };
}

async function benchTransformersJs(spec: ModelSpec, get: WeightSource, prompt: number[], decode: number): Promise<Bench> {
  const tmp = mkdtempSync(join(tmpdir(), 'tm-bench-'));
  {
    const data = new Map<string, Float32Array>();
    const graph0 = buildDecoderGraph(spec, { weights: 'inputs' });
    for (const w of graph0.io.weightInputs) data.set(w.name, await get(w.name));
    const graph = buildDecoderGraph(spec, { weights: 'initializers', weight: (n) => data.get(n)! });
    mkdirSync(join(tmp, 'm', 'onnx'), { recursive: true });
    writeFileSync(join(tmp, 'm', 'onnx', 'model.onnx'), graph.bytes);
    writeFileSync(join(tmp, 'm', 'config.json'), JSON.stringify(specToHFConfig(spec)));
    writeFileSync(join(tmp, 'm', 'generation_config.json'), JSON.stringify({}));
    const tf = await import('@huggingface/transformers');
    tf.env.allowRemoteModels = false;
    tf.env.allowLocalModels = true;
    tf.env.localModelPath = `${tmp}/`;
    const model = await tf.AutoModelForCausalLM.from_pretrained('m', { device: 'cpu', dtype: 'fp32', session_options: { intraOpNumThreads: 1 } as never });
    const ids = new tf.Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
    // A streamer stamps each token as generate() emits it (put() once with the prompt, then once per new token).
    const run = async (n: number) => {
      const stamps: number[] = [];
      const streamer = { put: () => void stamps.push(performance.now()), end: () => undefined };
      const t0 = performance.now();
      await model.generate({ input_ids: ids, max_new_tokens: n, min_new_tokens: n, do_sample: false, streamer } as never);
      if (stamps.length !== n + 1) throw new Error(`transformers.js: the streamer saw ${stamps.length} calls, expected ${n + 1}`);
      return tokenTimings(t0, stamps.slice(1));
    };
    await run(2); // warm-up
    return {
      run: async () => timed(prompt.length, decode, await run(decode + 1)),
      close: async () => {
        await model.dispose();
        rmSync(tmp, { recursive: true, force: true });
      },
    };
  }
}

export interface EngineBenchOptions {
  zoo: string;
  promptLen: number;
  decode: number;
  big: boolean;
  /** Alternating rounds of ours and transformers.js on the same EP (default 5). */
  rounds?: number;
  log?: (s: string) => void;
}

export type EngineBenchRow = Row;

/** Runs the Node engine cases and returns the rows (used by `twinmerge bench-engine` and `npm run bench`). */
export async function runEngineBench(o: EngineBenchOptions): Promise<{ rows: Row[]; notes: string[] }> {
  const { zoo, promptLen, decode } = o;
  const log = o.log ?? ((s: string) => console.warn(s));
  const notes: string[] = [];
  const models: { name: string; spec: ModelSpec; get: WeightSource }[] = [];
  if (existsSync(join(zoo, 'base', 'model.safetensors'))) {
    const ck = await openCheckpointDir(join(zoo, 'base'));
    models.push({ name: 'zoo base', spec: ck.spec, get: (n) => ck.read(n) });
  } else {
    notes.push(`no zoo at ${zoo}; a random model of the zoo's shape was used instead`);
    log(notes[notes.length - 1]!);
    const spec = parseModelConfig({ model_type: 'llama', hidden_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 352, vocab_size: 264, max_position_embeddings: 256, tie_word_embeddings: true });
    const w = randomCheckpoint(spec, 1);
    models.push({ name: 'tiny random (zoo shape)', spec, get: (n) => w.get(n)! });
  }
  if (o.big) {
    const spec = parseModelConfig({ model_type: 'llama', hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, intermediate_size: 1536, vocab_size: 49152, max_position_embeddings: 8192, rope_theta: 100000, tie_word_embeddings: true });
    const w = randomCheckpoint(spec, 1, 1);
    models.push({ name: 'SmolLM2-135M shape (random)', spec, get: (n) => w.get(n)! });
  }
  const rows: Row[] = [];
  const rounds = o.rounds ?? 5;
  const row = (model: string, ep: string, impl: Row['impl'], rs: Timed[]): Row => ({
    model, ep, impl, promptTokens: promptLen,
    prefillTokS: median(rs.map((r) => r.prefill)),
    decodeTokS: median(rs.map((r) => r.decode)),
    decodeThroughputTokS: median(rs.map((r) => r.throughput)),
    rounds: rs.map((r) => ({ prefillTokS: r.prefill, decodeTokS: r.decode, decodeThroughputTokS: r.throughput })),
  });
  for (const m of models) {
    const prompt = Array.from({ length: promptLen }, (_, i) => (i * 31 + 7) % Math.min(m.spec.vocabSize, 256));
    // Ours on onnxruntime-node's CPU EP and transformers.js (the same EP) alternate round by round, so
    // a slow spell of the machine hits both; ours on onnxruntime-web's wasm rides along.
    log(`engine: ${m.name}: ${rounds} alternating rounds of ours (cpu, wasm) and transformers.js (cpu)`);
    const cpu = await benchOurs(m.spec, m.get, 'cpu', prompt, decode);
    const wasm = await benchOurs(m.spec, m.get, 'wasm', prompt, decode);
    const tjs = await benchTransformersJs(m.spec, m.get, prompt, decode);
    const got: Record<'cpu' | 'wasm' | 'tjs', Timed[]> = { cpu: [], wasm: [], tjs: [] };
    try {
      for (let i = 0; i < rounds; i++) {
        const order = i % 2 ? (['tjs', 'cpu', 'wasm'] as const) : (['cpu', 'tjs', 'wasm'] as const);
        for (const k of order) got[k].push(await { cpu, wasm, tjs }[k].run());
      }
    } finally {
      for (const b of [cpu, wasm, tjs]) await b.close();
    }
    rows.push(row(m.name, 'onnxruntime-node cpu', 'ours', got.cpu), row(m.name, 'onnxruntime-web wasm (Node)', 'ours', got.wasm), row(m.name, 'onnxruntime-node cpu', 'transformers.js', got.tjs));
  }
  return { rows, notes };
}

export async function benchEngineMain(args: string[]): Promise<number> {
  const opt = (k: string, d: string) => args.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d;
  const zoo = opt('zoo', 'models');
  const promptLen = Number(opt('prompt', '64'));
  const decode = Number(opt('decode', '32'));
  const { rows } = await runEngineBench({ zoo, promptLen, decode, big: args.includes('--big') });
  const lines = [
    '# Engine benchmark (Node)',
    '',
    `prompt ${promptLen} tokens, ${decode} decode tokens, greedy, batch 1, 1 thread, fp32. Generated by \`twinmerge bench-engine\`.`,
    '',
    '| model | EP | impl | prefill tok/s | decode tok/s | decode ratio ours/transformers.js |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const tj = rows.find((x) => x.model === r.model && x.ep === r.ep && x.impl === 'transformers.js');
    const ratio = r.impl === 'ours' && tj ? (r.decodeTokS / tj.decodeTokS).toFixed(2) : '';
    lines.push(`| ${r.model} | ${r.ep} | ${r.impl} | ${r.prefillTokS.toFixed(0)} | ${r.decodeTokS.toFixed(1)} | ${ratio} |`);
  }
  mkdirSync('docs/results', { recursive: true });
  writeFileSync('docs/results/engine-bench.json', `${JSON.stringify({ date: new Date().toISOString(), promptLen, decode, rows }, null, 2)}\n`);
  writeFileSync('docs/results/engine-bench.md', `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
  return 0;
}
