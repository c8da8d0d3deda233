// `twinmerge pack`: base + experts → a bundle (docs/bundle-format.md). Tensor by tensor:
//   tau_t = theta_t - theta_0 → merge → theta_shared (stored f32/f16/int8; what the app computes with
//   is the dequantized value) → E_t = theta_t - dequant(theta_shared) → low rank (2-D) or exact (1-D);
//   D = dequant(theta_shared) - theta_0 in low rank for adapters trained on the base.
// Everything is written into a temporary folder that replaces the output only when complete.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BUNDLE_FORMAT, BUNDLE_VERSION, parseManifest, type Manifest } from '../../core/bundle/manifest.ts';
import { f32ToF16Array } from '../../core/dtype/index.ts';
import { allocateRanksByBudget, factorBytes, frobenius2, multiplyFactors, rankForEnergy, singularValues, truncatedSvd } from '../../core/linalg/index.ts';
import { createMerger, tensorDelta } from '../../core/merge/index.ts';
import { dequantizeF16, dequantizeInt8Rows, quantizeF16, quantizeInt8Rows } from '../../core/quant/index.ts';
import type { TensorSpec } from '../../core/safetensors/index.ts';
import { encodeSafetensors, type TensorInput } from '../../core/safetensors/index.ts';
import { buildDecoderGraph } from '../../model/onnx/decoder.ts';
import type { WeightInfo } from '../../model/llama.ts';
import { createSafetensorsWriter, type SafetensorsFileWriter } from '../../node/streamWriter.ts';
import { Progress } from '../progress.ts';
import type { PackConfig } from './config.ts';
import { foldLoraAdapter } from './lora.ts';
import { trainBundleRouter, type RouterReport } from './router.ts';
import { openBase, openExpert, PackInputError, readFinite, readJson, type WeightSource } from './sources.ts';

export const PACK_VERSION = 'twinmerge pack 0.1.0';

interface Factor {
  rank: number;
  A: Float32Array;
  B: Float32Array;
}
type ModuleEntry = { kind: 'lowrank'; f: Factor } | { kind: 'delta'; delta: Float32Array };

export interface PackReport {
  seconds: number;
  peakRssBytes: number;
  experts: { id: string; bytes: number; fullExpertBytes: number; share: number; meanRelErr: number; maxRank: number }[];
  baseDelta: { maxRank: number; relativeError: number };
  router: RouterReport;
  bundleBytes: number;
}

/** Truncates a full-rank SVD factorization to its first r components. */
function truncate(f: Factor, rows: number, cols: number, r: number): Factor {
  if (r >= f.rank) return f;
  const B = new Float32Array(rows * r);
  for (let i = 0; i < rows; i++) for (let k = 0; k < r; k++) B[i * r + k] = f.B[i * f.rank + k]!;
  return { rank: r, B, A: f.A.slice(0, r * cols) };
}

function factorTensors(name: string, rows: number, cols: number, f: Factor, dtype: 'F32' | 'F16'): TensorInput[] {
  return [
    { name: `${name}.A`, dtype, shape: [f.rank, cols], data: dtype === 'F16' ? f32ToF16Array(f.A) : f.A },
    { name: `${name}.B`, dtype, shape: [rows, f.rank], data: dtype === 'F16' ? f32ToF16Array(f.B) : f.B },
  ];
}

/** Exclusive factors are stored as `dtype`; measure errors against what the app will read back. */
function roundTrip(f: Factor, dtype: 'f32' | 'f16'): Factor {
  return dtype === 'f32' ? f : { rank: f.rank, A: dequantizeF16(quantizeF16(f.A)), B: dequantizeF16(quantizeF16(f.B)) };
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

function readLines(text: string, file: string): { prompt: string; answer: string }[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        const v = JSON.parse(l) as { prompt?: unknown; answer?: unknown };
        if (typeof v.prompt !== 'string' || typeof v.answer !== 'string') throw new Error('needs string "prompt" and "answer"');
        return { prompt: v.prompt, answer: v.answer };
      } catch (e) {
        throw new PackInputError(file, undefined, `line ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
      }
    });
}

export async function readSplit(file: string): Promise<{ prompt: string; answer: string }[]> {
  return readLines(await readFile(file, 'utf8').catch(() => { throw new PackInputError(file, undefined, 'cannot be read'); }), file);
}

interface ExampleFile {
  prompts: string[];
  name?: string;
  description?: string;
}

async function readExamples(file: string): Promise<ExampleFile> {
  const v = await readJson(file);
  const arr = Array.isArray(v) ? v : (v as { prompts?: unknown }).prompts;
  if (!Array.isArray(arr) || arr.length === 0 || arr.some((p) => typeof p !== 'string' || !p)) throw new PackInputError(file, undefined, 'needs a non-empty list of prompt strings (or { prompts: [...] })');
  const o = Array.isArray(v) ? {} : (v as { name?: unknown; description?: unknown });
  return { prompts: arr as string[], ...(typeof o.name === 'string' ? { name: o.name } : {}), ...(typeof o.description === 'string' ? { description: o.description } : {}) };
}

export async function pack(config: PackConfig, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<{ manifest: Manifest; report: PackReport }> {
  const t0 = Date.now();
  let peakRss = process.memoryUsage().rss;
  const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
  const merger = createMerger(config.merge.method, config.merge.params);
  const base = await openBase(config.base);
  const experts: WeightSource[] = [];
  const tmp = `${config.output}.partial-${process.pid}`;
  const writers: SafetensorsFileWriter[] = [];
  try {
    for (const e of config.experts) experts.push(await openExpert(e.id, e.path, base, foldLoraAdapter));
    const examples = await Promise.all(config.experts.map((e) => readExamples(e.examples)));
    const spec = base.spec;
    const weights = base.weights;
    log(`pack: ${spec.family} hidden ${spec.hiddenSize} × ${spec.numLayers} layers, ${weights.length} tensors, ${experts.length} experts, ${merger.method} λ=${merger.params.lambda}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(join(tmp, 'experts'), { recursive: true });

    // Shared weights: layout known up front, written tensor by tensor.
    const sharedDtype = config.shared.dtype;
    const sharedSpecs: TensorSpec[] = weights.flatMap((w): TensorSpec[] => {
      if (w.shape.length === 1 || sharedDtype === 'f32') return [{ name: w.name, dtype: 'F32', shape: w.shape }];
      if (sharedDtype === 'f16') return [{ name: w.name, dtype: 'F16', shape: w.shape }];
      return [
        { name: w.name, dtype: 'I8', shape: w.shape },
        { name: `${w.name}.scale`, dtype: 'F32', shape: [w.shape[0]!] },
      ];
    });
    const sharedWriter = await createSafetensorsWriter(join(tmp, 'shared.safetensors'), sharedSpecs, { format: 'twinmerge-shared', dtype: sharedDtype });
    writers.push(sharedWriter);
    const fullWriters = config.includeFullWeights
      ? await Promise.all(experts.map((e) => createSafetensorsWriter(join(tmp, 'experts', `${e.id}.full.safetensors`), weights.map((w) => ({ name: w.name, dtype: w.shape.length === 1 ? 'F32' : 'F16', shape: w.shape })), { format: 'twinmerge-full', expert: e.id })))
      : [];
    writers.push(...fullWriters);

    const modules = experts.map(() => new Map<string, ModuleEntry>());
    const fullWritten = experts.map(() => new Set<string>());
    const baseDelta = new Map<string, ModuleEntry>();
    const sharedDequant = new Map<string, Float32Array>(); // kept for the router's features (tiny models) — see router.ts
    const rankCfg = config.exclusive.rank;
    const sigmas = experts.map(() => new Map<string, Float64Array>());
    let deltaErrNum = 0;
    let deltaErrDen = 0;
    let deltaMaxRank = 0;

    const bar = new Progress('merge + SVD', weights.length);
    for (const w of weights) {
      const theta0 = await readFinite(base, w.name);
      // Experts are read one at a time (again for each pass), so memory does not grow with their
      // number: the merge streams task vectors, then each E_t is built, factored and dropped.
      const merged = await merger.mergeStreamed(
        experts.length,
        async (t) => {
          const theta = await readFinite(experts[t]!, w.name);
          if (fullWriters[t] && !fullWritten[t]!.has(w.name)) {
            await fullWriters[t]!.write(w.name, w.shape.length === 1 ? theta : f32ToF16Array(theta));
            fullWritten[t]!.add(w.name);
          }
          for (let i = 0; i < theta.length; i++) theta[i] = theta[i]! - theta0[i]!;
          return theta;
        },
        { name: w.name, shape: w.shape },
      );
      const shared = merged;
      for (let i = 0; i < shared.length; i++) shared[i] = theta0[i]! + merged[i]!;
      // Store, and keep exactly what the app will read back.
      let deq: Float32Array;
      if (w.shape.length === 1 || sharedDtype === 'f32') {
        await sharedWriter.write(w.name, shared);
        deq = shared;
      } else if (sharedDtype === 'f16') {
        const bits = quantizeF16(shared, w.name);
        await sharedWriter.write(w.name, bits);
        deq = dequantizeF16(bits);
      } else {
        const q = quantizeInt8Rows(shared, w.shape, w.name);
        await sharedWriter.write(w.name, q.q);
        await sharedWriter.write(`${w.name}.scale`, q.scale);
        deq = dequantizeInt8Rows(q);
      }
      sharedDequant.set(w.name, deq);
      for (let t = 0; t < experts.length; t++) {
        // E_t = theta_t - dequant(shared), in place in the freshly read theta_t.
        const E = await readFinite(experts[t]!, w.name);
        for (let i = 0; i < E.length; i++) E[i] = E[i]! - deq[i]!;
        if (w.shape.length === 1) {
          modules[t]!.set(w.name, { kind: 'delta', delta: E });
          continue;
        }
        const [rows, cols] = w.shape as [number, number];
        const full = Math.min(rows, cols);
        // Budget: factor at full rank now; the allocation below truncates once every sigma is known.
        const want = 'fixed' in rankCfg ? Math.min(rankCfg.fixed, full) : 'energy' in rankCfg ? Math.min(rankCfg.max ?? full, full) : full;
        const svd = truncatedSvd(E, rows, cols, want, { seed: config.svd.seed });
        let f: Factor = { rank: svd.rank, A: svd.A, B: svd.B };
        if ('energy' in rankCfg) f = truncate(f, rows, cols, Math.max(1, rankForEnergy(singularValues(E, rows, cols), rankCfg.energy)));
        if ('budget' in rankCfg) sigmas[t]!.set(w.name, svd.singularValues);
        modules[t]!.set(w.name, { kind: 'lowrank', f });
      }
      const D = tensorDelta(w.name, theta0, deq);
      if (w.shape.length === 1) baseDelta.set(w.name, { kind: 'delta', delta: D });
      else {
        const [rows, cols] = w.shape as [number, number];
        const sig = singularValues(D, rows, cols);
        const total = sig.reduce((s, v) => s + v * v, 0);
        const r = total > 0 ? Math.min(config.baseDelta.maxRank, Math.max(1, rankForEnergy(sig, config.baseDelta.energy))) : 0;
        if (r > 0) {
          const f = truncatedSvd(D, rows, cols, r, { seed: config.svd.seed });
          baseDelta.set(w.name, { kind: 'lowrank', f: { rank: f.rank, A: f.A, B: f.B } });
          let kept = 0;
          for (let k = 0; k < f.rank; k++) kept += f.singularValues[k]! ** 2;
          deltaErrNum += Math.max(0, total - kept);
          deltaMaxRank = Math.max(deltaMaxRank, f.rank);
        }
        deltaErrDen += total;
      }
      sampleRss();
      bar.tick(1, w.name);
    }
    bar.finish();

    // Byte budget: per expert, ranks by greedy marginal energy per byte over all its matrices.
    const exDtype = config.exclusive.dtype;
    const bpe = exDtype === 'f16' ? 2 : 4;
    const fullExpertBytes = weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1) * bpe, 0);
    if ('budget' in rankCfg) {
      experts.forEach((_, t) => {
        const twoD = weights.filter((w) => w.shape.length === 2);
        const oneDBytes = weights.filter((w) => w.shape.length === 1).reduce((s, w) => s + w.shape[0]! * 4, 0);
        // Singular values at float-rounding level carry no information: never buy them.
        const sig = (n: string) => {
          const v = sigmas[t]!.get(n)!;
          const cut = (v[0] ?? 0) * 1e-6;
          return v.filter((x) => x > cut);
        };
        // The file's header counts against the budget too (names, dtypes, shapes: ~120 bytes a tensor).
        const headerBytes = 120 * (2 * twoD.length + (weights.length - twoD.length)) + 64;
        const alloc = allocateRanksByBudget(
          twoD.map((w) => ({ name: w.name, rows: w.shape[0]!, cols: w.shape[1]!, singularValues: sig(w.name) })),
          { budgetBytes: Math.max(0, rankCfg.budget * fullExpertBytes - oneDBytes - headerBytes), bytesPerElement: bpe },
        );
        for (const w of twoD) {
          const e = modules[t]!.get(w.name)!;
          if (e.kind === 'lowrank') modules[t]!.set(w.name, { ...e, f: truncate(e.f, w.shape[0]!, w.shape[1]!, alloc.ranks.get(w.name) ?? 0) });
        }
      });
    }

    // Expert files (f16 or f32 factors; zero-rank matrices are left out: no change).
    const reportExperts: PackReport['experts'] = [];
    const expertEntries: Manifest['experts'] = [];
    for (let t = 0; t < experts.length; t++) {
      const e = config.experts[t]!;
      const tensors: TensorInput[] = [];
      let errSum = 0;
      let errN = 0;
      let maxRank = 0;
      for (const w of weights) {
        const m = modules[t]!.get(w.name)!;
        if (m.kind === 'delta') tensors.push({ name: `${w.name}.delta`, dtype: 'F32', shape: w.shape, data: m.delta });
        else if (m.f.rank > 0) {
          tensors.push(...factorTensors(w.name, w.shape[0]!, w.shape[1]!, m.f, exDtype === 'f16' ? 'F16' : 'F32'));
          maxRank = Math.max(maxRank, m.f.rank);
        }
        if (m.kind === 'lowrank') {
          // Relative error of the stored (rounded) factors against the exact E.
          const theta = await readFinite(experts[t]!, w.name);
          const E = tensorDelta(w.name, sharedDequant.get(w.name)!, theta);
          const BA = multiplyFactors({ rows: w.shape[0]!, cols: w.shape[1]!, ...roundTrip(m.f, exDtype) });
          let num = 0;
          for (let i = 0; i < E.length; i++) num += (E[i]! - BA[i]!) ** 2;
          const den = frobenius2(E);
          errSum += den > 0 ? Math.sqrt(num / den) : 0;
          errN++;
        }
      }
      const bytes = encodeSafetensors(tensors, { format: 'twinmerge-expert', id: e.id });
      await writeFile(join(tmp, 'experts', `${e.id}.safetensors`), bytes);
      const ex = examples[t]!;
      reportExperts.push({ id: e.id, bytes: bytes.length, fullExpertBytes, share: bytes.length / fullExpertBytes, meanRelErr: errN ? errSum / errN : 0, maxRank });
      expertEntries.push({
        id: e.id,
        name: e.name ?? ex.name ?? e.id,
        description: e.description ?? ex.description ?? '',
        rank: maxRank,
        rankPolicy: 'fixed' in rankCfg ? 'fixed' : 'budget' in rankCfg ? 'budget' : 'energy',
        file: `experts/${e.id}.safetensors`,
        bytes: bytes.length,
        examplePrompts: ex.prompts.slice(0, 256),
        ...(config.includeFullWeights ? { fullWeightsFile: `experts/${e.id}.full.safetensors` } : {}),
        source: { kind: experts[t]!.kind, path: relative(process.cwd(), e.path) },
      });
    }
    await sharedWriter.close();
    for (const fw of fullWriters) await fw.close();
    writers.length = 0;

    // D = shared - base, factored.
    const dTensors: TensorInput[] = [];
    for (const w of weights) {
      const m = baseDelta.get(w.name);
      if (!m) continue;
      if (m.kind === 'delta') dTensors.push({ name: `${w.name}.delta`, dtype: 'F32', shape: w.shape, data: m.delta });
      else dTensors.push(...factorTensors(w.name, w.shape[0]!, w.shape[1]!, m.f, 'F32'));
    }
    await writeFile(join(tmp, 'base_delta.safetensors'), encodeSafetensors(dTensors, { format: 'twinmerge-base-delta' }));
    const baseDeltaReport = { maxRank: deltaMaxRank, relativeError: deltaErrDen > 0 ? Math.sqrt(deltaErrNum / deltaErrDen) : 0 };

    // The graph: every weight a graph input, plus the last hidden state for the router.
    const graph = buildDecoderGraph(spec, { weights: 'inputs', hiddenStateOutput: true, logits: 'last' });
    await writeFile(join(tmp, 'model.onnx'), graph.bytes);

    // Tokenizer files as transformers.js wants them.
    const tokFiles = ['tokenizer.json', 'tokenizer_config.json'];
    for (const f of tokFiles) await copyFile(join(config.base, f), join(tmp, f)).catch(() => { throw new PackInputError(join(config.base, f), undefined, 'missing (the bundle needs the tokenizer files)'); });
    for (const f of ['config.json', 'generation_config.json']) await copyFile(join(config.base, f), join(tmp, f)).catch(() => undefined);

    // Router: features from the shared model (as the app will compute them), MLP trained in TS.
    const router = await trainBundleRouter({ config, spec, graph, sharedWeights: (n) => sharedDequant.get(n)!, tokenizerDir: config.base, outFile: join(tmp, 'router.safetensors'), log });
    sampleRss();

    // Manifest: every file with size and sha256.
    const files: Manifest['files'] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const ent of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, ent.name);
        if (ent.isDirectory()) await walk(p);
        else if (ent.name !== 'manifest.json') files.push({ path: relative(tmp, p).split('\\').join('/'), bytes: (await stat(p)).size, sha256: await sha256File(p) });
      }
    };
    await walk(tmp);
    files.sort((a, b) => a.path.localeCompare(b.path));
    const provenance: Manifest['provenance'] = [];
    const ckFile = async (dir: string) => {
      for (const f of ['model.safetensors', 'adapter_model.safetensors', 'model.safetensors.index.json']) {
        const p = join(dir, f);
        if (await stat(p).then(() => true, () => false)) return sha256File(p);
      }
      return '0'.repeat(64);
    };
    provenance.push({ role: 'base', id: 'base', path: relative(process.cwd(), config.base), sha256: await ckFile(config.base) });
    for (const e of config.experts) provenance.push({ role: 'expert', id: e.id, path: relative(process.cwd(), e.path), sha256: await ckFile(e.path) });
    const manifest = parseManifest(
      {
        format: BUNDLE_FORMAT,
        version: BUNDLE_VERSION,
        createdBy: PACK_VERSION,
        architecture: base.config as Manifest["architecture"],
        graph: 'model.onnx',
        tokenizer: { files: tokFiles },
        merge: merger.manifest,
        shared: { file: 'shared.safetensors', dtype: sharedDtype, baseDelta: { file: 'base_delta.safetensors', maxRank: baseDeltaReport.maxRank, relativeError: baseDeltaReport.relativeError } },
        experts: expertEntries,
        router: router.manifest,
        files,
        provenance,
      } satisfies Manifest,
      'pack output',
    );
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await rm(config.output, { recursive: true, force: true });
    await rename(tmp, config.output);
    const bundleBytes = files.reduce((s, f) => s + f.bytes, 0);
    return { manifest, report: { seconds: (Date.now() - t0) / 1000, peakRssBytes: peakRss, experts: reportExperts, baseDelta: baseDeltaReport, router: router.report, bundleBytes } };
  } catch (e) {
    for (const w of writers) await w.abort().catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    await base.close();
    for (const x of experts) await x.close();
  }
}

export type { WeightInfo };
export { factorBytes };
