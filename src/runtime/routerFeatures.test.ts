// Early-exit routing: the router graph of the first k layers (weights baked in, no head) gives the
// same features as the full graph's hidden state after layer k, which pack and eval read; at k = L it
// is the last-layer router's feature.
import { describe, expect, it } from 'vitest';
import { parseModelConfig as parseSpec } from '../model/config.ts';
import { buildDecoderGraph, layerHiddenName } from '../model/onnx/decoder.ts';
import { expectedTensors } from '../model/llama.ts';
import { maxAbsDiff, tinyConfig, tinyEngine } from '../testing/tinyModel.ts';
import { createNodeEngine } from './node/session.ts';
import { buildRouterGraph } from './routerFeatures.ts';
import { routerOwnBytes, routerWeights } from './bundlePlan.ts';

const IDS = [3, 17, 42, 5, 9, 33, 21, 8, 50, 1, 12];

describe('router graph (early exit)', () => {
  it('the first k layers with the weights baked in = the full graph’s hidden state after layer k', async () => {
    const m = await tinyEngine(tinyConfig({ num_hidden_layers: 3, tie_word_embeddings: false }), { graph: { layerHiddenStates: true } });
    expect(m.engine.io.layerHiddenNames).toEqual([1, 2, 3].map(layerHiddenName));
    const perLayer = await m.engine.layerHiddenStates(IDS);
    // The last one is the full model's last_hidden_state.
    expect(maxAbsDiff(perLayer[2]!, await m.engine.hiddenStates(IDS))).toBe(0);
    for (let k = 1; k <= 3; k++) {
      const g = buildRouterGraph(m.spec, k, { weights: 'initializers', weight: (n) => m.weights.get(n)! });
      expect(g.io.head).toBe(false);
      expect(g.io.numLayers).toBe(k);
      const e = await createNodeEngine(m.spec, g, { backend: 'wasm' });
      expect(e.session.outputNames).not.toContain('logits');
      expect(maxAbsDiff(await e.hiddenStates(IDS), perLayer[k - 1]!)).toBeLessThan(1e-5);
      await expect(e.forward(IDS)).rejects.toThrow(/no LM head/);
      await e.dispose();
    }
    await m.engine.dispose();
  });

  it('reads only the embedding, its layers and the final norm', () => {
    const m = tinyConfig({ num_hidden_layers: 4, tie_word_embeddings: false });
    const g = buildDecoderGraph(parseSpec(m), { weights: 'inputs', layers: 2, head: false, hiddenStateOutput: true });
    const names = g.io.weightInputs.map((w) => w.name);
    expect(names).toContain('model.embed_tokens.weight');
    expect(names).toContain('model.norm.weight');
    expect(names.some((n) => n.startsWith('model.layers.2.'))).toBe(false);
    expect(names).not.toContain('lm_head.weight');
    expect(names).toEqual(routerWeights(parseSpec(m), 2).map((w) => w.name));
    const all = expectedTensors(parseSpec(m)).filter((w) => w.name !== 'lm_head.weight');
    const numel = (ws: { shape: readonly number[] }[]) => ws.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
    expect(routerOwnBytes(parseSpec(m), 4)).toBe(numel(all) * 4);
    expect(() => buildDecoderGraph(parseSpec(m), { weights: 'inputs', layers: 5 })).toThrow(/layers 5/);
    expect(() => buildDecoderGraph(parseSpec(m), { weights: 'inputs', head: false })).toThrow(/hidden-state output/);
  });
});
