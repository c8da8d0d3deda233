// Not only the tiny zoo: real-model shapes run end to end (random weights, made directly in the
// graph's layout so the test stays cheap). Checks shapes, finiteness, and decode-after-prefill.
import { describe, expect, it } from 'vitest';
import { parseModelConfig } from '../model/config.ts';
import { SMOLLM2_135M_CONFIG } from '../model/knownConfigs.ts';
import { buildDecoderGraph } from '../model/onnx/decoder.ts';
import { mulberry32 } from '../core/tensor/random.ts';
import { createNodeEngine, loadNodeOrt } from './node/session.ts';
import type { OrtTensor } from './ort.ts';

async function runShape(config: Record<string, unknown>): Promise<{ ms: number; params: number }> {
  const t0 = performance.now();
  const spec = parseModelConfig(config);
  const graph = buildDecoderGraph(spec, { weights: 'inputs', logits: 'last', maxSequenceLength: 256 });
  const ort = await loadNodeOrt('wasm');
  const engine = await createNodeEngine(spec, graph);
  const rand = mulberry32(42);
  const feeds: Record<string, OrtTensor> = {};
  let params = 0;
  for (const w of graph.io.weightInputs) {
    const n = w.graphShape.reduce((a, b) => a * b, 1);
    params += n;
    const d = new Float32Array(n);
    if (w.role === 'norm') d.fill(1);
    else {
      // embed_tokens rows ~U(±1); projections (graph layout [in, out]) ~U(±1/sqrt(in))
      const a = w.role === 'bias' ? 0.1 : w.name === 'model.embed_tokens.weight' ? 2 : 2 / Math.sqrt(w.graphShape[0]!);
      for (let i = 0; i < n; i++) d[i] = a * (rand() - 0.5);
    }
    feeds[w.name] = new ort.Tensor('float32', d, w.graphShape);
  }
  engine.setWeights(feeds);
  const prompt = [1, 200, 3000, 17, 42, 9];
  const first = await engine.forward(prompt);
  expect(first.logits).toHaveLength(spec.vocabSize);
  expect(first.logits.every(Number.isFinite)).toBe(true);
  const next = await engine.forward([first.logits.indexOf(Math.max(...first.logits))]);
  expect(next.logits.every(Number.isFinite)).toBe(true);
  expect(engine.cachedTokens).toHaveLength(prompt.length + 1);
  await engine.dispose();
  return { ms: performance.now() - t0, params };
}

describe('real-model shapes (ORT wasm in Node)', () => {
  it('SmolLM2-135M shape: hidden 576, 30 layers, 9 heads / 3 KV heads, ffn 1536, vocab 49152, tied', async () => {
    const r = await runShape(SMOLLM2_135M_CONFIG);
    expect(r.params).toBe(134515008);
    console.log(`SmolLM2-135M shape: ${r.params} params, built + prefill 6 + decode 1 in ${(r.ms / 1000).toFixed(1)} s`);
  }, 180_000);

  it('Qwen2-0.5B-style layer shapes (biases, untied head, head_dim 64, 14/2 heads), 2 layers, vocab 8192', async () => {
    const r = await runShape({
      model_type: 'qwen2',
      hidden_size: 896,
      num_hidden_layers: 2,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      intermediate_size: 4864,
      vocab_size: 8192,
      max_position_embeddings: 32768,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      tie_word_embeddings: false,
      use_sliding_window: false,
    });
    console.log(`Qwen2-style: ${r.params} params in ${(r.ms / 1000).toFixed(1)} s`);
  }, 120_000);
});
