// W = W_shared + sum_t w_t * B_t A_t (+ sum_t w_t * delta_t for 1-D): the CPU composer.
// This is the reference for the WGSL composer and its fallback when there is no WebGPU.
import { shapeString, type F32Tensor } from '../tensor/tensor.ts';
import { ExclusiveModuleError, type ExclusiveEntry, type ExclusiveModule } from './exclusive.ts';

function checkEntry(name: string, shape: readonly number[], e: ExclusiveEntry): void {
  if (e.kind === 'delta') {
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))
      throw new ExclusiveModuleError(name, `delta shape ${shapeString(e.shape)} does not match the shared ${shapeString(shape)}`);
  } else if (shape.length !== 2 || shape[0] !== e.rows || shape[1] !== e.cols) {
    throw new ExclusiveModuleError(name, `B*A is [${e.rows}, ${e.cols}], the shared weight is ${shapeString(shape)}`);
  }
}

/**
 * Composes one tensor: out = shared + sum_t weights[t] * entry_t (entries[t] undefined = expert t
 * has no module for this tensor). Row by row with a float64 accumulator; experts with weight 0 are
 * skipped. Returns `out` (allocated when not given).
 */
export function composeTensorCpu(
  name: string,
  shape: readonly number[],
  shared: Float32Array,
  entries: readonly (ExclusiveEntry | undefined)[],
  weights: readonly number[],
  out: Float32Array = new Float32Array(shared.length),
): Float32Array {
  if (entries.length !== weights.length) throw new ExclusiveModuleError(name, `${entries.length} experts but ${weights.length} routing weights`);
  if (out.length !== shared.length) throw new ExclusiveModuleError(name, `output has ${out.length} elements, shared ${shared.length}`);
  const active: ExclusiveEntry[] = [];
  const w: number[] = [];
  entries.forEach((e, t) => {
    if (!e) return;
    checkEntry(name, shape, e);
    if (weights[t] !== 0) {
      active.push(e);
      w.push(weights[t]!);
    }
  });
  if (shape.length !== 2) {
    for (let i = 0; i < shared.length; i++) {
      let s = shared[i]!;
      for (let t = 0; t < active.length; t++) s += w[t]! * (active[t] as { delta: Float32Array }).delta[i]!;
      out[i] = s;
    }
    return out;
  }
  const rows = shape[0]!, cols = shape[1]!;
  const acc = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const ro = i * cols;
    for (let j = 0; j < cols; j++) acc[j] = shared[ro + j]!;
    for (let t = 0; t < active.length; t++) {
      const e = active[t]!;
      const wt = w[t]!;
      if (e.kind === 'delta') {
        for (let j = 0; j < cols; j++) acc[j] = acc[j]! + wt * e.delta[ro + j]!;
        continue;
      }
      const r = e.rank, B = e.B, A = e.A;
      for (let k = 0; k < r; k++) {
        const c = wt * B[i * r + k]!;
        if (c === 0) continue;
        const ao = k * cols;
        for (let j = 0; j < cols; j++) acc[j] = acc[j]! + c * A[ao + j]!;
      }
    }
    for (let j = 0; j < cols; j++) out[ro + j] = acc[j]!;
  }
  return out;
}

function checkExperts(shared: ReadonlyMap<string, F32Tensor>, experts: readonly ExclusiveModule[], routingWeights: readonly number[]): void {
  if (experts.length !== routingWeights.length) throw new RangeError(`composeCpu: ${experts.length} experts but ${routingWeights.length} routing weights`);
  routingWeights.forEach((x, t) => {
    if (!Number.isFinite(x)) throw new RangeError(`composeCpu: routing weight ${t} is ${x}`);
  });
  experts.forEach((m, t) => {
    for (const name of m.keys()) if (!shared.has(name)) throw new ExclusiveModuleError(name, `expert ${t} has a module for a weight the shared model lacks`);
  });
}

/**
 * W = W_shared + sum_t w_t * B_t A_t (+ sum_t w_t * delta_t) for every shared tensor. Tensors no
 * expert touches are copied. Returns new arrays, by name.
 */
export function composeCpu(
  shared: ReadonlyMap<string, F32Tensor>,
  experts: readonly ExclusiveModule[],
  routingWeights: readonly number[],
): Map<string, Float32Array> {
  checkExperts(shared, experts, routingWeights);
  const out = new Map<string, Float32Array>();
  for (const [name, t] of shared) {
    out.set(name, composeTensorCpu(name, t.shape, t.data, experts.map((m) => m.get(name)), routingWeights));
  }
  return out;
}

/** The same in plain float64 with the dense products B_t A_t formed first: a reference for tests. */
export function composeCpuReference(
  shared: ReadonlyMap<string, F32Tensor>,
  experts: readonly ExclusiveModule[],
  routingWeights: readonly number[],
): Map<string, Float64Array> {
  checkExperts(shared, experts, routingWeights);
  const out = new Map<string, Float64Array>();
  for (const [name, t] of shared) {
    const w = Float64Array.from(t.data);
    experts.forEach((m, idx) => {
      const e = m.get(name);
      if (!e) return;
      checkEntry(name, t.shape, e);
      const wt = routingWeights[idx]!;
      if (e.kind === 'delta') {
        for (let i = 0; i < w.length; i++) w[i] = w[i]! + wt * e.delta[i]!;
        return;
      }
      for (let i = 0; i < e.rows; i++)
        for (let j = 0; j < e.cols; j++) {
          let s = 0;
          for (let k = 0; k < e.rank; k++) s += e.B[i * e.rank + k]! * e.A[k * e.cols + j]!;
          w[i * e.cols + j] = w[i * e.cols + j]! + wt * s;
        }
    });
    out.set(name, w);
  }
  return out;
}
