// `twinmerge pack`: base + experts → a bundle (docs/bundle-format.md). The method itself is
// src/core/twin (buildTwin, the same code `twinmerge eval` scores); this file is the Node side:
// open the checkpoints, stream the shared weights (and the experts' own weights) into files, write
// the expert files, graph, tokenizer, router and the manifest with every file's sha256.
// Everything is written into a temporary folder that replaces the output only when complete.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { BUNDLE_FORMAT, BUNDLE_VERSION, parseManifest, type Manifest } from '../../core/bundle/manifest.ts';
import { f32ToF16Array } from '../../core/dtype/index.ts';
import { factorError2, frobenius2 } from '../../core/linalg/index.ts';
import { createMerger } from '../../core/merge/index.ts';
import { encodeSafetensors } from '../../core/safetensors/index.ts';
import { buildTwin, dequantShared, fullExpertBytes, policyFromConfig, sharedParts, sharedSpecs, tensorDelta, type StoredShared, type TwinSource } from '../../core/twin/index.ts';
import { buildDecoderGraph } from '../../model/onnx/decoder.ts';
import type { OrtMatrixProducts } from '../../runtime/matrixProducts.ts';
import { createNodeMatrixProducts } from '../../runtime/node/matrixProducts.ts';
import { createSafetensorsWriter, type SafetensorsFileWriter } from '../../node/streamWriter.ts';
import { Progress } from '../progress.ts';
import type { PackConfig } from './config.ts';
import { readExamples } from './data.ts';
import { foldLoraAdapter } from './lora.ts';
import { trainBundleRouter, type RouterReport } from './router.ts';
import { openBase, openExpert, PackInputError, readFinite, type WeightSource } from './sources.ts';

export const PACK_VERSION = 'twinmerge pack 0.1.0';

export interface PackReport {
  seconds: number;
  peakRssBytes: number;
  experts: { id: string; bytes: number; fullExpertBytes: number; share: number; meanRelErr: number; maxRank: number }[];
  baseDelta: { maxRank: number; relativeError: number };
  router: RouterReport;
  bundleBytes: number;
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

export async function pack(config: PackConfig, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<{ manifest: Manifest; report: PackReport }> {
  const t0 = Date.now();
  let peakRss = process.memoryUsage().rss;
  const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));
  const merger = createMerger(config.merge.method, config.merge.params);
  const policy = policyFromConfig(config.exclusive.rank);
  const base = await openBase(config.base);
  const experts: WeightSource[] = [];
  const tmp = `${config.output}.partial-${process.pid}`;
  const writers: SafetensorsFileWriter[] = [];
  let products: OrtMatrixProducts | undefined;
  try {
    for (const e of config.experts) experts.push(await openExpert(e.id, e.path, base, foldLoraAdapter));
    // The randomized SVD's products on onnxruntime-node's MatMul (MLAS), every core.
    products = await createNodeMatrixProducts();
    const examples = await Promise.all(config.experts.map((e) => readExamples(e.examples)));
    const spec = base.spec;
    const weights = base.weights;
    log(`pack: ${spec.family} hidden ${spec.hiddenSize} × ${spec.numLayers} layers, ${weights.length} tensors, ${experts.length} experts, ${merger.method} λ=${merger.params.lambda}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(join(tmp, 'experts'), { recursive: true });

    const sharedDtype = config.shared.dtype;
    const sharedWriter = await createSafetensorsWriter(join(tmp, 'shared.safetensors'), sharedSpecs(weights, sharedDtype), { format: 'twinmerge-shared', dtype: sharedDtype });
    writers.push(sharedWriter);
    const fullWriters = config.includeFullWeights
      ? await Promise.all(experts.map((e) => createSafetensorsWriter(join(tmp, 'experts', `${e.id}.full.safetensors`), weights.map((w) => ({ name: w.name, dtype: w.shape.length === 1 ? 'F32' : 'F16', shape: w.shape })), { format: 'twinmerge-full', expert: e.id })))
      : [];
    writers.push(...fullWriters);
    const fullWritten = experts.map(() => new Set<string>());
    const oneD = new Set(weights.filter((w) => w.shape.length === 1).map((w) => w.name));

    // The pipeline reads experts one at a time; their own weights go to the compare files on first read.
    const source: TwinSource = {
      weights,
      expertIds: config.experts.map((e) => e.id),
      readBase: (name) => readFinite(base, name),
      readExpert: async (t, name) => {
        const theta = await readFinite(experts[t]!, name);
        const fw = fullWriters[t];
        if (fw && !fullWritten[t]!.has(name)) {
          await fw.write(name, oneD.has(name) ? theta : f32ToF16Array(theta));
          fullWritten[t]!.add(name);
        }
        return theta;
      },
    };
    const bar = new Progress('merge + SVD', weights.length);
    // The shared weights as stored (f16: half the bytes of float32), dequantized where used below.
    const storedShared = new Map<string, StoredShared>();
    const byName = new Map(weights.map((w) => [w.name, w]));
    const sharedOf = (name: string) => dequantShared(byName.get(name)!, storedShared.get(name)!);
    const built = await buildTwin(
      source,
      { merger, sharedDtype, exclusiveDtype: config.exclusive.dtype, policy, svdSeed: config.svd.seed, baseDelta: config.baseDelta, products, keepShared: false },
      {
        onShared: async (w, stored) => {
          for (const [name, data] of sharedParts(w, stored)) await sharedWriter.write(name, data);
          storedShared.set(w.name, stored);
        },
        onWeight: (w) => {
          sampleRss();
          bar.tick(1, w.name);
        },
      },
    );
    bar.finish();

    // Expert files, and how well each module approximates its E (report only).
    const fullBytes = fullExpertBytes(weights, config.exclusive.dtype);
    const reportExperts: PackReport['experts'] = [];
    const expertEntries: Manifest['experts'] = [];
    for (const [t, b] of built.experts.entries()) {
      const e = config.experts[t]!;
      const bytes = encodeSafetensors(b.tensors, b.metadata);
      await writeFile(join(tmp, 'experts', `${e.id}.safetensors`), bytes);
      let errSum = 0;
      let errN = 0;
      for (const w of weights) {
        if (w.shape.length !== 2) continue;
        const E = tensorDelta(w.name, sharedOf(w.name), await readFinite(experts[t]!, w.name));
        const m = b.module.get(w.name);
        const num = m && m.kind === 'lowrank' ? factorError2(E, m) : frobenius2(E);
        const den = frobenius2(E);
        errSum += den > 0 ? Math.sqrt(num / den) : 0;
        errN++;
      }
      const ex = examples[t]!;
      reportExperts.push({ id: e.id, bytes: bytes.length, fullExpertBytes: fullBytes, share: bytes.length / fullBytes, meanRelErr: errN ? errSum / errN : 0, maxRank: b.maxRank });
      expertEntries.push({
        id: e.id,
        name: e.name ?? ex.name ?? e.id,
        description: e.description ?? ex.description ?? '',
        rank: b.maxRank,
        rankPolicy: policy.kind,
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
    const bd = built.baseDelta!;
    await writeFile(join(tmp, 'base_delta.safetensors'), encodeSafetensors(bd.tensors, bd.metadata));
    const baseDeltaReport = { maxRank: bd.maxRank, relativeError: bd.relativeError };

    // The graph: every weight a graph input, plus the last hidden state for the router.
    const graph = buildDecoderGraph(spec, { weights: 'inputs', hiddenStateOutput: true, logits: 'last' });
    await writeFile(join(tmp, 'model.onnx'), graph.bytes);

    // Tokenizer files as transformers.js wants them.
    const tokFiles = ['tokenizer.json', 'tokenizer_config.json'];
    for (const f of tokFiles) await copyFile(join(config.base, f), join(tmp, f)).catch(() => { throw new PackInputError(join(config.base, f), undefined, 'missing (the bundle needs the tokenizer files)'); });
    for (const f of ['config.json', 'generation_config.json']) await copyFile(join(config.base, f), join(tmp, f)).catch(() => undefined);

    // Router: features from the shared model (as the app will compute them), MLP trained in TS.
    // The router's weight feeds are the last use of the dequantized shared weights: each is handed over
    // and forgotten here, so the model is not held twice (feeds in graph layout + these) at the peak.
    const takeShared = (n: string): Float32Array => {
      const w = sharedOf(n);
      storedShared.delete(n);
      return w;
    };
    const router = await trainBundleRouter({ config, spec, sharedWeights: takeShared, tokenizerDir: config.base, outFile: join(tmp, 'router.safetensors'), log });
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
        exclusive: { dtype: config.exclusive.dtype, rank: config.exclusive.rank, svdSeed: config.svd.seed },
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
    await products?.release();
  }
}

