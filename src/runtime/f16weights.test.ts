import { describe, expect, it } from 'vitest';
import { f16ToF32Array, f32ToF16Array } from '../core/dtype/index.ts';
import { parseModelConfig } from '../model/config.ts';
import { buildDecoderGraph } from '../model/onnx/decoder.ts';
import { randomCheckpoint } from '../model/random.ts';
import { createNodeEngine, loadNodeOrt } from './node/session.ts';
import { tinyConfig } from '../testing/tinyModel.ts';
import { toGraphLayout } from './weights.ts';

describe('graph with float16 weight inputs', () => {
  it('equals the float32 graph fed the same f16-rounded weights, on wasm and cpu', async () => {
    const spec = parseModelConfig(tinyConfig());
    const weights = randomCheckpoint(spec, 5);
    const ids = [3, 17, 42, 8, 21, 33, 5];
    for (const backend of ['wasm', 'cpu'] as const) {
      const ort = await loadNodeOrt(backend);
      const g32 = buildDecoderGraph(spec, { weights: 'inputs', logits: 'all' });
      const g16 = buildDecoderGraph(spec, { weights: 'inputs', logits: 'all', weightInputType: 'float16' });
      expect(g16.io.weightInputType).toBe('float16');
      const e32 = await createNodeEngine(spec, g32, { backend });
      const e16 = await createNodeEngine(spec, g16, { backend });
      const f32Feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      const f16Feeds: Record<string, InstanceType<typeof ort.Tensor>> = {};
      for (const w of g32.io.weightInputs) {
        const bits = f32ToF16Array(toGraphLayout(w, weights.get(w.name)!));
        f16Feeds[w.name] = new ort.Tensor('float16', bits, w.graphShape);
        f32Feeds[w.name] = new ort.Tensor('float32', f16ToF32Array(bits), w.graphShape);
      }
      e32.setWeights(f32Feeds);
      e16.setWeights(f16Feeds);
      const a = (await e32.forward(ids, { allLogits: true })).allLogits!;
      const b = (await e16.forward(ids, { allLogits: true })).allLogits!;
      // Cast f16 → f32 is exact, so the two graphs compute the same numbers.
      let maxAbs = 0;
      for (let i = 0; i < a.length; i++) maxAbs = Math.max(maxAbs, Math.abs(a[i]! - b[i]!));
      expect(maxAbs, backend).toBeLessThanOrEqual(1e-6);
      await e32.dispose();
      await e16.dispose();
    }
  });
});
