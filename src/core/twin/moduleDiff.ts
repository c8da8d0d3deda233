// How far apart two exclusive modules of the same weights are: per weight, the relative Frobenius
// distance of the products B A (what composing adds; independent of the factors' signs and of how a
// rank's components are split) and of the factors themselves. Products are never formed: with
// C = [B1, -B2] and D = [A1; A2], ||B1 A1 - B2 A2||^2 = trace((C^T C)(D D^T)), small matrices only
// (the subtraction inside the trace leaves a floor of about 1e-8 relative).
import type { ExclusiveModule } from './module.ts';

type LowRank = { rows: number; cols: number; rank: number; A: Float32Array; B: Float32Array };

/** ||sum_i s_i B_i A_i||_F^2 for factor pairs with signs s_i, in float64. */
function productNorm2(parts: { f: LowRank; sign: number }[]): number {
  const cols: { b: (i: number) => number; a: (j: number) => number }[] = [];
  for (const { f, sign } of parts)
    for (let t = 0; t < f.rank; t++) cols.push({ b: (i) => sign * f.B[i * f.rank + t]!, a: (j) => f.A[t * f.cols + j]! });
  const n = cols.length;
  const rows = parts[0]!.f.rows;
  const width = parts[0]!.f.cols;
  const gb = new Float64Array(n * n);
  const ga = new Float64Array(n * n);
  const colB = cols.map((c) => Float64Array.from({ length: rows }, (_, i) => c.b(i)));
  const rowA = cols.map((c) => Float64Array.from({ length: width }, (_, j) => c.a(j)));
  const dot = (x: Float64Array, y: Float64Array) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
    return s;
  };
  for (let p = 0; p < n; p++)
    for (let q = 0; q <= p; q++) {
      gb[p * n + q] = gb[q * n + p] = dot(colB[p]!, colB[q]!);
      ga[p * n + q] = ga[q * n + p] = dot(rowA[p]!, rowA[q]!);
    }
  let tr = 0;
  for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) tr += gb[p * n + q]! * ga[q * n + p]!;
  return Math.max(0, tr);
}

const concat = (p: Float32Array, q: Float32Array) => {
  const c = new Float32Array(p.length + q.length);
  c.set(p);
  c.set(q, p.length);
  return c;
};

export interface ModuleDiff {
  /** Largest relative Frobenius distance of B A (or of a delta) over the weights, and where. */
  product: number;
  productAt: string;
  /** Largest relative Frobenius distance of the concatenated factors [A, B] (or of a delta). */
  factors: number;
}

/** `a` against the reference `b` (same weights, same kinds). */
export function moduleDiff(a: ExclusiveModule, b: ExclusiveModule): ModuleDiff {
  const out: ModuleDiff = { product: 0, productAt: '', factors: 0 };
  const rel = (x: ArrayLike<number>, y: ArrayLike<number>) => {
    let num = 0;
    let den = 0;
    for (let i = 0; i < y.length; i++) (num += (x[i]! - y[i]!) ** 2), (den += y[i]! ** 2);
    return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
  };
  for (const [name, y] of b) {
    const x = a.get(name);
    if (!x || x.kind !== y.kind) throw new Error(`${name}: ${x ? x.kind : 'missing'} where the reference has ${y.kind}`);
    let product: number;
    if (x.kind === 'delta' && y.kind === 'delta') {
      product = rel(x.delta, y.delta);
      out.factors = Math.max(out.factors, product);
    } else if (x.kind === 'lowrank' && y.kind === 'lowrank') {
      const ref = productNorm2([{ f: y, sign: 1 }]);
      const diff = productNorm2([{ f: x, sign: 1 }, { f: y, sign: -1 }]);
      product = ref > 0 ? Math.sqrt(diff / ref) : Math.sqrt(diff);
      out.factors = x.rank === y.rank ? Math.max(out.factors, rel(concat(x.A, x.B), concat(y.A, y.B))) : Infinity;
    } else continue;
    if (product > out.product) (out.product = product), (out.productAt = name);
  }
  return out;
}
