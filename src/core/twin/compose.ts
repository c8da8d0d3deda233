// W = W_shared + sum_t w_t * B_t A_t (+ sum_t w_t * delta_t for 1-D), one tensor, on the CPU: the
// arithmetic of the app's CPU composer (src/runtime/composer/cpuComposer.ts), which `twinmerge eval`
// also composes with. Float64 accumulation per row; the WGSL composer is tested against it.
import { shapeString } from '../tensor/tensor.ts';
import { ExclusiveModuleError, type ExclusiveEntry } from './module.ts';

/** Rows composed together (they share each read of A): the four rows of axpy4. */
const ROW_BLOCK = 4;

function checkEntry(name: string, shape: readonly number[], e: ExclusiveEntry): void {
  if (e.kind === 'delta') {
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i]))
      throw new ExclusiveModuleError(name, `delta shape ${shapeString(e.shape)} does not match the shared ${shapeString(shape)}`);
  } else if (shape.length !== 2 || shape[0] !== e.rows || shape[1] !== e.cols) {
    throw new ExclusiveModuleError(name, `B*A is [${e.rows}, ${e.cols}], the shared weight is ${shapeString(shape)}`);
  }
}

/** acc_q[j] += c_q · A[ao + j] for four rows (a small function V8 optimizes on its own). */
function axpy4(acc0: Float64Array, acc1: Float64Array, acc2: Float64Array, acc3: Float64Array, c0: number, c1: number, c2: number, c3: number, A: Float32Array, ao: number, cols: number): void {
  for (let j = 0; j < cols; j++) {
    const x = A[ao + j]!;
    acc0[j] = acc0[j]! + c0 * x;
    acc1[j] = acc1[j]! + c1 * x;
    acc2[j] = acc2[j]! + c2 * x;
    acc3[j] = acc3[j]! + c3 * x;
  }
}

/**
 * Composes one tensor: out = shared + sum_t weights[t] * entry_t (entries[t] undefined = expert t
 * has no module for this tensor). A float64 accumulator per row, four rows at a time; experts with
 * weight 0 are skipped. Returns `out` (allocated when not given).
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
  // Rows in blocks of ROW_BLOCK: one read of an A row serves four accumulators (~2× faster in V8 at
  // the 135M shape). Each element still adds the same terms in the same order, so the result is
  // bit-identical to composing row by row.
  const accs = Array.from({ length: ROW_BLOCK }, () => new Float64Array(cols));
  const [acc0, acc1, acc2, acc3] = accs as [Float64Array, Float64Array, Float64Array, Float64Array];
  for (let i0 = 0; i0 < rows; i0 += ROW_BLOCK) {
    const n = Math.min(ROW_BLOCK, rows - i0);
    for (let q = 0; q < n; q++) accs[q]!.set(shared.subarray((i0 + q) * cols, (i0 + q + 1) * cols));
    for (let t = 0; t < active.length; t++) {
      const e = active[t]!;
      const wt = w[t]!;
      if (e.kind === 'delta') {
        for (let q = 0; q < n; q++) {
          const acc = accs[q]!, ro = (i0 + q) * cols;
          for (let j = 0; j < cols; j++) acc[j] = acc[j]! + wt * e.delta[ro + j]!;
        }
        continue;
      }
      const r = e.rank, B = e.B, A = e.A;
      for (let k = 0; k < r; k++) {
        const ao = k * cols;
        if (n === ROW_BLOCK) {
          const c0 = wt * B[i0 * r + k]!, c1 = wt * B[(i0 + 1) * r + k]!, c2 = wt * B[(i0 + 2) * r + k]!, c3 = wt * B[(i0 + 3) * r + k]!;
          if (c0 !== 0 && c1 !== 0 && c2 !== 0 && c3 !== 0) {
            axpy4(acc0, acc1, acc2, acc3, c0, c1, c2, c3, A, ao, cols);
            continue;
          }
        }
        // A partial block, or a zero coefficient (skipped, as row by row: adding 0·A could turn −0 into +0).
        for (let q = 0; q < n; q++) {
          const c = wt * B[(i0 + q) * r + k]!;
          if (c === 0) continue;
          const acc = accs[q]!;
          for (let j = 0; j < cols; j++) acc[j] = acc[j]! + c * A[ao + j]!;
        }
      }
    }
    for (let q = 0; q < n; q++) {
      const acc = accs[q]!, ro = (i0 + q) * cols;
      for (let j = 0; j < cols; j++) out[ro + j] = acc[j]!;
    }
  }
  return out;
}
