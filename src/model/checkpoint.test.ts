// A safetensors checkpoint is validated against config.json before any tensor data is read.
import { describe, expect, it } from 'vitest';
import { bytesSource, encodeSafetensors, openSafetensors } from '../core/safetensors/index.ts';
import { openCheckpoint } from './checkpoint.ts';
import { parseModelConfig } from './config.ts';
import { WeightValidationError } from './errors.ts';
import { expectedTensors } from './llama.ts';
import { randomCheckpoint } from './random.ts';
import { tinyConfig } from '../testing/tinyModel.ts';

const cfg = tinyConfig();
const spec = parseModelConfig(cfg);

function file(mutate: (t: { name: string; dtype: string; shape: number[]; data: ArrayBufferView }[]) => void): Uint8Array {
  const ck = randomCheckpoint(spec, 1);
  const ts = expectedTensors(spec).map((w) => ({ name: w.name, dtype: 'F32', shape: w.shape, data: ck.get(w.name)! as ArrayBufferView }));
  mutate(ts);
  return encodeSafetensors(ts as never);
}

describe('openCheckpoint', () => {
  it('opens a valid checkpoint and widens BF16 to float32', async () => {
    const bytes = file((ts) => {
      ts[1]!.dtype = 'BF16'; // input_layernorm as BF16 (Float32Array input is rounded)
    });
    const ck = openCheckpoint(cfg, await openSafetensors(bytesSource(bytes)));
    const norm = await ck.read('model.layers.0.input_layernorm.weight');
    expect(norm).toBeInstanceOf(Float32Array);
    expect(norm).toHaveLength(64);
    expect(Math.abs(norm[0]! - 1)).toBeLessThan(0.2);
  });
  it('reports a wrong shape by tensor name, before reading any data', async () => {
    const bytes = file((ts) => {
      const k = ts.find((t) => t.name === 'model.layers.1.self_attn.k_proj.weight')!;
      k.shape = [64, 32];
    });
    const reads: number[] = [];
    const src = bytesSource(bytes);
    const spy = { size: src.size, read: (o: number, l: number) => (reads.push(l), src.read(o, l)) };
    const reader = await openSafetensors(spy);
    const headerReads = reads.length;
    expect(() => openCheckpoint(cfg, reader)).toThrow(WeightValidationError);
    expect(() => openCheckpoint(cfg, reader)).toThrow(/model\.layers\.1\.self_attn\.k_proj\.weight: expected shape \[32, 64\], found \[64, 32\]/);
    expect(reads.length).toBe(headerReads);
  });
});
