/**
 * The Llama / Qwen2 family: which tensors a checkpoint has, their shapes, how the graph takes
 * them, and which of them Twin-Merging composes.
 *
 * One decoder layer (HF LlamaDecoderLayer / Qwen2DecoderLayer):
 *   h   = x + o_proj(attn(rope(q_proj(rms1(x))), rope(k_proj(rms1(x))), v_proj(rms1(x))))
 *   out = h + down_proj(silu(gate_proj(rms2(h))) * up_proj(rms2(h)))
 * with rmsN(x) = x / sqrt(mean(x^2) + eps) * weight, GQA (numHeads query heads share
 * numKvHeads key/value heads) and rotate-half RoPE. Qwen2 adds biases to q/k/v.
 * Logits = lm_head(norm(h_last)); lm_head is embed_tokens when tie_word_embeddings.
 *
 * Roles and merging (see docs/engine.md):
 *  - 'linear'    2-D projection weights [out, in]: mergeable, low-rank exclusive modules apply.
 *                The graph takes them PRE-TRANSPOSED, shape [in, out], for MatMul.
 *  - 'embedding' embed_tokens [vocab, hidden] and an untied lm_head [vocab, hidden]: 2-D, so
 *                mergeable too (fine-tuning changes them; low-rank works on any matrix). The graph
 *                takes embed_tokens as-is (Gather rows; tied head uses Gemm transB) and an untied
 *                lm_head pre-transposed [hidden, vocab] like any linear.
 *  - 'norm'/'bias' 1-D: not low-rank; Twin-Merging stores their exact delta. Still graph inputs
 *                in the weights-as-inputs graph, because composition changes them.
 */
import { WeightValidationError, type WeightProblem } from './errors.ts';
import type { ModelSpec } from './config.ts';

export type TensorRole = 'linear' | 'embedding' | 'norm' | 'bias';

export interface WeightInfo {
  /** HF tensor name, e.g. model.layers.0.self_attn.q_proj.weight. Also the graph input name. */
  name: string;
  /** Shape as stored in the HF checkpoint. */
  shape: number[];
  role: TensorRole;
  /** 2-D: Twin-Merging stores low-rank exclusive factors for it. 1-D: exact delta. */
  mergeable: boolean;
  /** The graph takes the transpose ([in, out]) of the stored [out, in] matrix. */
  transposed: boolean;
  /** Shape of the graph input ([in, out] when transposed). */
  graphShape: number[];
}

/** dtypes the engine accepts from safetensors (converted to float32 before upload). */
export const SUPPORTED_WEIGHT_DTYPES = ['F32', 'F16', 'BF16'] as const;

/** Tensors some checkpoints carry that the architecture does not use; ignored silently. */
export function isIgnorableTensor(name: string, spec: ModelSpec): boolean {
  if (/\.rotary_emb\.inv_freq$/.test(name)) return true;
  // Tied checkpoints sometimes save the head explicitly (same data as embed_tokens).
  return spec.tieWordEmbeddings && name === 'lm_head.weight';
}

function linear(name: string, out: number, inp: number): WeightInfo {
  return { name, shape: [out, inp], role: 'linear', mergeable: true, transposed: true, graphShape: [inp, out] };
}
function vec(name: string, n: number, role: 'norm' | 'bias'): WeightInfo {
  return { name, shape: [n], role, mergeable: false, transposed: false, graphShape: [n] };
}

/** Layer i's tensor-name prefix. */
export const layerPrefix = (i: number): string => `model.layers.${i}`;

/** Every tensor the checkpoint must contain, in a stable order (embeddings, layers, norm, head). */
export function expectedTensors(spec: ModelSpec): WeightInfo[] {
  const { hiddenSize: h, numHeads, numKvHeads, headDim, intermediateSize: f, vocabSize: v } = spec;
  const q = numHeads * headDim;
  const kv = numKvHeads * headDim;
  const out: WeightInfo[] = [
    {
      name: 'model.embed_tokens.weight',
      shape: [v, h],
      role: 'embedding',
      mergeable: true,
      transposed: false,
      graphShape: [v, h],
    },
  ];
  for (let i = 0; i < spec.numLayers; i++) {
    const p = layerPrefix(i);
    out.push(vec(`${p}.input_layernorm.weight`, h, 'norm'));
    out.push(linear(`${p}.self_attn.q_proj.weight`, q, h));
    if (spec.qkvBias) out.push(vec(`${p}.self_attn.q_proj.bias`, q, 'bias'));
    out.push(linear(`${p}.self_attn.k_proj.weight`, kv, h));
    if (spec.qkvBias) out.push(vec(`${p}.self_attn.k_proj.bias`, kv, 'bias'));
    out.push(linear(`${p}.self_attn.v_proj.weight`, kv, h));
    if (spec.qkvBias) out.push(vec(`${p}.self_attn.v_proj.bias`, kv, 'bias'));
    out.push(linear(`${p}.self_attn.o_proj.weight`, h, q));
    if (spec.oBias) out.push(vec(`${p}.self_attn.o_proj.bias`, h, 'bias'));
    out.push(vec(`${p}.post_attention_layernorm.weight`, h, 'norm'));
    out.push(linear(`${p}.mlp.gate_proj.weight`, f, h));
    out.push(linear(`${p}.mlp.up_proj.weight`, f, h));
    out.push(linear(`${p}.mlp.down_proj.weight`, h, f));
  }
  out.push(vec('model.norm.weight', h, 'norm'));
  if (!spec.tieWordEmbeddings) {
    out.push({ ...linear('lm_head.weight', v, h), role: 'embedding' });
  }
  return out;
}

/** Minimal description of a stored tensor (what a safetensors header gives). */
export interface TensorMeta {
  dtype: string;
  shape: readonly number[];
}

/** Accepts a Map, a plain record, or a list of [name, meta] pairs. */
export type TensorMetaSource =
  | ReadonlyMap<string, TensorMeta>
  | Readonly<Record<string, TensorMeta>>
  | Iterable<readonly [string, TensorMeta]>;

function toEntries(src: TensorMetaSource): [string, TensorMeta][] {
  if (src instanceof Map) return [...(src as Map<string, TensorMeta>).entries()];
  if (Symbol.iterator in (src as object)) {
    return [...(src as Iterable<readonly [string, TensorMeta]>)].map(([k, v]) => [k, v]);
  }
  return Object.entries(src as Record<string, TensorMeta>);
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** All problems between the checkpoint's tensors and the spec (empty when they match). */
export function checkWeights(spec: ModelSpec, tensors: TensorMetaSource): WeightProblem[] {
  const found = new Map(toEntries(tensors));
  const problems: WeightProblem[] = [];
  const expected = expectedTensors(spec);
  const expectedNames = new Set(expected.map((w) => w.name));
  for (const w of expected) {
    const t = found.get(w.name);
    if (!t) {
      problems.push({ kind: 'missing', tensor: w.name, expectedShape: w.shape });
      continue;
    }
    if (!(SUPPORTED_WEIGHT_DTYPES as readonly string[]).includes(t.dtype)) {
      problems.push({
        kind: 'dtype',
        tensor: w.name,
        foundDtype: t.dtype,
        supportedDtypes: SUPPORTED_WEIGHT_DTYPES,
      });
    }
    if (!sameShape(t.shape, w.shape)) {
      problems.push({ kind: 'shape', tensor: w.name, expectedShape: w.shape, foundShape: [...t.shape] });
    }
  }
  for (const [name, t] of found) {
    if (!expectedNames.has(name) && !isIgnorableTensor(name, spec)) {
      problems.push({ kind: 'extra', tensor: name, foundShape: [...t.shape] });
    }
  }
  return problems;
}

/**
 * Throws a {@link WeightValidationError} naming every missing / extra / mis-shaped / unusable
 * tensor; returns the expected weight list when all is well. Call before allocating anything.
 */
export function validateWeights(spec: ModelSpec, tensors: TensorMetaSource): WeightInfo[] {
  const problems = checkWeights(spec, tensors);
  if (problems.length > 0) throw new WeightValidationError(problems);
  return expectedTensors(spec);
}

/** Number of parameters the spec implies. */
export function parameterCount(spec: ModelSpec): number {
  return expectedTensors(spec).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
}
