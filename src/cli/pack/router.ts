// Pack's router step: features of each expert's prompts from the SHARED model (exactly as the app
// computes them: src/runtime/routerFeatures.ts) after every layer in one pass, an MLP per layer trained
// in TypeScript with early stopping on val only; the layer is chosen on val (early exit: the smallest
// within 0.5 point of the last layer's, core/router/layer.ts), accuracy on test. The file also carries a replay set of training features per class so
// the app can add a class (a dropped-in expert) without recomputing the bundle's features.
import { availableParallelism } from 'node:os';
import { writeFile } from 'node:fs/promises';
import type { Manifest } from '../../core/bundle/manifest.ts';
import { calibrateConfidence, chooseRouterLayer, routerLayerCandidates, evaluateRouter, routerToTensors, trainRouter, type LabeledFeatures, type TrainOptions, type TrainResult } from '../../core/router/index.ts';
import { encodeSafetensors, type TensorInput } from '../../core/safetensors/index.ts';
import type { ModelSpec } from '../../model/config.ts';
import { buildDecoderGraph } from '../../model/onnx/decoder.ts';
import { createNodeEngine, loadNodeOrt } from '../../runtime/node/session.ts';
import { loadTokenizerDir } from '../../runtime/node/tokenizer.ts';
import { routerFeaturesPerLayer } from '../../runtime/routerFeatures.ts';
import { cpuWeightFeeds } from '../../runtime/weights.ts';
import { Progress } from '../progress.ts';
import type { PackConfig } from './config.ts';
import { readSplit } from './data.ts';

export const REPLAY_PER_CLASS = 32;

export interface RouterReport {
  examples: { train: number; val: number; test: number };
  accuracy: { train: number; val: number; test: number };
  bestEpoch: number;
  epochs: number;
  /** The layer whose hidden state the router reads, and every candidate's accuracy (val chose). */
  layer: number;
  layers: { layer: number; val: number; test: number }[];
  featureSeconds: number;
  trainSeconds: number;
}

interface Args {
  config: PackConfig;
  spec: ModelSpec;
  sharedWeights: (name: string) => Float32Array;
  tokenizerDir: string;
  outFile: string;
  log: (s: string) => void;
}

/** Spreads `n` picks over a list (deterministic), so the first prompts of a file do not dominate. */
function pick<T>(list: readonly T[], n: number): T[] {
  if (list.length <= n) return [...list];
  return Array.from({ length: n }, (_, i) => list[Math.floor((i * list.length) / n)]!);
}

/** Float32 weights up to which pack computes router features on onnxruntime-web's wasm (see trainBundleRouter). */
export const WASM_FEATURES_MAX_BYTES = 256 * 2 ** 20;

export interface RouterJob {
  split: 'train' | 'val' | 'test';
  label: number;
  prompt: string;
}

/** The prompts the router sees, per split and class (also used by `twinmerge eval` to train the same router). */
export async function routerJobs(config: Pick<PackConfig, 'experts' | 'router'>): Promise<RouterJob[]> {
  const rc = config.router;
  const jobs: RouterJob[] = [];
  for (const [t, e] of config.experts.entries()) {
    for (const p of pick(await readSplit(e.train), rc.trainPerExpert)) jobs.push({ split: 'train', label: t, prompt: p.prompt });
    for (const p of pick(await readSplit(e.val), rc.valPerExpert)) jobs.push({ split: 'val', label: t, prompt: p.prompt });
    if (e.test) for (const p of pick(await readSplit(e.test), rc.testPerExpert)) jobs.push({ split: 'test', label: t, prompt: p.prompt });
  }
  return jobs;
}

/** trainRouter's options from the pack config. */
export function routerTrainOptions(config: Pick<PackConfig, 'experts' | 'router'>): TrainOptions {
  return { hidden: config.router.hidden, seed: config.router.seed, numClasses: config.experts.length };
}

export async function trainBundleRouter(a: Args): Promise<{ manifest: Manifest['router']; report: RouterReport }> {
  const { config, spec } = a;
  // Every layer's final-norm hidden state in one pass; no LM head (the router never needs logits).
  const graph = buildDecoderGraph(spec, { weights: 'inputs', head: false, layerHiddenStates: true });
  // onnxruntime-web's wasm, as the app's WASM path computes features; above WASM_FEATURES_MAX_BYTES of
  // float32 weights the native CPU EP, which reads the feeds in place instead of copying the whole
  // model into the wasm heap (a second copy: pack at real sizes would not stay in bounded memory, and
  // a 1B model does not fit wasm32's 4 GB at all).
  const weightBytes = graph.io.weightInputs.reduce((s, w) => s + 4 * w.graphShape.reduce((x, y) => x * y, 1), 0);
  const backend = weightBytes <= WASM_FEATURES_MAX_BYTES ? 'wasm' : 'cpu';
  const ort = await loadNodeOrt(backend);
  const engine = await createNodeEngine(spec, graph, { backend, threads: backend === 'cpu' ? availableParallelism() : 1 });
  engine.setWeights(await cpuWeightFeeds(ort, graph.io, (n) => a.sharedWeights(n)));
  const tokenizer = await loadTokenizerDir(a.tokenizerDir);
  const rc = config.router;
  const L = spec.numLayers;
  type Set = { byLayer: Float32Array[][]; labels: number[] };
  const sets: Record<'train' | 'val' | 'test', Set> = {
    train: { byLayer: Array.from({ length: L }, () => []), labels: [] },
    val: { byLayer: Array.from({ length: L }, () => []), labels: [] },
    test: { byLayer: Array.from({ length: L }, () => []), labels: [] },
  };
  const jobs = await routerJobs(config);
  const t0 = Date.now();
  const bar = new Progress(`router features (${backend})`, jobs.length);
  for (const j of jobs) {
    (await routerFeaturesPerLayer(engine, tokenizer, j.prompt)).forEach((f, l) => sets[j.split].byLayer[l]!.push(f));
    sets[j.split].labels.push(j.label);
    bar.tick();
  }
  bar.finish();
  await engine.dispose();
  const featureSeconds = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  const at = (s: Set, l: number): LabeledFeatures => ({ features: s.byLayer[l - 1]!, labels: s.labels });
  const acc = (model: TrainResult['model'], d: LabeledFeatures) => (d.features.length ? evaluateRouter(model, d).accuracy : 0);
  // A router per candidate layer (only the one asked for when the config names it), chosen on val.
  const policy = config.router.layer;
  const candidates = routerLayerCandidates(policy, L);
  const trained = new Map<number, TrainResult>();
  const layers: RouterReport['layers'] = [];
  for (const l of candidates) {
    const r = trainRouter(at(sets.train, l), at(sets.val, l), routerTrainOptions(config));
    trained.set(l, r);
    layers.push({ layer: l, val: acc(r.model, at(sets.val, l)), test: acc(r.model, at(sets.test, l)) });
  }
  const layer = chooseRouterLayer(layers, typeof policy === 'number' ? Math.min(policy, L) : policy);
  const result = trained.get(layer)!;
  if (layers.length > 1) a.log(`router layers (val %): ${layers.map((x) => `${x.layer}: ${(100 * x.val).toFixed(1)}`).join(', ')} → layer ${layer} of ${L}`);
  const trainSeconds = (Date.now() - t1) / 1000;
  const chosen = { train: at(sets.train, layer), val: at(sets.val, layer), test: at(sets.test, layer) };
  const accuracy = { train: acc(result.model, chosen.train), val: acc(result.model, chosen.val), test: acc(result.model, chosen.test) };
  a.log(`router (layer ${layer}): train ${(accuracy.train * 100).toFixed(1)}%, val ${(accuracy.val * 100).toFixed(1)}%, test ${(accuracy.test * 100).toFixed(1)}% (best epoch ${result.bestEpoch})`);

  // Replay set: the first REPLAY_PER_CLASS training features of every class.
  const replay: { f: Float32Array; y: number }[] = [];
  for (let t = 0; t < config.experts.length; t++) {
    chosen.train.features.filter((_, i) => chosen.train.labels[i] === t).slice(0, REPLAY_PER_CLASS).forEach((f) => replay.push({ f, y: t }));
  }
  // When no expert fits: further from the replay set, or less certain, than every val prompt. (The 1%
  // quantile flagged 30% of add's unseen wordings, which the experts mostly still answer: too eager.)
  const confidence = calibrateConfidence(result.model, replay.map((r) => r.f), chosen.val.features, 0);
  a.log(`router: no expert fits beyond distance ${confidence.maxDistance.toFixed(3)} or below top weight ${confidence.minTopWeight.toFixed(3)} (the extremes of val)`);
  const { tensors, metadata } = routerToTensors(result.model);
  const inputs: TensorInput[] = [...tensors].map(([name, t]) => ({ name, dtype: 'F32', shape: [...t.shape], data: t.data }));
  const H = spec.hiddenSize;
  const feats = new Float32Array(replay.length * H);
  replay.forEach((r, i) => feats.set(r.f, i * H));
  inputs.push({ name: 'replay.features', dtype: 'F32', shape: [replay.length, H], data: feats });
  inputs.push({ name: 'replay.labels', dtype: 'I32', shape: [replay.length], data: Int32Array.from(replay, (r) => r.y) });
  await writeFile(a.outFile, encodeSafetensors(inputs, { ...metadata, labels: JSON.stringify(config.experts.map((e) => e.id)) }));
  return {
    manifest: {
      file: 'router.safetensors',
      feature: { kind: 'mean_last_hidden', size: H, layer },
      labels: config.experts.map((e) => e.id),
      hidden: [...rc.hidden],
      temperature: rc.temperature,
      accuracy: { val: accuracy.val, test: accuracy.test },
      // Degenerate val sets (val prompts among the replay set: distance 0, or none) give no usable bar.
      ...(confidence.maxDistance > 0 && Number.isFinite(confidence.maxDistance) && Number.isFinite(confidence.minTopWeight) ? { confidence } : {}),
    },
    report: {
      examples: { train: sets.train.labels.length, val: sets.val.labels.length, test: sets.test.labels.length },
      accuracy,
      bestEpoch: result.bestEpoch,
      epochs: result.history.length,
      layer,
      layers,
      featureSeconds,
      trainSeconds,
    },
  };
}
