// Runs in Chromium: composes random weights with the WGSL composer and compares each composed
// buffer with a float64 reference computed here, independently of the kernel.
import { f16BitsToF32 } from '../../src/core/dtype/index.ts';
import { mulberry32 } from '../../src/core/tensor/random.ts';
import { GpuComposer } from '../../src/runtime/composer/gpuComposer.ts';
import type { LowRankEntry, StoredShared } from '../../src/core/twin/index.ts';
import type { WeightInfo } from '../../src/model/llama.ts';
import type { ComposerExpert } from '../../src/runtime/composer/types.ts';

type SharedWeight = StoredShared;

export interface CaseSpec {
  outDim: number;
  inDim: number;
  dtype: SharedWeight['dtype'];
}
export interface CheckResult {
  name: string;
  dtype: string;
  shape: [number, number];
  maxAbsErr: number;
  maxAbsRef: number;
  relErr: number;
}

function makeShared(spec: CaseSpec, rand: () => number): { shared: SharedWeight; values: Float64Array } {
  const n = spec.outDim * spec.inDim;
  const values = new Float64Array(n);
  if (spec.dtype === 'f32') {
    const data = new Float32Array(n);
    for (let e = 0; e < n; e++) values[e] = data[e] = rand() * 2 - 1;
    return { shared: { dtype: 'f32', data }, values };
  }
  if (spec.dtype === 'f16') {
    const data = new Uint16Array(n);
    for (let e = 0; e < n; e++) {
      // Normal halves in roughly ±[2^-5, 2): sign | exponent 10..15 | mantissa.
      data[e] = (rand() < 0.5 ? 0x8000 : 0) | ((10 + Math.floor(rand() * 6)) << 10) | Math.floor(rand() * 1024);
      values[e] = f16BitsToF32(data[e]!);
    }
    return { shared: { dtype: 'f16', data }, values };
  }
  const data = new Int8Array(n);
  const scale = new Float32Array(spec.outDim);
  for (let o = 0; o < spec.outDim; o++) scale[o] = 0.001 + rand() * 0.02;
  for (let e = 0; e < n; e++) {
    data[e] = Math.round(rand() * 254) - 127;
    values[e] = data[e]! * scale[Math.floor(e / spec.inDim)]!;
  }
  return { shared: { dtype: 'int8', data, scale }, values };
}

function makeFactor(name: string, outDim: number, inDim: number, rank: number, rand: () => number): LowRankEntry {
  const A = new Float32Array(rank * inDim).map(() => rand() * 2 - 1);
  const B = new Float32Array(outDim * rank).map(() => (rand() * 2 - 1) * 0.5);
  return { kind: 'lowrank', name, rows: outDim, cols: inDim, rank, A, B };
}

/** Composes, reads back and compares every weight; routing weights below skipBelow must be skipped. */
/** `before`: a routing composed first, so that composing `routing` may update it in place (composePlan.ts); `plan` says which it did. */
async function check(
  cases: CaseSpec[],
  routing: Record<string, number>,
  seed: number,
  skipBelow = 1e-3,
  kernel: 'tiled' | 'flat' = 'tiled',
  output: 'f32' | 'f16' = 'f32',
  before?: Record<string, number>,
): Promise<{ results: CheckResult[]; recomposedAgain: boolean; plan: GpuComposer['lastPlan']; memory: ReturnType<GpuComposer['memory']> }> {
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice();
  const gpuErrors: string[] = [];
  device.addEventListener('uncapturederror', (e) => gpuErrors.push((e as GPUUncapturedErrorEvent).error.message));
  const rand = mulberry32(seed);
  const composer = new GpuComposer(device, kernel, output);
  const ranks: Record<string, number> = { e0: 1, e1: 4, e2: 16, e3: 3 };
  const experts: ComposerExpert[] = Object.keys(ranks).map((id) => ({ id, module: new Map() }));
  const refs = new Map<string, { w: { outDim: number; inDim: number; shared: SharedWeight }; values: Float64Array }>();
  cases.forEach((c, idx) => {
    const name = `w${idx}`;
    const { shared, values } = makeShared(c, rand);
    const w = { name, outDim: c.outDim, inDim: c.inDim, shared };
    // A MatMul weight: [out, in] stored, [in, out] in the graph.
    const info = { name, shape: [c.outDim, c.inDim], role: 'linear', mergeable: true, transposed: true, graphShape: [c.inDim, c.outDim] } satisfies WeightInfo;
    composer.addWeight(info, shared);
    refs.set(name, { w, values });
    // Not every expert touches every weight.
    experts.forEach((e, t) => {
      if ((idx + t) % 5 !== 4) (e.module as Map<string, LowRankEntry>).set(name, makeFactor(name, c.outDim, c.inDim, ranks[e.id]!, rand));
    });
  });
  composer.setExperts(experts);
  if (before) await composer.compose(new Map(Object.entries(before)), { skipBelow });
  await composer.compose(new Map(Object.entries(routing)), { skipBelow });
  const plan = composer.lastPlan;
  const results: CheckResult[] = [];
  for (const [name, { w, values }] of refs) {
    const gpu = await composer.readOutput(name);
    let maxAbsErr = 0;
    let maxAbsRef = 0;
    for (let o = 0; o < w.outDim; o++) {
      for (let i = 0; i < w.inDim; i++) {
        let ref = values[o * w.inDim + i]!;
        for (const e of experts) {
          const wt = routing[e.id] ?? 0;
          const f = e.module.get(name) as LowRankEntry | undefined;
          if (!f || Math.abs(wt) < skipBelow) continue;
          let s = 0;
          for (let k = 0; k < f.rank; k++) s += f.B[o * f.rank + k]! * f.A[k * w.inDim + i]!;
          ref += wt * s;
        }
        maxAbsRef = Math.max(maxAbsRef, Math.abs(ref));
        maxAbsErr = Math.max(maxAbsErr, Math.abs(gpu[i * w.outDim + o]! - ref));
      }
    }
    results.push({ name, dtype: w.shared.dtype, shape: [w.outDim, w.inDim], maxAbsErr, maxAbsRef, relErr: maxAbsErr / Math.max(maxAbsRef, 1e-30) });
  }
  if (gpuErrors.length) throw new Error(`WebGPU errors: ${gpuErrors.join('; ')}`);
  const recomposedAgain = await composer.compose(new Map(Object.entries(routing)), { skipBelow });
  const memory = composer.memory();
  composer.destroy();
  device.destroy();
  return { results, recomposedAgain, plan, memory };
}

(window as unknown as { composerHarness: unknown }).composerHarness = { check };
document.body.dataset.ready = 'true';
