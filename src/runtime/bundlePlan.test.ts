// The plan of the shipped demo bundle and of twinmerge synth's real shapes, from their manifests alone.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../core/bundle/manifest.ts';
import { KNOWN_SHAPES } from '../model/knownConfigs.ts';
import { deviceFitProblem, planBundle } from './bundlePlan.ts';
import { neededAtLoad } from './twin/session.ts';

const demo = parseManifest(readFileSync('models/bundle/manifest.json', 'utf8'));

describe('planBundle', () => {
  it('the demo bundle: parameters, bytes to load, memory', () => {
    const p = planBundle(demo, (f) => neededAtLoad(f, demo));
    const a = demo.architecture;
    expect(p.spec.hiddenSize).toBe(a.hidden_size);
    expect(p.totalBytes).toBe(demo.files.reduce((s, f) => s + f.bytes, 0));
    expect(p.loadBytes).toBeLessThan(p.totalBytes); // full weights and the base delta are fetched later
    expect(p.memory.shared).toBe(demo.files.find((f) => f.path === demo.shared.file)!.bytes);
    expect(p.memory.composed).toBe(p.parameters * 4);
    expect(p.memory.kvPerToken).toBe(a.num_hidden_layers * 2 * a.num_key_value_heads * (a.hidden_size / a.num_attention_heads) * 4);
  });

  it('real shapes: SmolLM2-135M and Qwen2.5-0.5B parameters as the real models; the largest weight is the embedding', () => {
    const at = (arch: Record<string, unknown>, sharedBytes: number) =>
      planBundle({ ...demo, architecture: arch as typeof demo.architecture, router: { ...demo.router, feature: { ...demo.router.feature, size: arch.hidden_size as number } }, files: demo.files.map((f) => (f.path === demo.shared.file ? { ...f, bytes: sharedBytes } : f)) });
    const smol = at({ ...KNOWN_SHAPES['smollm2-135m'] }, 134_515_008 * 2 + 30_000);
    expect(smol.parameters).toBe(134_515_008);
    expect(smol.largestWeight).toEqual({ name: 'model.embed_tokens.weight', bytes: 49152 * 576 * 4 });
    expect(smol.memory.kvPerToken).toBe(30 * 2 * 3 * 64 * 4);
    const qwen = at({ ...KNOWN_SHAPES['qwen2.5-0.5b'] }, 494_032_768 * 2 + 60_000);
    expect(qwen.parameters).toBe(494_032_768);
    expect(qwen.largestWeight.bytes).toBe(151936 * 896 * 4);
    // SwiftShader-like limits (256 MiB buffers): 135M fits in f32, Qwen2.5-0.5B's embedding does not (but would at f16 on a 512 MiB adapter).
    const gpu = (max: number, per: 2 | 4) => ({ kind: 'webgpu' as const, maxBufferSize: max, maxStorageBufferBindingSize: max, composedBytesPerElement: per });
    expect(deviceFitProblem(smol, gpu(256 * 2 ** 20, 4))).toBeNull();
    expect(deviceFitProblem(qwen, gpu(256 * 2 ** 20, 4))).toMatch(/model\.embed_tokens\.weight, 519\.3 MiB composed\) is larger than the biggest buffer the GPU adapter allows \(256\.0 MiB\)/);
    expect(deviceFitProblem(qwen, gpu(512 * 2 ** 20, 2))).toBeNull();
    expect(deviceFitProblem(qwen, { kind: 'wasm' })).toBeNull(); // 1.84 GiB of float32
    const big = at({ ...KNOWN_SHAPES['qwen2.5-0.5b'], hidden_size: 1792, num_attention_heads: 28, intermediate_size: 9728 }, 1_700_000_000 * 2);
    expect(deviceFitProblem(big, { kind: 'wasm' })).toMatch(/does not fit WebAssembly's memory/);
  });
});
