// `twinmerge synth`: random checkpoints at the exact HF layout of real small models (no hub here),
// for pack, the app and the benchmarks at real sizes (issue 12). One folder:
//   base/, experts/e0..e{n-1}/   config.json, bf16 safetensors shards + model.safetensors.index.json,
//                                tokenizer files (the demo's byte-level tokenizer: ids < 259)
//   adapters/lora/               a PEFT LoRA adapter (r 8, every projection) trained "on the base"
//   data/e*/                     prompts for the router (train/val/test.jsonl, examples.json)
//   pack.yaml                    a pack config for all of it; synth.json: what was made (a cache key)
// Each expert is base + tau_t with a fine-tune-like spectrum: a dense part every expert shares plus
// a task-specific low-rank part with decaying singular values (||tau|| / ||theta|| ≈ 2%). Tensors are
// made one at a time from per-tensor seeds and streamed into every checkpoint's shard at once.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { mulberry32 } from '../../core/tensor/random.ts';
import { parseModelConfig, specToHFConfig } from '../../model/config.ts';
import { KNOWN_SHAPES, type KnownShape } from '../../model/knownConfigs.ts';
import { expectedTensors, type WeightInfo } from '../../model/llama.ts';
import { randomTensor } from '../../model/random.ts';
import { createSafetensorsWriter, type SafetensorsFileWriter } from '../../node/streamWriter.ts';

/** Where synthetic checkpoints are cached (git-ignored). */
export const SYNTH_CACHE = '.cache/synth';

export interface SynthOptions {
  readonly shape: KnownShape;
  readonly out: string;
  /** Fine-tuned experts (default 4). */
  readonly experts?: number;
  /** Fewer layers than the real model (tests); the embedding keeps its real size. */
  readonly layers?: number;
  /** Largest shard in bytes (default 100 MB; HF uses 5 GB, smaller shards exercise the index). */
  readonly shardBytes?: number;
  readonly seed?: number;
  /** Where tokenizer.json / tokenizer_config.json are copied from. */
  readonly tokenizerDir: string;
  readonly onProgress?: (done: number, total: number, tensor: string) => void;
}

export interface SynthReport {
  readonly shape: KnownShape;
  readonly layers: number;
  readonly experts: number;
  readonly params: number;
  readonly shards: number;
  readonly seed: number;
  /** ||tau_t|| / ||theta_0|| over all tensors, per expert. */
  readonly tauOverTheta: number[];
  readonly seconds: number;
}

const SHARED_SHARE = 0.012; // the dense part every expert shares, relative to ||W||
const TASK_SHARE = 0.016; // each expert's own low-rank part, relative to ||W||
const TASK_RANK = 16;
const LORA_RANK = 8;
const LORA_TARGETS = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'];

/** A stable 32-bit seed per (seed, tensor, part). */
function seedOf(seed: number, ...parts: string[]): number {
  let h = 2166136261 ^ seed;
  for (const c of parts.join('|')) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

const norm = (x: Float32Array): number => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** Adds scale * (sum_i sigma_i u_i v_i^T) with Gaussian u, v and sigma_i = exp(-i/4), normalised to ||.||_F = scale. */
function addLowRank(w: Float32Array, rows: number, cols: number, rank: number, scale: number, seed: number): void {
  const g = gaussian(mulberry32(seed));
  const part = new Float32Array(rows * cols);
  const v = new Float32Array(cols);
  for (let i = 0; i < rank; i++) {
    const s = Math.exp(-i / 4);
    for (let j = 0; j < cols; j++) v[j] = g();
    for (let r = 0; r < rows; r++) {
      const a = s * g();
      const o = r * cols;
      for (let j = 0; j < cols; j++) part[o + j] = part[o + j]! + a * v[j]!;
    }
  }
  const k = scale / (norm(part) || 1);
  for (let i = 0; i < w.length; i++) w[i] = w[i]! + k * part[i]!;
}

/** Dense Gaussian noise of Frobenius norm `scale`. */
function addDense(w: Float32Array, scale: number, seed: number): void {
  const g = gaussian(mulberry32(seed));
  const k = scale / Math.sqrt(w.length);
  for (let i = 0; i < w.length; i++) w[i] = w[i]! + k * g();
}

/** Shards of at most `maxBytes` (bf16), in tensor order; a tensor larger than that gets its own. */
function planShards(tensors: readonly WeightInfo[], maxBytes: number): WeightInfo[][] {
  const shards: WeightInfo[][] = [[]];
  let bytes = 0;
  for (const t of tensors) {
    const b = 2 * t.shape.reduce((a, c) => a * c, 1);
    if (bytes + b > maxBytes && shards[shards.length - 1]!.length) (shards.push([]), (bytes = 0));
    shards[shards.length - 1]!.push(t);
    bytes += b;
  }
  return shards;
}

const shardName = (i: number, n: number) => `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;

export async function synthesize(o: SynthOptions): Promise<SynthReport> {
  const t0 = Date.now();
  const T = o.experts ?? 4;
  const seed = o.seed ?? 0;
  const real = KNOWN_SHAPES[o.shape];
  const hf = { ...real, num_hidden_layers: o.layers ?? real.num_hidden_layers };
  const spec = parseModelConfig(hf);
  const tensors = expectedTensors(spec); // a tied head is not listed, as tied checkpoints store none
  const params = tensors.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
  const shards = planShards(tensors, o.shardBytes ?? 100e6);
  const dirs = ['base', ...Array.from({ length: T }, (_, t) => join('experts', `e${t}`))];
  await rm(o.out, { recursive: true, force: true });

  const writers: SafetensorsFileWriter[][] = [];
  const shardOf = new Map<string, number>();
  shards.forEach((s, i) => s.forEach((t) => shardOf.set(t.name, i)));
  try {
    for (const d of dirs) {
      const dir = join(o.out, d);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'config.json'), JSON.stringify({ ...hf, ...specToHFConfig(spec), architectures: [spec.family === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'], torch_dtype: 'bfloat16' }, null, 2));
      await writeFile(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 258 }));
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(join(o.tokenizerDir, f), join(dir, f));
      const weightMap: Record<string, string> = {};
      for (const t of tensors) weightMap[t.name] = shardName(shardOf.get(t.name)!, shards.length);
      await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 2 * params }, weight_map: weightMap }, null, 2));
      writers.push(await Promise.all(shards.map((s, i) => createSafetensorsWriter(join(dir, shardName(i, shards.length)), s.map((t) => ({ name: t.name, dtype: 'BF16', shape: t.shape })), { format: 'pt' }))));
    }

    const tau2 = new Array<number>(T).fill(0);
    let theta2 = 0;
    for (const [i, w] of tensors.entries()) {
      const base = randomTensor(w, mulberry32(seedOf(seed, w.name, 'base')));
      const wNorm = norm(base);
      theta2 += wNorm * wNorm;
      const shard = shardOf.get(w.name)!;
      await writers[0]![shard]!.write(w.name, base);
      const shared = new Float32Array(base.length);
      addDense(shared, SHARED_SHARE * wNorm, seedOf(seed, w.name, 'shared'));
      for (let t = 0; t < T; t++) {
        const x = Float32Array.from(shared);
        if (w.shape.length === 2) addLowRank(x, w.shape[0]!, w.shape[1]!, TASK_RANK, TASK_SHARE * wNorm, seedOf(seed, w.name, `task${t}`));
        else addDense(x, TASK_SHARE * wNorm, seedOf(seed, w.name, `task${t}`));
        tau2[t] = tau2[t]! + x.reduce((s, v) => s + v * v, 0);
        for (let k = 0; k < x.length; k++) x[k] = x[k]! + base[k]!;
        await writers[t + 1]![shard]!.write(w.name, x);
      }
      o.onProgress?.(i + 1, tensors.length, w.name);
    }
    for (const ws of writers) for (const w of ws) await w.close();
    writers.length = 0;

    await writeLora(o.out, spec.numLayers, tensors, seed);
    await writeData(o.out, T);
    await writePackConfig(o.out, T);
    const report: SynthReport = { shape: o.shape, layers: spec.numLayers, experts: T, params, shards: shards.length, seed, tauOverTheta: tau2.map((x) => Math.sqrt(x / theta2)), seconds: (Date.now() - t0) / 1000 };
    await writeFile(join(o.out, 'synth.json'), JSON.stringify(report, null, 2));
    return report;
  } finally {
    for (const ws of writers) for (const w of ws) await w.abort().catch(() => undefined);
  }
}

/** A PEFT LoRA adapter on every projection: A Gaussian [r, in], B [out, r] scaled to ||B A|| ≈ 2% of ||W||. */
async function writeLora(out: string, layers: number, tensors: readonly WeightInfo[], seed: number): Promise<void> {
  const dir = join(out, 'adapters', 'lora');
  await mkdir(dir, { recursive: true });
  const targets = tensors.filter((t) => t.shape.length === 2 && LORA_TARGETS.some((m) => t.name.endsWith(`.${m}.weight`)));
  const specs = targets.flatMap((t) => {
    const stem = `base_model.model.${t.name.replace(/\.weight$/, '')}`;
    return [
      { name: `${stem}.lora_A.weight`, dtype: 'F32' as const, shape: [LORA_RANK, t.shape[1]!] },
      { name: `${stem}.lora_B.weight`, dtype: 'F32' as const, shape: [t.shape[0]!, LORA_RANK] },
    ];
  });
  const w = await createSafetensorsWriter(join(dir, 'adapter_model.safetensors'), specs, { format: 'pt' });
  const alpha = 2 * LORA_RANK;
  for (const t of targets) {
    const [rows, cols] = t.shape as [number, number];
    const g = gaussian(mulberry32(seedOf(seed, t.name, 'lora')));
    const A = Float32Array.from({ length: LORA_RANK * cols }, () => g() / Math.sqrt(cols));
    // W's entries have standard deviation ~ 1/sqrt(3 cols) (randomTensor); B A (times alpha/r) ≈ 2% of that.
    const bStd = (0.02 * Math.sqrt(1 / 3) * Math.sqrt(cols)) / Math.sqrt(cols * LORA_RANK) / (alpha / LORA_RANK);
    const B = Float32Array.from({ length: rows * LORA_RANK }, () => bStd * g());
    const stem = `base_model.model.${t.name.replace(/\.weight$/, '')}`;
    await w.write(`${stem}.lora_A.weight`, A);
    await w.write(`${stem}.lora_B.weight`, B);
  }
  await w.close();
  await writeFile(
    join(dir, 'adapter_config.json'),
    JSON.stringify({ peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: '../../base', r: LORA_RANK, lora_alpha: alpha, lora_dropout: 0, target_modules: LORA_TARGETS, bias: 'none', fan_in_fan_out: false, layers_to_transform: null, note: `random, ${layers} layers` }, null, 2),
  );
  await writeFile(join(dir, 'examples.json'), JSON.stringify({ name: 'Random LoRA', description: 'a random LoRA adapter (twinmerge synth)', prompts: ['lora task example 1: abc', 'lora task example 2: abcd', 'lora task example 3: ab'] }, null, 2));
}

async function writeData(out: string, T: number): Promise<void> {
  for (let t = 0; t < T; t++) {
    const d = join(out, 'data', `e${t}`);
    await mkdir(d, { recursive: true });
    const lines = (n: number, off: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ prompt: `task ${t} example ${off + i}: ${'abcdefgh'.slice(0, 1 + ((i + t) % 8))}`, answer: 'x' })).join('\n');
    await writeFile(join(d, 'train.jsonl'), lines(8, 0));
    await writeFile(join(d, 'val.jsonl'), lines(4, 100));
    await writeFile(join(d, 'test.jsonl'), lines(4, 200));
    await writeFile(join(d, 'examples.json'), JSON.stringify({ prompts: [`task ${t} example`], name: `Random expert ${t}` }));
  }
}

async function writePackConfig(out: string, T: number): Promise<void> {
  const experts = Array.from({ length: T }, (_, t) => ({ id: `e${t}`, path: `experts/e${t}`, examples: `data/e${t}/examples.json`, train: `data/e${t}/train.jsonl`, val: `data/e${t}/val.jsonl`, test: `data/e${t}/test.jsonl` }));
  const cfg = {
    base: 'base',
    experts,
    merge: { method: 'task_arithmetic', params: { lambda: 0.3 } },
    exclusive: { rank: { fixed: 16 }, dtype: 'f16' },
    shared: { dtype: 'f16' },
    router: { hidden: [16], trainPerExpert: 8, valPerExpert: 4, testPerExpert: 4 },
    includeFullWeights: false,
    output: 'bundle',
  };
  await writeFile(join(out, 'pack.yaml'), `# Made by twinmerge synth: random checkpoints at a real shape (paths relative to this file).\n${stringify(cfg)}`);
}

/** The report of an existing folder made with the same options, or undefined (then make it again). */
export async function cachedSynth(o: Pick<SynthOptions, 'shape' | 'out' | 'experts' | 'layers' | 'seed'>): Promise<SynthReport | undefined> {
  try {
    const r = JSON.parse(await readFile(join(o.out, 'synth.json'), 'utf8')) as SynthReport;
    const layers = o.layers ?? KNOWN_SHAPES[o.shape].num_hidden_layers;
    return r.shape === o.shape && r.layers === layers && r.experts === (o.experts ?? 4) && r.seed === (o.seed ?? 0) ? r : undefined;
  } catch {
    return undefined;
  }
}
