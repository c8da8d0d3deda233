// The ONNX decoder (run by ORT in Node) against the float64 TypeScript reference.
import { afterAll, describe, expect, it } from 'vitest';
import { decodeModel } from './proto.ts';
import { buildDecoderGraph } from './decoder.ts';
import { parseModelConfig } from '../config.ts';
import { expectedTensors } from '../llama.ts';
import { referenceForward } from '../reference.ts';
import { maxAbsDiff, tinyConfig, tinyEngine, type TinyModel } from '../../testing/tinyModel.ts';

const PROMPT = [3, 17, 42, 5, 9, 33, 21, 8, 50, 1, 12];
const TOL = 1e-4;
const errors: Record<string, number> = {};
afterAll(() => console.log('max-abs logits error vs float64 reference:', errors));

async function parity(label: string, m: TinyModel): Promise<void> {
  const ref = referenceForward(m.spec, (n) => m.weights.get(n)!, PROMPT);
  const full = await m.engine.forward(PROMPT, { allLogits: true, hidden: true });
  const err = maxAbsDiff(full.allLogits!, ref.logits);
  errors[label] = err;
  expect(err).toBeLessThan(TOL);
  expect(maxAbsDiff(full.hidden!, ref.hidden)).toBeLessThan(TOL);

  // KV cache: prefix then a multi-token continuation, then single-token decode steps
  m.engine.resetCache();
  await m.engine.forward(PROMPT.slice(0, 4));
  const cont = await m.engine.forward(PROMPT.slice(4, 8), { allLogits: true });
  expect(maxAbsDiff(cont.allLogits!, ref.logits.subarray(4 * m.spec.vocabSize, 8 * m.spec.vocabSize))).toBeLessThan(TOL);
  for (let t = 8; t < PROMPT.length; t++) {
    const step = await m.engine.forward([PROMPT[t]!]);
    expect(maxAbsDiff(step.logits, ref.logits.subarray(t * m.spec.vocabSize, (t + 1) * m.spec.vocabSize))).toBeLessThan(TOL);
  }
  await m.engine.dispose();
}

describe('decoder graph vs float64 reference (ORT wasm in Node)', () => {
  it('llama, GQA 4/2, tied embeddings, weights as inputs', async () => {
    await parity('llama-tied-inputs', await tinyEngine(tinyConfig()));
  });
  it('llama, GQA 4/1, untied head, weights as initializers (standard export)', async () => {
    const cfg = tinyConfig({ num_key_value_heads: 1, tie_word_embeddings: false, rope_theta: 500000 });
    await parity('llama-untied-initializers', await tinyEngine(cfg, { mode: 'initializers', seed: 2 }));
  });
  it('qwen2: q/k/v biases, untied, head_dim given explicitly', async () => {
    const cfg = tinyConfig({ model_type: 'qwen2', head_dim: 32, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false });
    await parity('qwen2-inputs', await tinyEngine(cfg, { seed: 3 }));
  });
  it('llama with attention_bias (o_proj bias) and llama3 rope scaling', async () => {
    const cfg = tinyConfig({
      attention_bias: true,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 },
    });
    await parity('llama-bias-llama3rope', await tinyEngine(cfg, { seed: 4 }));
  });
  it('onnxruntime-node CPU EP gives the same numbers', async () => {
    await parity('llama-tied-ort-node-cpu', await tinyEngine(tinyConfig(), { backend: 'cpu', seed: 5 }));
  });
  it('decode steps on the single-token step graph (Einsum projections, attention from plain ops)', async () => {
    const cases: [string, Record<string, unknown>, 'inputs' | 'initializers'][] = [
      ['step-llama-tied-inputs', tinyConfig(), 'inputs'],
      ['step-llama-untied-initializers', tinyConfig({ num_key_value_heads: 1, tie_word_embeddings: false, rope_theta: 500000 }), 'initializers'],
      ['step-qwen2-biases', tinyConfig({ model_type: 'qwen2', head_dim: 32, num_attention_heads: 4, num_key_value_heads: 2, tie_word_embeddings: false }), 'inputs'],
      ['step-llama3-rope-obias', tinyConfig({ attention_bias: true, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 } }), 'inputs'],
    ];
    for (const [label, cfg, mode] of cases) {
      const m = await tinyEngine(cfg, { mode, seed: 7, step: true });
      const ref = referenceForward(m.spec, (n) => m.weights.get(n)!, PROMPT);
      const V = m.spec.vocabSize;
      let err = 0;
      // The first token alone (empty cache) and every later one as a step.
      for (let t = 0; t < PROMPT.length; t++) {
        const r = await m.engine.forward([PROMPT[t]!]);
        err = Math.max(err, maxAbsDiff(r.logits, ref.logits.subarray(t * V, (t + 1) * V)));
      }
      errors[label] = err;
      expect(err).toBeLessThan(TOL);
      expect(m.engine.runs).toEqual({ general: 0, step: PROMPT.length });
      // A multi-token run and hidden states still take the general graph.
      m.engine.resetCache();
      const full = await m.engine.forward(PROMPT.slice(0, 3), { hidden: true });
      expect(maxAbsDiff(full.logits, ref.logits.subarray(2 * V, 3 * V))).toBeLessThan(TOL);
      expect(m.engine.runs.general).toBe(1);
      await m.engine.dispose();
    }
  });
  it("logits: 'last' returns only the last position", async () => {
    const m = await tinyEngine(tinyConfig(), { seed: 6, graph: { logits: 'last' } });
    const ref = referenceForward(m.spec, (n) => m.weights.get(n)!, PROMPT);
    const r = await m.engine.forward(PROMPT);
    const V = m.spec.vocabSize;
    expect(r.logits.length).toBe(V);
    expect(maxAbsDiff(r.logits, ref.logits.subarray((PROMPT.length - 1) * V))).toBeLessThan(TOL);
    await m.engine.dispose();
  });
});

describe('graph structure', () => {
  const spec = parseModelConfig(tinyConfig({ tie_word_embeddings: false }));
  it('weights-as-inputs: every weight is a pure graph input, never an initializer', () => {
    const g = buildDecoderGraph(spec, { weights: 'inputs' });
    const model = decodeModel(g.bytes);
    const inputs = new Set(model.graph.input.map((i) => i.name));
    const inits = new Set(model.graph.initializer.map((i) => i.name));
    for (const w of expectedTensors(spec)) {
      expect(inputs.has(w.name)).toBe(true);
      expect(inits.has(w.name)).toBe(false);
    }
    const q = model.graph.input.find((i) => i.name === 'model.layers.0.self_attn.q_proj.weight')!;
    expect(q.type.tensorType.shape.dim).toEqual([{ dimValue: 64 }, { dimValue: 64 }]);
    const gate = model.graph.input.find((i) => i.name === 'model.layers.0.mlp.gate_proj.weight')!;
    expect(gate.type.tensorType.shape.dim).toEqual([{ dimValue: 64 }, { dimValue: 96 }]); // [in, out]
    expect(model.opsetImport).toEqual(expect.arrayContaining([{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]));
  });
  it('standard export: Optimum I/O names, symbolic batch/past dims, no weight inputs', () => {
    const g = buildDecoderGraph(spec, { weights: 'initializers', weight: (n) => new Float32Array(expectedTensors(spec).find((w) => w.name === n)!.shape.reduce((a, b) => a * b, 1)) });
    const model = decodeModel(g.bytes);
    expect(model.graph.input.map((i) => i.name)).toEqual([
      'input_ids',
      'attention_mask',
      'past_key_values.0.key',
      'past_key_values.0.value',
      'past_key_values.1.key',
      'past_key_values.1.value',
    ]);
    expect(model.graph.output.map((o) => o.name)).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    const past = model.graph.input[2]!.type.tensorType.shape.dim;
    expect(past).toEqual([{ dimParam: 'batch_size' }, { dimValue: 2 }, { dimParam: 'past_sequence_length' }, { dimValue: 16 }]);
  });
  it('rejects head_dim not a multiple of 16 (ORT GQA limit) with a clear error', () => {
    const s = parseModelConfig(tinyConfig({ hidden_size: 32 }));
    expect(() => buildDecoderGraph(s, { weights: 'inputs' })).toThrow(/head_dim 8 is not a multiple of 16/);
  });
});
