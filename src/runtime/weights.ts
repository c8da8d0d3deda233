/**
 * Checkpoint tensors → graph weight feeds. Transposes 2-D projections to the graph's [in, out] layout, and makes CPU tensors or (WebGPU) GPU buffers.
 * Validation (names, shapes, dtypes) happens before any of this, in src/model/llama.ts.
 */
import type { DecoderIO } from '../model/onnx/decoder.ts';
import { transpose2d } from '../model/onnx/decoder.ts';
import type { WeightInfo } from '../model/llama.ts';
import { f32ToF16Array } from '../core/dtype/index.ts';
import type { OrtModule, OrtTensor } from './ort.ts';

/** HF-layout float32 data for a tensor name (sync or async, e.g. read from safetensors). */
export type WeightSource = (name: string) => Float32Array | Promise<Float32Array>;

/** HF-layout float32 data → the graph's layout for that input. */
export function toGraphLayout(w: WeightInfo, hfData: Float32Array): Float32Array {
  return w.transposed ? transpose2d(hfData, w.shape[0]!, w.shape[1]!) : hfData;
}

/** CPU tensors for every weight input of the graph. `get` returns HF-layout float32 data. */
export async function cpuWeightFeeds(
  ort: OrtModule,
  io: DecoderIO,
  get: WeightSource,
): Promise<Record<string, OrtTensor>> {
  const feeds: Record<string, OrtTensor> = {};
  for (const w of io.weightInputs) {
    const data = toGraphLayout(w, await get(w.name));
    feeds[w.name] = io.weightInputType === 'float16' ? new ort.Tensor('float16', f32ToF16Array(data), w.graphShape) : new ort.Tensor('float32', data, w.graphShape);
  }
  return feeds;
}

/** GPU-resident weights for the WebGPU EP; the caller owns them (destroy() when done). */
export interface GpuWeights {
  feeds: Record<string, OrtTensor>;
  buffers: Map<string, GPUBuffer>;
  destroy(): void;
}

const WEIGHT_USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08; /* COPY_DST */

/**
 * Upload weights into GPU buffers on `device` (the one ORT's WebGPU EP was given) and wrap them
 * with Tensor.fromGpuBuffer. Buffers have STORAGE|COPY_SRC|COPY_DST usage so the composer can
 * write composed weights into them in place.
 */
export async function uploadGpuWeights(
  ort: OrtModule,
  device: GPUDevice,
  io: DecoderIO,
  get: WeightSource,
): Promise<GpuWeights> {
  const buffers = new Map<string, GPUBuffer>();
  const feeds: Record<string, OrtTensor> = {};
  try {
    for (const w of io.weightInputs) {
      const f32 = toGraphLayout(w, await get(w.name));
      const data = io.weightInputType === 'float16' ? f32ToF16Array(f32) : f32;
      const buf = device.createBuffer({ size: Math.ceil(data.byteLength / 16) * 16, usage: WEIGHT_USAGE, label: w.name });
      device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
      buffers.set(w.name, buf);
      feeds[w.name] = ort.Tensor.fromGpuBuffer(buf, { dataType: io.weightInputType, dims: w.graphShape });
    }
  } catch (e) {
    for (const b of buffers.values()) b.destroy();
    throw e;
  }
  return {
    feeds,
    buffers,
    destroy() {
      for (const b of buffers.values()) b.destroy();
      buffers.clear();
    },
  };
}
