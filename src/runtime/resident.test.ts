import { describe, expect, it } from 'vitest';
import { f32ToF16Array } from '../core/dtype/index.ts';
import { parseModelConfig } from '../model/config.ts';
import { buildDecoderGraph } from '../model/onnx/decoder.ts';
import { randomCheckpoint } from '../model/random.ts';
import { maxAbsDiff, tinyConfig } from '../testing/tinyModel.ts';
import { DecoderEngine } from './engine.ts';
import { loadNodeOrt, nodeSessionOptions } from './node/session.ts';
import type { OrtModule, OrtSession, OrtTensor } from './ort.ts';
import { toGraphLayout } from './weights.ts';

/** onnxruntime-web (wasm) with a count of live sessions. */
async function countingOrt(): Promise<{ ort: OrtModule; live: () => number }> {
  const ort = await loadNodeOrt('wasm');
  let live = 0;
  const InferenceSession = {
    create: async (...args: unknown[]): Promise<OrtSession> => {
      const s = await (ort.InferenceSession.create as (...a: unknown[]) => Promise<OrtSession>)(...args);
      live++;
      const release = s.release.bind(s);
      s.release = async () => {
        live--;
        await release();
      };
      return s;
    },
  };
  return { ort: { ...ort, InferenceSession } as unknown as OrtModule, live: () => live };
}

describe('DecoderEngine residentWeights (WASM EP)', () => {
  it('matches weights-as-inputs, follows in-place weight changes after weightsChanged(), keeps one session', async () => {
    const spec = parseModelConfig(tinyConfig());
    const a = randomCheckpoint(spec, 5);
    const b = randomCheckpoint(spec, 9);
    const graph = buildDecoderGraph(spec, { weights: 'inputs', logits: 'all', hiddenStateOutput: true });
    const { ort, live } = await countingOrt();
    const so = nodeSessionOptions('wasm');
    const inputs = await DecoderEngine.create(ort, graph.bytes, spec, graph.io, so);
    const resident = await DecoderEngine.create(ort, graph.bytes, spec, graph.io, so, { residentWeights: true });
    expect(resident.resident).toBe(true);
    expect(inputs.resident).toBe(false);
    // One set of arrays, as the CPU composer has: updated in place.
    const arrays = new Map(graph.io.weightInputs.map((w) => [w.name, toGraphLayout(w, a.get(w.name)!).slice()]));
    const feeds: Record<string, OrtTensor> = {};
    for (const w of graph.io.weightInputs) feeds[w.name] = new ort.Tensor('float32', arrays.get(w.name)!, w.graphShape);
    inputs.setWeights(feeds);
    resident.setWeights(feeds);

    const ids = [3, 17, 42, 8, 21, 33, 5];
    const step = async (e: DecoderEngine) => {
      const p = (await e.forward(ids, { allLogits: true })).allLogits!;
      const d = (await e.forward([11])).logits; // a decode step through the KV cache
      return { p, d };
    };
    const ra = await step(resident);
    const ia = await step(inputs);
    expect(maxAbsDiff(ra.p, ia.p)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(ra.d, ia.d)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(await resident.hiddenStates(ids), await inputs.hiddenStates(ids))).toBeLessThanOrEqual(1e-5);
    expect(live()).toBe(2); // inputs' + the resident one (its weights-as-inputs session was released)
    expect(resident.residentStats.builds).toBe(1);

    // A new composition, in place.
    for (const w of graph.io.weightInputs) arrays.get(w.name)!.set(toGraphLayout(w, b.get(w.name)!));
    inputs.resetCache(); // the inputs engine reads the arrays on every run
    resident.weightsChanged();
    const rb = await step(resident);
    const ib = await step(inputs);
    expect(maxAbsDiff(rb.p, ib.p)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(rb.d, ib.d)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(rb.p, ra.p)).toBeGreaterThan(1e-2); // it did follow the new weights
    expect(live()).toBe(2);
    expect(resident.residentStats.builds).toBe(2);
    // Runs without a change reuse the session.
    resident.resetCache();
    await resident.forward([1, 2]);
    expect(resident.residentStats.builds).toBe(2);

    // Foreign weights cannot be fed to a resident session.
    await expect(resident.hiddenStates(ids, { ...feeds })).rejects.toThrow(/residentWeights/);

    await inputs.dispose();
    await resident.dispose();
    expect(live()).toBe(0);
  });

  it('bakes float16 weight inputs too (Cast folded at session creation)', async () => {
    const spec = parseModelConfig(tinyConfig());
    const a = randomCheckpoint(spec, 3);
    const graph = buildDecoderGraph(spec, { weights: 'inputs', logits: 'all', weightInputType: 'float16' });
    const ort = await loadNodeOrt('wasm');
    const so = nodeSessionOptions('wasm');
    const feeds: Record<string, OrtTensor> = {};
    for (const w of graph.io.weightInputs) feeds[w.name] = new ort.Tensor('float16', f32ToF16Array(toGraphLayout(w, a.get(w.name)!)), w.graphShape);
    const inputs = await DecoderEngine.create(ort, graph.bytes, spec, graph.io, so);
    const resident = await DecoderEngine.create(ort, graph.bytes, spec, graph.io, so, { residentWeights: true });
    inputs.setWeights(feeds);
    resident.setWeights(feeds);
    const ids = [5, 9, 2, 40];
    const x = (await resident.forward(ids, { allLogits: true })).allLogits!;
    const y = (await inputs.forward(ids, { allLogits: true })).allLogits!;
    expect(maxAbsDiff(x, y)).toBeLessThanOrEqual(1e-5);
    await inputs.dispose();
    await resident.dispose();
  });
});
