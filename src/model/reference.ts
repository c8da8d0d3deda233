/**
 * A float64 reference forward pass of the Llama/Qwen2 decoder, in plain TypeScript: the readable
 * definition of what the ONNX graph must compute. Single sequence, no cache, O(layers * S * params)
 * — meant for tests on tiny models, not for inference.
 */
import { ropeInvFreq, type ModelSpec } from './config.ts';
import { layerPrefix } from './llama.ts';

/** HF-layout weight lookup ([out, in] for linears). */
export type WeightGetter = (name: string) => Float32Array | Float64Array;

export interface ReferenceOutput {
  /** [seq, vocab] row-major. */
  logits: Float64Array;
  /** Final-norm hidden states [seq, hidden]. */
  hidden: Float64Array;
}

/** y[s, o] = sum_i x[s, i] * W[o, i] (+ b[o]) */
function linear(x: Float64Array, S: number, inDim: number, W: ArrayLike<number>, outDim: number, b?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(S * outDim);
  for (let s = 0; s < S; s++) {
    for (let o = 0; o < outDim; o++) {
      let acc = b ? b[o]! : 0;
      const wo = o * inDim;
      const xs = s * inDim;
      for (let i = 0; i < inDim; i++) acc += x[xs + i]! * W[wo + i]!;
      y[s * outDim + o] = acc;
    }
  }
  return y;
}

function rmsNorm(x: Float64Array, S: number, H: number, w: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(S * H);
  for (let s = 0; s < S; s++) {
    let ss = 0;
    for (let i = 0; i < H; i++) ss += x[s * H + i]! ** 2;
    const r = 1 / Math.sqrt(ss / H + eps);
    for (let i = 0; i < H; i++) y[s * H + i] = x[s * H + i]! * r * w[i]!;
  }
  return y;
}

/** Rotate-half RoPE in place on [S, nHeads, headDim], positions start..start+S-1. */
function rope(x: Float64Array, S: number, nHeads: number, headDim: number, inv: Float64Array, start: number): void {
  const half = headDim / 2;
  for (let s = 0; s < S; s++) {
    for (let h = 0; h < nHeads; h++) {
      const base = (s * nHeads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const a = (start + s) * inv[i]!;
        const c = Math.cos(a);
        const sn = Math.sin(a);
        const x1 = x[base + i]!;
        const x2 = x[base + i + half]!;
        x[base + i] = x1 * c - x2 * sn;
        x[base + i + half] = x2 * c + x1 * sn;
      }
    }
  }
}

export function referenceForward(spec: ModelSpec, weight: WeightGetter, ids: readonly number[]): ReferenceOutput {
  const S = ids.length;
  const { hiddenSize: H, numHeads: nH, numKvHeads: nKv, headDim: D, intermediateSize: F, vocabSize: V } = spec;
  const inv = ropeInvFreq(spec);
  const emb = weight('model.embed_tokens.weight');
  let x = new Float64Array(S * H);
  ids.forEach((id, s) => {
    for (let i = 0; i < H; i++) x[s * H + i] = emb[id * H + i]!;
  });
  const group = nH / nKv;
  const bias = (n: string, on: boolean) => (on ? weight(n) : undefined);

  for (let l = 0; l < spec.numLayers; l++) {
    const p = layerPrefix(l);
    const n1 = rmsNorm(x, S, H, weight(`${p}.input_layernorm.weight`), spec.rmsNormEps);
    const q = linear(n1, S, H, weight(`${p}.self_attn.q_proj.weight`), nH * D, bias(`${p}.self_attn.q_proj.bias`, spec.qkvBias));
    const k = linear(n1, S, H, weight(`${p}.self_attn.k_proj.weight`), nKv * D, bias(`${p}.self_attn.k_proj.bias`, spec.qkvBias));
    const v = linear(n1, S, H, weight(`${p}.self_attn.v_proj.weight`), nKv * D, bias(`${p}.self_attn.v_proj.bias`, spec.qkvBias));
    rope(q, S, nH, D, inv, 0);
    rope(k, S, nKv, D, inv, 0);
    const attn = new Float64Array(S * nH * D);
    const scale = 1 / Math.sqrt(D);
    for (let h = 0; h < nH; h++) {
      const kh = Math.floor(h / group);
      for (let s = 0; s < S; s++) {
        const scores = new Float64Array(s + 1);
        let max = -Infinity;
        for (let t = 0; t <= s; t++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[(s * nH + h) * D + d]! * k[(t * nKv + kh) * D + d]!;
          scores[t] = dot * scale;
          max = Math.max(max, scores[t]!);
        }
        let sum = 0;
        for (let t = 0; t <= s; t++) sum += scores[t] = Math.exp(scores[t]! - max);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let t = 0; t <= s; t++) acc += scores[t]! * v[(t * nKv + kh) * D + d]!;
          attn[(s * nH + h) * D + d] = acc / sum;
        }
      }
    }
    const o = linear(attn, S, nH * D, weight(`${p}.self_attn.o_proj.weight`), H, bias(`${p}.self_attn.o_proj.bias`, spec.oBias));
    for (let i = 0; i < S * H; i++) x[i] = x[i]! + o[i]!;
    const n2 = rmsNorm(x, S, H, weight(`${p}.post_attention_layernorm.weight`), spec.rmsNormEps);
    const gate = linear(n2, S, H, weight(`${p}.mlp.gate_proj.weight`), F);
    const up = linear(n2, S, H, weight(`${p}.mlp.up_proj.weight`), F);
    for (let i = 0; i < S * F; i++) {
      const gv = gate[i]!;
      gate[i] = (gv / (1 + Math.exp(-gv))) * up[i]!;
    }
    const down = linear(gate, S, F, weight(`${p}.mlp.down_proj.weight`), H);
    const nx = new Float64Array(S * H);
    for (let i = 0; i < S * H; i++) nx[i] = x[i]! + down[i]!;
    x = nx;
  }
  const hidden = rmsNorm(x, S, H, weight('model.norm.weight'), spec.rmsNormEps);
  const head = spec.tieWordEmbeddings ? emb : weight('lm_head.weight');
  return { logits: linear(hidden, S, H, head, V), hidden };
}
