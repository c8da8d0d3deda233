// W = W_shared + sum_t w_t * B_t A_t (+ sum_t w_t * delta_t for 1-D), one tensor, on the CPU: the
// arithmetic of the app's CPU composer (src/runtime/composer/cpuComposer.ts), which `twinmerge eval`
// also composes with. Float64 accumulation per row; the WGSL composer is tested against it.
import { shapeString } from '../tensor/tensor.ts';
import { ExclusiveModuleError, type ExclusiveEntry } from './module.ts';

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
