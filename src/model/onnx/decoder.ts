/**
 * Builds the Llama/Qwen2 decoder as an ONNX graph with a KV cache.
 *
 * I/O (Optimum / transformers.js names, both modes):
 *   inputs  input_ids              int64 [batch_size, sequence_length]
 *           attention_mask         int64 [batch_size, total_sequence_length]  (1 = real token)
 *           past_key_values.N.key  f32   [batch_size, kv_heads, past_sequence_length, head_dim]
 *           past_key_values.N.value  (same)
 *           + in mode 'inputs': one input per checkpoint tensor, named as in HF (see llama.ts)
 *   outputs logits                 f32   [batch_size, sequence_length | 1, vocab]
 *           present.N.key / value  f32   [batch_size, kv_heads, total_sequence_length, head_dim]
 *           last_hidden_state      f32   [batch_size, sequence_length, hidden]  (optional; after
 *                                  the final norm — the router's feature source)
 *
 * Ops (all measured working on ORT-web 1.30's WebGPU EP and on WASM): Gather, MatMul, Gemm, Add,
 * Mul, Sigmoid, SimplifiedLayerNormalization, com.microsoft GroupQueryAttention (do_rotary=1 with
 * cos/sin caches as initializers, rotary_interleaved=0 = HF rotate-half), ReduceSum, Sub, Cast,
 * Shape, Gather, Slice, Reshape, Concat. seqlens_k and total_sequence_length are computed in-graph
 * from attention_mask, so callers feed exactly what transformers.js feeds. Positions come from the
 * cache length (GQA derives them from seqlens_k): right padding / single sequences only.
 */
import { ropeInvFreq, type ModelSpec } from '../config.ts';
import { expectedTensors, layerPrefix, type WeightInfo } from '../llama.ts';
import { GraphBuilder, MS_DOMAIN } from './graph.ts';
import { UnsupportedModelError } from '../errors.ts';

export interface DecoderGraphOptions {
  /**
   * 'inputs': every checkpoint tensor is a pure graph input (never also an initializer: ORT-web
   * 1.30 does not let a feed override an initializer); 2-D projections pre-transposed [in, out].
   * 'initializers': a standard, self-contained export; `weight(name)` supplies HF-layout data.
   */
  weights: 'inputs' | 'initializers';
  /** HF-layout float32 data for each tensor (mode 'initializers' only). */
  weight?: (name: string) => Float32Array;
  /**
   * Element type of the weight graph inputs (mode 'inputs'): 'float32' (default), or 'float16' —
   * half the upload and composition bandwidth; each input is Cast to float32 once, so every
   * computation stays float32 (exactly the f32 graph fed f16-rounded weights).
   */
  weightInputType?: 'float32' | 'float16';
  /** Logits for every position (default) or only the last one. */
  logits?: 'all' | 'last';
  /** Add the `last_hidden_state` output. */
  hiddenStateOutput?: boolean;
  /**
   * Run only the first `layers` decoder layers (default all): the early-exit graph the router runs.
   * last_hidden_state is then the final norm of the residual stream after that layer.
   */
  layers?: number;
  /** Emit the LM head and `logits` (default true); false needs hiddenStateOutput. */
  head?: boolean;
  /**
   * Add `hidden_states.<i>` for i = 1..layers: the final norm of the residual stream after layer i
   * (pack and eval read every candidate router layer in one pass).
   */
  layerHiddenStates?: boolean;
  /** Rotary cache length = the longest sequence the graph can run (default min(max_pos, 8192)). */
  maxSequenceLength?: number;
  /**
   * A graph for runs of exactly one new token after the cache, batch 1 (a decode step; see
   * stepGraphFor): every projection and the head as Einsum, attention from plain ops (RotaryEmbedding,
   * Concat onto the cache, Einsum, Softmax, Einsum) instead of GroupQueryAttention. On a software
   * adapter (SwiftShader) onnxruntime-web's WebGPU MatMul and Gemm tile the single row as if it were
   * many; its Einsum computes one output per invocation: decode runs 2-3x faster (docs/engine.md).
   * Same inputs and outputs as the general graph; wrong for more than one new token.
   */
  singleTokenStep?: boolean;
}

export interface DecoderIO {
  numLayers: number;
  maxSequenceLength: number;
  /** Graph inputs carrying weights, in graph order (empty in mode 'initializers'). */
  weightInputs: WeightInfo[];
  pastKeyNames: string[];
  pastValueNames: string[];
  presentKeyNames: string[];
  presentValueNames: string[];
  logits: 'all' | 'last';
  /** Whether the graph has the `logits` output (false for a head-less router graph). */
  head: boolean;
  hiddenStateOutput: boolean;
  /** Names of the per-layer hidden-state outputs, layer 1 first (empty unless layerHiddenStates). */
  layerHiddenNames: string[];
  weightInputType: 'float32' | 'float16';
}

export interface DecoderGraph {
  bytes: Uint8Array;
  io: DecoderIO;
}

export const pastKeyName = (i: number): string => `past_key_values.${i}.key`;
export const pastValueName = (i: number): string => `past_key_values.${i}.value`;
export const presentKeyName = (i: number): string => `present.${i}.key`;
export const presentValueName = (i: number): string => `present.${i}.value`;
export const layerHiddenName = (layer: number): string => `hidden_states.${layer}`;

/** Transpose a row-major [rows, cols] matrix. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c]!;
  }
  return out;
}

/** cos/sin caches [len, head_dim/2] as GQA wants them. */
export function rotaryCaches(spec: ModelSpec, len: number): { cos: Float32Array; sin: Float32Array } {
  const inv = ropeInvFreq(spec);
  const half = inv.length;
  const cos = new Float32Array(len * half);
  const sin = new Float32Array(len * half);
  for (let p = 0; p < len; p++) {
    for (let i = 0; i < half; i++) {
      // float32 product, like HF (inv_freq and positions are float32 there)
      const a = Math.fround(Math.fround(p) * Math.fround(inv[i]!));
      cos[p * half + i] = Math.cos(a);
      sin[p * half + i] = Math.sin(a);
    }
  }
  return { cos, sin };
}

export function buildDecoderGraph(spec: ModelSpec, opts: DecoderGraphOptions): DecoderGraph {
  const g = new GraphBuilder(`${spec.family}_decoder`);
  const { hiddenSize: H, numHeads, numKvHeads, headDim, vocabSize: V } = spec;
  const logitsMode = opts.logits ?? 'all';
  const maxLen = opts.maxSequenceLength ?? Math.min(spec.maxPositionEmbeddings, 8192);
  const numLayers = opts.layers ?? spec.numLayers;
  if (!Number.isInteger(numLayers) || numLayers < 1 || numLayers > spec.numLayers) {
    throw new Error(`buildDecoderGraph: layers ${numLayers} is not in 1..${spec.numLayers}`);
  }
  const head = opts.head ?? true;
  if (!head && !opts.hiddenStateOutput && !opts.layerHiddenStates) throw new Error('buildDecoderGraph: a graph without head needs a hidden-state output');
  // The weights this graph reads: the first `numLayers` layers' (and the head's only when it has one).
  const weights = expectedTensors({ ...spec, numLayers }).filter((w) => head || w.name !== 'lm_head.weight');
  if (headDim % 16 !== 0) {
    // ORT's GroupQueryAttention kernels (CPU/WASM) reject other head sizes at run time.
    throw new UnsupportedModelError(`head_dim ${headDim} is not a multiple of 16`, ['head_dim % 16 == 0']);
  }
  if (opts.weights === 'initializers' && !opts.weight) {
    throw new Error("buildDecoderGraph: mode 'initializers' needs opts.weight");
  }

  // ---- inputs
  const inputIds = g.input('input_ids', 'int64', ['batch_size', 'sequence_length']);
  const mask = g.input('attention_mask', 'int64', ['batch_size', 'total_sequence_length']);
  const pastK: string[] = [];
  const pastV: string[] = [];
  for (let i = 0; i < numLayers; i++) {
    const dims = ['batch_size', numKvHeads, 'past_sequence_length', headDim];
    pastK.push(g.input(pastKeyName(i), 'float32', dims));
    pastV.push(g.input(pastValueName(i), 'float32', dims));
  }
  const W = new Map<string, string>();
  for (const w of weights) {
    if (opts.weights === 'inputs') {
      if (opts.weightInputType === 'float16') {
        g.input(w.name, 'float16', w.graphShape);
        W.set(w.name, g.op('Cast', [w.name], { to: 1 /* float */ }));
      } else W.set(w.name, g.input(w.name, 'float32', w.graphShape));
    } else {
      const data = opts.weight!(w.name);
      const n = w.shape.reduce((a, b) => a * b, 1);
      if (data.length !== n) throw new Error(`weight ${w.name}: ${data.length} values, expected ${n}`);
      const graphData = w.transposed ? transpose2d(data, w.shape[0]!, w.shape[1]!) : data;
      W.set(w.name, g.initializer(w.name, 'float32', w.graphShape, graphData));
    }
  }
  const w = (name: string): string => {
    const v = W.get(name);
    if (!v) throw new Error(`internal: no weight ${name}`);
    return v;
  };

  // ---- constants and mask-derived GQA inputs
  const { cos, sin } = rotaryCaches(spec, maxLen);
  const cosCache = g.initializer('rotary_cos_cache', 'float32', [maxLen, headDim / 2], cos);
  const sinCache = g.initializer('rotary_sin_cache', 'float32', [maxLen, headDim / 2], sin);
  const axis1 = g.constI64([1]);
  const one = g.constI64([1], []);
  // Per sequence: real tokens − 1 = the last token's position (GQA's seqlens_k; a step's position).
  const lastPosition = g.op('Sub', [g.op('ReduceSum', [mask, axis1], { keepdims: 0 }), one]);
  const step = opts.singleTokenStep === true;
  const seqlensK = step ? '' : g.op('Cast', [lastPosition], { to: 6 /* int32 */ });
  const totalLen = step ? '' : g.op('Cast', [g.op('Gather', [g.op('Shape', [mask]), one], { axis: 0 })], { to: 6 });
  const stepPositions = step ? g.op('Unsqueeze', [lastPosition, axis1]) : '';
  const stepScale = step ? g.initializer('attention_scale', 'float32', [], new Float32Array([1 / Math.sqrt(headDim)])) : '';
  /** x [1, 1, in] @ W [in, out]: Einsum in a step graph (see singleTokenStep), else MatMul. */
  const matmul = (x: string, weight: string): string =>
    step ? g.op('Einsum', [x, weight], { equation: 'bsk,kn->bsn' }) : g.op('MatMul', [x, weight]);
  /** One token's attention over cache + itself, grouped heads as [kv_heads, group] (batch 1). */
  const stepAttention = (i: number, q: string, k: string, v: string): string => {
    const group = numHeads / numKvHeads;
    const rotary = (t: string, heads: number) => g.op('RotaryEmbedding', [t, stepPositions, cosCache, sinCache], { interleaved: 0, num_heads: heads }, MS_DOMAIN);
    const qh = g.op('Reshape', [rotary(q, numHeads), g.constI64([1, numKvHeads, group, headDim])]);
    const kh = g.op('Reshape', [rotary(k, numKvHeads), g.constI64([1, numKvHeads, 1, headDim])]);
    const vh = g.op('Reshape', [v, g.constI64([1, numKvHeads, 1, headDim])]);
    g.node('Concat', [pastK[i]!, kh], { attrs: { axis: 2 }, outputs: [presentKeyName(i)] });
    g.node('Concat', [pastV[i]!, vh], { attrs: { axis: 2 }, outputs: [presentValueName(i)] });
    // Einsum, not MatMul: ORT's batched MatMul compiles a new WebGPU pipeline for every cache length
    // (~70 ms each on SwiftShader, the first time a length occurs); its Einsum does not.
    const scores = g.op('Einsum', [qh, presentKeyName(i)], { equation: 'bhgd,bhtd->bhgt' });
    const probs = g.op('Softmax', [g.op('Mul', [scores, stepScale])], { axis: -1 });
    return g.op('Reshape', [g.op('Einsum', [probs, presentValueName(i)], { equation: 'bhgt,bhtd->bhgd' }), g.constI64([1, 1, numHeads * headDim])]);
  };

  const rms = (x: string, weightName: string): string =>
    g.op('SimplifiedLayerNormalization', [x, w(weightName)], { axis: -1, epsilon: { float: spec.rmsNormEps }, stash_type: 1 });
  const proj = (x: string, base: string, bias: boolean): string => {
    const y = matmul(x, w(`${base}.weight`));
    return bias ? g.op('Add', [y, w(`${base}.bias`)]) : y;
  };

  // ---- body
  let x = g.op('Gather', [w('model.embed_tokens.weight'), inputIds], { axis: 0 });
  const presentK: string[] = [];
  const presentV: string[] = [];
  const layerHidden: string[] = [];
  for (let i = 0; i < numLayers; i++) {
    const p = layerPrefix(i);
    const n1 = rms(x, `${p}.input_layernorm.weight`);
    const q = proj(n1, `${p}.self_attn.q_proj`, spec.qkvBias);
    const k = proj(n1, `${p}.self_attn.k_proj`, spec.qkvBias);
    const v = proj(n1, `${p}.self_attn.v_proj`, spec.qkvBias);
    const [attn] = step ? [stepAttention(i, q, k, v)] : g.node(
      'GroupQueryAttention',
      [q, k, v, pastK[i]!, pastV[i]!, seqlensK, totalLen, cosCache, sinCache],
      {
        domain: MS_DOMAIN,
        outputs: [g.fresh(`attn${i}`), presentKeyName(i), presentValueName(i)],
        attrs: {
          num_heads: numHeads,
          kv_num_heads: numKvHeads,
          do_rotary: 1,
          rotary_interleaved: 0,
          scale: { float: 1 / Math.sqrt(headDim) },
        },
        name: `layer${i}_gqa`,
      },
    );
    presentK.push(presentKeyName(i));
    presentV.push(presentValueName(i));
    const o = proj(attn!, `${p}.self_attn.o_proj`, spec.oBias);
    x = g.op('Add', [x, o]);
    const n2 = rms(x, `${p}.post_attention_layernorm.weight`);
    const gate = proj(n2, `${p}.mlp.gate_proj`, false);
    const up = proj(n2, `${p}.mlp.up_proj`, false);
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    x = g.op('Add', [x, proj(act, `${p}.mlp.down_proj`, false)]);
    if (opts.layerHiddenStates && i < numLayers - 1) layerHidden.push(rms(x, 'model.norm.weight'));
  }
  const hidden = rms(x, 'model.norm.weight');
  if (opts.layerHiddenStates) layerHidden.push(hidden);

  // ---- head
  if (head) {
    let headIn = hidden;
    if (logitsMode === 'last' && !step) {
      headIn = g.op('Slice', [hidden, g.constI64([-1]), g.constI64([2 ** 31 - 1]), axis1]);
    }
    let logits: string;
    if (spec.tieWordEmbeddings) {
      // logits = h @ E^T without materializing E^T: Gemm(transB) on the 2-D view.
      const flat = g.op('Reshape', [headIn, g.constI64([-1, H])]);
      const embed = w('model.embed_tokens.weight');
      const l2 = step ? g.op('Einsum', [flat, embed], { equation: 'bk,vk->bv' }) : g.op('Gemm', [flat, embed], { transB: 1 });
      const lead = g.op('Slice', [g.op('Shape', [headIn]), g.constI64([0]), g.constI64([2]), g.constI64([0])]);
      logits = g.op('Reshape', [l2, g.op('Concat', [lead, g.constI64([V])], { axis: 0 })]);
    } else {
      logits = matmul(headIn, w('lm_head.weight'));
    }
    g.output(logits, 'logits', 'float32', ['batch_size', logitsMode === 'all' ? 'sequence_length' : 1, V]);
  }

  // ---- outputs
  for (let i = 0; i < numLayers; i++) {
    const dims = ['batch_size', numKvHeads, 'total_sequence_length', headDim];
    g.output(presentK[i]!, presentK[i]!, 'float32', dims);
    g.output(presentV[i]!, presentV[i]!, 'float32', dims);
  }
  if (opts.hiddenStateOutput) {
    g.output(hidden, 'last_hidden_state', 'float32', ['batch_size', 'sequence_length', H]);
  }
  const layerHiddenNames = layerHidden.map((v, i) => g.output(v, layerHiddenName(i + 1), 'float32', ['batch_size', 'sequence_length', H]));

  const bytes = g.encode({
    opset: 17,
    metadata: { 'twinmerge.weights': opts.weights, 'twinmerge.max_sequence_length': String(maxLen) },
  });
  return {
    bytes,
    io: {
      numLayers,
      maxSequenceLength: maxLen,
      weightInputs: opts.weights === 'inputs' ? weights : [],
      weightInputType: opts.weightInputType ?? 'float32',
      pastKeyNames: pastK,
      pastValueNames: pastV,
      presentKeyNames: presentK,
      presentValueNames: presentV,
      logits: logitsMode,
      head,
      hiddenStateOutput: opts.hiddenStateOutput ?? false,
      layerHiddenNames,
    },
  };
}

/**
 * The single-token step graph (DecoderGraphOptions.singleTokenStep) that a DecoderEngine of a
 * weights-as-inputs graph with this `io` can run its decode steps on: the same weight inputs, cache
 * and logits; no hidden-state outputs (the engine fetches those from the general graph).
 */
export function stepGraphFor(spec: ModelSpec, io: DecoderIO): DecoderGraph {
  if (io.weightInputs.length === 0 || !io.head || io.numLayers !== spec.numLayers) {
    throw new Error('stepGraphFor: needs a full weights-as-inputs graph with an LM head');
  }
  return buildDecoderGraph(spec, { weights: 'inputs', weightInputType: io.weightInputType, logits: io.logits, maxSequenceLength: io.maxSequenceLength, singleTokenStep: true });
}
