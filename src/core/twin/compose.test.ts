// composeTensorCpu composes rows in blocks; each element must still add the same terms in the same
// order as composing row by row (eval and the WASM app compose with it, so results must not move):
// bit-identical to a plain row-by-row float64 loop, including zero coefficients, -0 and dense deltas.
import { describe, expect, it } from 'vitest';
import { composeTensorCpu, type ExclusiveEntry } from './index.ts';

function rowByRow(shared: Float32Array, rows: number, cols: number, entries: ExclusiveEntry[], w: number[]): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const acc = Float64Array.from(shared.subarray(i * cols, (i + 1) * cols));
    entries.forEach((e, t) => {
      if (w[t] === 0) return;
      if (e.kind === 'delta') for (let j = 0; j < cols; j++) acc[j] = acc[j]! + w[t]! * e.delta[i * cols + j]!;
      else
        for (let k = 0; k < e.rank; k++) {
          const c = w[t]! * e.B[i * e.rank + k]!;
          if (c === 0) continue;
          for (let j = 0; j < cols; j++) acc[j] = acc[j]! + c * e.A[k * cols + j]!;
        }
    });
    out.set(acc, i * cols);
  }
  return out;
}

let seed = 7;
const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
const values = (n: number, zeros = 0) => Float32Array.from({ length: n }, () => (rand() < zeros ? 0 : rand()));

describe('composeTensorCpu', () => {
  for (const [rows, cols] of [[1, 5], [3, 7], [4, 6], [9, 5], [16, 33]] as const) {
    it(`[${rows}, ${cols}]: bit-identical to row by row (low-rank with zero rows, a dense delta, a zero weight)`, () => {
      const shared = values(rows * cols, 0.1);
      shared[0] = -0; // −0 stays −0 where nothing is added
      const lowrank = (rank: number, zeros: number): ExclusiveEntry => ({ kind: 'lowrank', name: 'w', rows, cols, rank, A: values(rank * cols), B: values(rows * rank, zeros) });
      const entries: ExclusiveEntry[] = [lowrank(3, 0), lowrank(2, 0.3), { kind: 'delta', name: 'w', shape: [rows, cols], delta: values(rows * cols) }, lowrank(4, 0)];
      for (const w of [[0.4, 0.3, 0.2, 0.1], [0, 1, 0, 0], [0.7, -0.2, 0, 0.5]]) {
        const got = composeTensorCpu('w', [rows, cols], shared, entries, w);
        const want = rowByRow(shared, rows, cols, entries, w);
        for (let e = 0; e < want.length; e++) if (!Object.is(got[e], want[e])) expect.fail(`element ${e}: ${got[e]} vs ${want[e]} (routing ${w})`);
      }
    });
  }
});
