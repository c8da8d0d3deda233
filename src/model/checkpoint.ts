/**
 * A validated checkpoint: config.json + a safetensors TensorReader (single file or sharded),
 * checked against the architecture BEFORE anything is read beyond headers or allocated on a GPU.
 */
import { toFloat32, type TensorReader } from '../core/safetensors/index.ts';
import { parseModelConfig, type ModelSpec } from './config.ts';
import { validateWeights, type WeightInfo } from './llama.ts';

export interface Checkpoint {
  spec: ModelSpec;
  /** The raw config.json object. */
  config: Record<string, unknown>;
  weights: WeightInfo[];
  /** HF-layout float32 data of one tensor (F16/BF16 widened). */
  read(name: string): Promise<Float32Array>;
  reader: TensorReader;
}

/** Parse config.json, validate the reader's tensors against it, and wrap it. */
export function openCheckpoint(configJson: unknown, reader: TensorReader): Checkpoint {
  const spec = parseModelConfig(configJson);
  const weights = validateWeights(spec, reader.tensors);
  return {
    spec,
    config: configJson as Record<string, unknown>,
    weights,
    reader,
    async read(name: string): Promise<Float32Array> {
      // a tied checkpoint that stores lm_head too is fine; everything else was validated
      return toFloat32(await reader.read(name));
    },
  };
}
