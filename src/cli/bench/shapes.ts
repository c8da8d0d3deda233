// Shapes for the composer benchmark, shared by the Node side (src/cli/bench) and the browser page
// (e2e/harness/bench.ts). Pure TypeScript: no DOM, no Node APIs.
import { parseModelConfig } from '../../model/config.ts';
import { buildDecoderGraph } from '../../model/onnx/decoder.ts';
import { mulberry32 } from '../../core/tensor/random.ts';
import { composerShape } from '../../runtime/composer/layout.ts';
import type { ComposerExpert, SharedWeight } from '../../runtime/composer/types.ts';
import type { ExclusiveEntry, StoredShared } from '../../core/twin/index.ts';
import type { WeightInfo } from '../../model/llama.ts';

export { SMOLLM2_135M_CONFIG } from '../../model/knownConfigs.ts';

/** The zoo's architecture, used when no bundle manifest is there to read it from. */
export const ZOO_CONFIG = {
  model_type: 'llama',
  hidden_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 352,
  vocab_size: 264,
  max_position_embeddings: 256,
  tie_word_embeddings: true,
} as const;

/** One composed weight as the composer sees it: [out, in] plus the rank of each expert's factor for it. */
export interface ComposeShape {
  name: string;
  outDim: number;
  inDim: number;
  /** Rank of one expert's factor (2-D: min(rank, out, in); 1-D norms: 1, an exact delta). */
  rank: number;
  /** A 1-D weight (a norm gain): its module entry is an exact delta. */
  oneD: boolean;
}

export interface ComposeCase {
  label: string;
  /** HF config.json of the model (num_hidden_layers may be a subset: see layersRun/layersFull). */
  config: Record<string, unknown>;
  experts: number;
  rank: number;
  sharedDtype: SharedWeight['dtype'];
  /** Layers actually composed (config's num_hidden_layers is overridden); results are also given scaled to the full model. */
  layersRun: number;
  layersFull: number;
  /** Compose the embedding too (default true). */
  includeEmbedding?: boolean;
}

/** The shapes a case composes, and the factor from its elements to the full model's (time scales with elements: every weight has the same active rank). */
export function caseShapes(c: ComposeCase): { shapes: ComposeShape[]; fullModelScale: number } {
  const all = composeShapes({ ...c.config, num_hidden_layers: c.layersRun }, c.rank);
  const shapes = c.includeEmbedding === false ? all.filter((w) => !w.name.includes('embed_tokens') && !w.name.startsWith('lm_head')) : all;
  const full = composeShapes({ ...c.config, num_hidden_layers: c.layersFull }, c.rank);
  return { shapes, fullModelScale: composedElements(full) / composedElements(shapes) };
}

/** Every graph weight input of the model in the composer's orientation, as the app composes them. */
export function composeShapes(config: Record<string, unknown>, rank: number): ComposeShape[] {
  const spec = parseModelConfig(config);
  const io = buildDecoderGraph(spec, { weights: 'inputs', maxSequenceLength: 16 }).io;
  return io.weightInputs.map((w) => {
    const { outDim, inDim } = composerShape(w);
    return { name: w.name, outDim, inDim, rank: w.shape.length === 1 ? 1 : Math.min(rank, outDim, inDim), oneD: w.shape.length === 1 };
  });
}

/** Elements of the composed output (Σ out·in). */
export function composedElements(shapes: readonly ComposeShape[]): number {
  return shapes.reduce((s, w) => s + w.outDim * w.inDim, 0);
}

/** Bytes one compose reads and writes: shared (in its dtype), the active factor rows (f32), the f32 output. */
export function composeBytes(shapes: readonly ComposeShape[], experts: number, sharedDtype: SharedWeight['dtype']): number {
  const bpe = sharedDtype === 'f32' ? 4 : sharedDtype === 'f16' ? 2 : 1;
  let bytes = 0;
  for (const w of shapes) {
    const n = w.outDim * w.inDim;
    const R = w.rank * experts;
    bytes += n * bpe + (sharedDtype === 'int8' ? w.outDim * 4 : 0) + R * (w.outDim + w.inDim) * 4 + n * 4;
  }
  return bytes;
}

/** FLOPs of one compose (multiply-add = 2). */
export function composeFlops(shapes: readonly ComposeShape[], experts: number): number {
  return shapes.reduce((s, w) => s + 2 * w.outDim * w.inDim * w.rank * experts, 0);
}

function randomShared(w: ComposeShape, dtype: SharedWeight['dtype'], rand: () => number): StoredShared {
  const n = w.outDim * w.inDim;
  if (dtype === 'f32' || w.oneD) return { dtype: 'f32', data: Float32Array.from({ length: n }, () => rand() - 0.5) };
  if (dtype === 'f16') {
    const data = new Uint16Array(n);
    for (let e = 0; e < n; e++) data[e] = (rand() < 0.5 ? 0x8000 : 0) | ((10 + Math.floor(rand() * 6)) << 10) | Math.floor(rand() * 1024);
    return { dtype, data };
  }
  const data = new Int8Array(n);
  for (let e = 0; e < n; e++) data[e] = Math.round(rand() * 254) - 127;
  return { dtype, data, scale: Float32Array.from({ length: w.outDim }, () => 0.001 + rand() * 0.02) };
}

function randomEntry(w: ComposeShape, rand: () => number): ExclusiveEntry {
  if (w.oneD) return { kind: 'delta', name: w.name, shape: [w.outDim], delta: Float32Array.from({ length: w.outDim }, () => (rand() - 0.5) * 0.1) };
  return {
    kind: 'lowrank',
    name: w.name,
    rows: w.outDim,
    cols: w.inDim,
    rank: w.rank,
    A: Float32Array.from({ length: w.rank * w.inDim }, () => rand() - 0.5),
    B: Float32Array.from({ length: w.outDim * w.rank }, () => (rand() - 0.5) * 0.1),
  };
}

/** A weight of this shape as the model would describe it: [out, in] stored, [in, out] in the graph (the composer's cost is the same for every orientation). */
export function weightOf(w: ComposeShape): WeightInfo {
  return { name: w.name, shape: w.oneD ? [w.outDim] : [w.outDim, w.inDim], role: w.oneD ? 'norm' : 'linear', mergeable: !w.oneD, transposed: !w.oneD, graphShape: w.oneD ? [w.outDim] : [w.inDim, w.outDim] } as WeightInfo;
}

/** Random shared weights and `experts` exclusive modules (every expert has an entry for every weight, as pack writes them). */
export function randomComposerInputs(shapes: readonly ComposeShape[], experts: number, sharedDtype: SharedWeight['dtype'], seed = 1): { weights: { weight: WeightInfo; shared: StoredShared }[]; modules: ComposerExpert[] } {
  const rand = mulberry32(seed);
  const weights = shapes.map((w) => ({ weight: weightOf(w), shared: randomShared(w, sharedDtype, rand) }));
  const modules: ComposerExpert[] = Array.from({ length: experts }, (_, t) => ({
    id: `e${t}`,
    module: new Map(shapes.map((w) => [w.name, randomEntry(w, rand)] as const)),
  }));
  return { weights, modules };
}

/** Two routings over all experts, alternated so that every compose really runs. */
export function alternatingRoutings(experts: number): [Map<string, number>, Map<string, number>] {
  const ids = Array.from({ length: experts }, (_, t) => `e${t}`);
  const sum = (experts * (experts + 1)) / 2;
  return [new Map(ids.map((id, t) => [id, (t + 1) / sum])), new Map(ids.map((id, t) => [id, (experts - t) / sum]))];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
