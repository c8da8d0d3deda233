// Truncated SVD stored factored: B = U_r sqrt(S_r) [rows, r], A = sqrt(S_r) V_r^T [r, cols].
// Float64 inside, Float32Array out. Two algorithms, chosen by size:
//  - exact: eigendecomposition of the smaller Gram matrix (M^T M or M M^T), then the other side's
//    vectors by one product with M. B*A is then exactly the projection M V_r V_r^T (or U_r U_r^T M),
//    and each kept singular value is re-measured as ||M v_j||, so tiny and zero ones are consistent.
//  - randomized (Halko, Martinsson & Tropp 2011): Gaussian sketch of k = r + oversample columns,
//    subspace (power) iterations with re-orthonormalisation, then the exact method on the k x cols
//    projection Q^T M. Seeded, deterministic. Its big products (M X, Q^T M) are requests the method
//    yields: float64 loops here (truncatedSvd), or an engine such as onnxruntime's MatMul in float32
//    (truncatedSvdAsync with MatrixProducts: src/runtime/matrixProducts.ts), 50-150x faster.
import { Rng } from '../tensor/random.ts';
import { symmetricEigen } from './eigen.ts';

export type Matrix64 = Float32Array | Float64Array;

export interface LowRankFactors {
  readonly rows: number;
  readonly cols: number;
  readonly rank: number;
  /** [rows, rank] row-major: U_r sqrt(S_r). */
  readonly B: Float32Array;
  /** [rank, cols] row-major: sqrt(S_r) V_r^T. */
  readonly A: Float32Array;
  /** The kept singular values (length rank), as measured by the algorithm. */
  readonly singularValues: Float64Array;
  readonly method: 'exact' | 'randomized';
}

export interface SvdOptions {
  /** 'auto' (default) picks exact for small matrices or ranks near full, randomized otherwise. */
  readonly method?: 'auto' | 'exact' | 'randomized';
  /** Extra sketch columns for the randomized method (default max(10, rank/2)). */
  readonly oversample?: number;
  /** Subspace iterations for the randomized method (default 3). */
  readonly powerIterations?: number;
  /** Seed of the randomized method's Gaussian sketch (default 0). */
  readonly seed?: number;
}

function checkMatrix(m: Matrix64, rows: number, cols: number, what: string): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw new RangeError(`${what}: bad shape [${rows}, ${cols}]`);
  if (m.length !== rows * cols) throw new RangeError(`${what}: ${m.length} elements is not [${rows}, ${cols}]`);
}

/** Sum of squares (squared Frobenius norm), in float64. */
export function frobenius2(m: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i]! * m[i]!;
  return s;
}

/** Lower triangle (and mirrored) of the Gram matrix of the smaller side: n x n, n = min(rows, cols). */
function gram(m: Matrix64, rows: number, cols: number): { g: Float64Array; n: number; colsSide: boolean } {
  if (rows >= cols) {
    const n = cols;
    const g = new Float64Array(n * n);
    for (let k = 0; k < rows; k++) {
      const o = k * cols;
      for (let i = 0; i < n; i++) {
        const a = m[o + i]!;
        if (a === 0) continue;
        const gi = i * n;
        for (let j = 0; j <= i; j++) g[gi + j] = g[gi + j]! + a * m[o + j]!;
      }
    }
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[j * n + i] = g[i * n + j]!;
    return { g, n, colsSide: true };
  }
  const n = rows;
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = i * cols;
    for (let j = 0; j <= i; j++) {
      const oj = j * cols;
      let s = 0;
      for (let k = 0; k < cols; k++) s += m[oi + k]! * m[oj + k]!;
      g[i * n + j] = s;
      g[j * n + i] = s;
    }
  }
  return { g, n, colsSide: false };
}

/** All singular values (descending, length min(rows, cols)), exact, via the Gram matrix's eigenvalues. */
export function singularValues(m: Matrix64, rows: number, cols: number): Float64Array {
  checkMatrix(m, rows, cols, 'singularValues');
  const { g, n } = gram(m, rows, cols);
  const { values } = symmetricEigen(g, n, false);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) s[i] = Math.sqrt(Math.max(0, values[i]!));
  return s;
}

/**
 * Kept-energy curve: out[r] = (sum_{i<r} sigma_i^2) / total for r = 0..sigma.length.
 * `total` defaults to the sum of all sigma^2 (pass ||M||_F^2 when sigma is only a prefix).
 */
export function energyCurve(sigma: ArrayLike<number>, total?: number): Float64Array {
  let t = total;
  if (t === undefined) {
    t = 0;
    for (let i = 0; i < sigma.length; i++) t += sigma[i]! * sigma[i]!;
  }
  const out = new Float64Array(sigma.length + 1);
  let acc = 0;
  for (let i = 0; i < sigma.length; i++) {
    acc += sigma[i]! * sigma[i]!;
    out[i + 1] = t > 0 ? Math.min(1, acc / t) : 1;
  }
  if (!(t > 0)) out[0] = 1;
  return out;
}

/** Which algorithm 'auto' uses for a [rows, cols] matrix at `rank`. */
export function chooseSvdMethod(rows: number, cols: number, rank: number, opts: SvdOptions = {}, withProducts = false): 'exact' | 'randomized' {
  const n = Math.min(rows, cols);
  const r = Math.min(rank, n);
  const k = Math.min(n, r + (opts.oversample ?? Math.max(10, Math.ceil(r / 2))));
  if (n <= 256 || k >= n / 2) return 'exact';
  // With an engine for the products the randomized method's cost is mostly the float64 orthonormalisation.
  if (withProducts) return 'randomized';
  const q = opts.powerIterations ?? 3;
  const costExact = (rows * cols * n) / 2 + 10 * n ** 3;
  const costRand = (2 * q + 2) * rows * cols * k + 4 * (q + 1) * (rows + cols) * k * k;
  return costExact <= costRand ? 'exact' : 'randomized';
}

/**
 * Rank-r truncated SVD of the row-major [rows, cols] matrix m, factored as B [rows, r], A [r, cols].
 * r is clamped to min(rows, cols). m is not modified.
 */
export function truncatedSvd(m: Matrix64, rows: number, cols: number, rank: number, opts: SvdOptions = {}): LowRankFactors {
  checkMatrix(m, rows, cols, 'truncatedSvd');
  if (!Number.isInteger(rank) || rank < 0) throw new RangeError(`truncatedSvd: rank must be a non-negative integer, got ${rank}`);
  const r = Math.min(rank, rows, cols);
  const method = opts.method === undefined || opts.method === 'auto' ? chooseSvdMethod(rows, cols, r, opts) : opts.method;
  if (r === 0) return empty(rows, cols, method);
  if (method === 'exact') return exactSvd(m, rows, cols, r);
  const steps = randomizedSteps(rows, cols, r, opts);
  let step = steps.next();
  while (!step.done) {
    const p = step.value;
    step = steps.next(p.kind === 'XtMt' ? mulMX(m, rows, cols, p.x, p.k) : mulMtQ(m, rows, cols, p.x, p.k));
  }
  return step.value;
}

/** A product the randomized method needs, with its other factor transposed: Xt [k, cols] or Qt [k, rows]. */
export interface SvdProduct {
  /** XtMt: Xt M^T = (M X)^T, [k, rows]. QtM: Qt M = (M^T Q)^T, [k, cols]. */
  readonly kind: 'XtMt' | 'QtM';
  readonly x: Float64Array;
  readonly k: number;
  /** The matrix in place of M ([rows, cols] row-major): the orthonormalisation's own products. */
  readonly of?: { readonly data: Float64Array; readonly rows: number; readonly cols: number };
}

/** An engine for the randomized method's products, in float32 (row-major; M is [rows, cols]). */
export interface MatrixProducts {
  /** Xt [k, cols] times M^T: [k, rows]. */
  xtMt(m: Float32Array, rows: number, cols: number, xt: Float32Array, k: number): Promise<Float32Array>;
  /** Qt [k, rows] times M: [k, cols]. */
  qtM(m: Float32Array, rows: number, cols: number, qt: Float32Array, k: number): Promise<Float32Array>;
}

/**
 * truncatedSvd with the randomized method's products on `products` (float32; the orthonormalisation and
 * the small eigenproblem stay float64 here). Without `products`, or where the exact method is chosen,
 * it is truncatedSvd.
 */
export async function truncatedSvdAsync(m: Matrix64, rows: number, cols: number, rank: number, opts: SvdOptions = {}, products?: MatrixProducts): Promise<LowRankFactors> {
  checkMatrix(m, rows, cols, 'truncatedSvd');
  const r = Math.min(rank, rows, cols);
  const method = opts.method === undefined || opts.method === 'auto' ? chooseSvdMethod(rows, cols, r, opts, !!products) : opts.method;
  if (!products || method === 'exact' || !Number.isInteger(rank) || r <= 0) return truncatedSvd(m, rows, cols, rank, { ...opts, method });
  const m32 = m instanceof Float32Array ? m : Float32Array.from(m);
  const steps = randomizedSteps(rows, cols, r, opts, true);
  let step = steps.next();
  while (!step.done) {
    const p = step.value;
    const x = Float32Array.from(p.x);
    // The Gram product X X^T has X on both sides: convert it once.
    const [a, ar, ac] = p.of ? [p.of.data === p.x ? x : Float32Array.from(p.of.data), p.of.rows, p.of.cols] : [m32, rows, cols];
    const y = p.kind === 'XtMt' ? await products.xtMt(a, ar, ac, x, p.k) : await products.qtM(a, ar, ac, x, p.k);
    step = steps.next(Float64Array.from(y));
  }
  return step.value;
}

function empty(rows: number, cols: number, method: 'exact' | 'randomized'): LowRankFactors {
  return { rows, cols, rank: 0, B: new Float32Array(0), A: new Float32Array(0), singularValues: new Float64Array(0), method };
}

function exactSvd(m: Matrix64, rows: number, cols: number, r: number): LowRankFactors {
  const { g, n, colsSide } = gram(m, rows, cols);
  const { vectors } = symmetricEigen(g, n, true);
  const vec = vectors!;
  const B = new Float32Array(rows * r);
  const A = new Float32Array(r * cols);
  const sv = new Float64Array(r);
  if (colsSide) {
    // v_j (length cols) = row j of vec; w = M v_j (length rows); sigma = ||w||.
    const w = new Float64Array(rows);
    for (let j = 0; j < r; j++) {
      const vo = j * n;
      let s2 = 0;
      for (let i = 0; i < rows; i++) {
        const o = i * cols;
        let s = 0;
        for (let k = 0; k < cols; k++) s += m[o + k]! * vec[vo + k]!;
        w[i] = s;
        s2 += s * s;
      }
      const sigma = Math.sqrt(s2);
      sv[j] = sigma;
      if (sigma === 0) continue;
      const rs = Math.sqrt(sigma);
      for (let i = 0; i < rows; i++) B[i * r + j] = w[i]! / rs;
      for (let k = 0; k < cols; k++) A[j * cols + k] = rs * vec[vo + k]!;
    }
  } else {
    // u_j (length rows) = row j of vec; w = M^T u_j (length cols); sigma = ||w||.
    const w = new Float64Array(cols);
    for (let j = 0; j < r; j++) {
      const uo = j * n;
      w.fill(0);
      for (let i = 0; i < rows; i++) {
        const a = vec[uo + i]!;
        if (a === 0) continue;
        const o = i * cols;
        for (let k = 0; k < cols; k++) w[k] = w[k]! + a * m[o + k]!;
      }
      const sigma = Math.sqrt(frobenius2(w));
      sv[j] = sigma;
      if (sigma === 0) continue;
      const rs = Math.sqrt(sigma);
      for (let i = 0; i < rows; i++) B[i * r + j] = rs * vec[uo + i]!;
      for (let k = 0; k < cols; k++) A[j * cols + k] = w[k]! / rs;
    }
  }
  return { rows, cols, rank: r, B, A, singularValues: sv, method: 'exact' };
}

/** Orthonormalises the k rows (each of length len) of x in place: modified Gram-Schmidt, twice. */
function orthonormalizeRows(x: Float64Array, k: number, len: number): void {
  for (let c = 0; c < k; c++) {
    const oc = c * len;
    let before = 0;
    for (let i = 0; i < len; i++) before += x[oc + i]! * x[oc + i]!;
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < c; p++) {
        const op = p * len;
        let d = 0;
        for (let i = 0; i < len; i++) d += x[oc + i]! * x[op + i]!;
        if (d === 0) continue;
        for (let i = 0; i < len; i++) x[oc + i] = x[oc + i]! - d * x[op + i]!;
      }
    }
    let nrm = 0;
    for (let i = 0; i < len; i++) nrm += x[oc + i]! * x[oc + i]!;
    nrm = Math.sqrt(nrm);
    // A column that was (numerically) in the span of the previous ones carries no information.
    if (nrm <= 1e-12 * Math.sqrt(before) || nrm === 0) {
      for (let i = 0; i < len; i++) x[oc + i] = 0;
      continue;
    }
    for (let i = 0; i < len; i++) x[oc + i] = x[oc + i]! / nrm;
  }
}

/** Yt[c, i] = (M X)[i, c] with X given transposed as Xt [k, cols]; result [k, rows]. */
function mulMX(m: Matrix64, rows: number, cols: number, xt: Float64Array, k: number): Float64Array {
  const yt = new Float64Array(k * rows);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let c = 0; c < k; c++) {
      const oc = c * cols;
      let s = 0;
      for (let j = 0; j < cols; j++) s += m[o + j]! * xt[oc + j]!;
      yt[c * rows + i] = s;
    }
  }
  return yt;
}

/** Zt[c, j] = (M^T Q)[j, c] with Q given transposed as Qt [k, rows]; result [k, cols]. */
function mulMtQ(m: Matrix64, rows: number, cols: number, qt: Float64Array, k: number): Float64Array {
  const zt = new Float64Array(k * cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let c = 0; c < k; c++) {
      const a = qt[c * rows + i]!;
      if (a === 0) continue;
      const oc = c * cols;
      for (let j = 0; j < cols; j++) zt[oc + j] = zt[oc + j]! + a * m[o + j]!;
    }
  }
  return zt;
}

/**
 * L^-1 for the Cholesky factor L of the symmetric positive definite g [k, k] (float64), or null when a
 * pivot is not clearly positive (the rows it came from are dependent, to working precision).
 */
function choleskyInverse(g: Float64Array, k: number): Float64Array | null {
  const l = new Float64Array(k * k);
  let trace = 0;
  for (let i = 0; i < k; i++) trace += g[i * k + i]!;
  for (let j = 0; j < k; j++) {
    let d = g[j * k + j]!;
    for (let p = 0; p < j; p++) d -= l[j * k + p]! ** 2;
    if (!(d > 1e-5 * (trace / k))) return null;
    const ljj = Math.sqrt(d);
    l[j * k + j] = ljj;
    for (let i = j + 1; i < k; i++) {
      let s = g[i * k + j]!;
      for (let p = 0; p < j; p++) s -= l[i * k + p]! * l[j * k + p]!;
      l[i * k + j] = s / ljj;
    }
  }
  // Forward substitution column by column: L X = I.
  const inv = new Float64Array(k * k);
  for (let c = 0; c < k; c++) {
    for (let i = c; i < k; i++) {
      let s = i === c ? 1 : 0;
      for (let p = c; p < i; p++) s -= l[i * k + p]! * inv[p * k + c]!;
      inv[i * k + c] = s / l[i * k + i]!;
    }
  }
  return inv;
}

/**
 * Orthonormalises the k rows of x [k, len] in place. With an engine for the products: CholeskyQR2
 * (rows scaled to unit norm, G = X X^T, X <- L^-1 X, twice), whose two big products are yielded; a
 * pivot that is not clearly positive falls back to modified Gram-Schmidt, which handles dependent rows.
 */
function* orthonormalize(x: Float64Array, k: number, len: number, viaProducts: boolean): Generator<SvdProduct, void, Float64Array> {
  if (!viaProducts) return orthonormalizeRows(x, k, len);
  for (let pass = 0; pass < 2; pass++) {
    for (let c = 0; c < k; c++) {
      let nrm = 0;
      for (let i = 0; i < len; i++) nrm += x[c * len + i]! ** 2;
      nrm = Math.sqrt(nrm);
      if (nrm === 0) return orthonormalizeRows(x, k, len);
      for (let i = 0; i < len; i++) x[c * len + i] = x[c * len + i]! / nrm;
    }
    const of = { data: x, rows: k, cols: len };
    const g: Float64Array = yield { kind: 'XtMt', x, k, of };
    const linv = choleskyInverse(g, k);
    if (!linv) return orthonormalizeRows(x, k, len);
    x.set(yield { kind: 'QtM', x: linv, k, of });
  }
}

/** The randomized method, M only through the products it yields (each answered with the product's value). */
function* randomizedSteps(rows: number, cols: number, r: number, opts: SvdOptions, viaProducts = false): Generator<SvdProduct, LowRankFactors, Float64Array> {
  const n = Math.min(rows, cols);
  const k = Math.min(n, r + (opts.oversample ?? Math.max(10, Math.ceil(r / 2))));
  const q = opts.powerIterations ?? 3;
  const rng = new Rng(opts.seed ?? 0);
  const omega = new Float64Array(k * cols);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  let qt: Float64Array = yield { kind: 'XtMt', x: omega, k };
  yield* orthonormalize(qt, k, rows, viaProducts);
  for (let it = 0; it < q; it++) {
    const zt: Float64Array = yield { kind: 'QtM', x: qt, k };
    yield* orthonormalize(zt, k, cols, viaProducts);
    qt = yield { kind: 'XtMt', x: zt, k };
    yield* orthonormalize(qt, k, rows, viaProducts);
  }
  // C = Q^T M = Zt [k, cols]; its Gram C C^T [k, k].
  const c: Float64Array = yield { kind: 'QtM', x: qt, k };
  const g = new Float64Array(k * k);
  for (let a = 0; a < k; a++) {
    for (let b = 0; b <= a; b++) {
      let s = 0;
      const oa = a * cols, ob = b * cols;
      for (let j = 0; j < cols; j++) s += c[oa + j]! * c[ob + j]!;
      g[a * k + b] = s;
      g[b * k + a] = s;
    }
  }
  const { vectors } = symmetricEigen(g, k, true);
  const u = vectors!;
  const B = new Float32Array(rows * r);
  const A = new Float32Array(r * cols);
  const sv = new Float64Array(r);
  const w = new Float64Array(cols);
  const b = new Float64Array(rows);
  for (let j = 0; j < r; j++) {
    w.fill(0);
    b.fill(0);
    for (let a = 0; a < k; a++) {
      const coef = u[j * k + a]!;
      if (coef === 0) continue;
      const oa = a * cols;
      for (let t = 0; t < cols; t++) w[t] = w[t]! + coef * c[oa + t]!;
      const qa = a * rows;
      for (let i = 0; i < rows; i++) b[i] = b[i]! + coef * qt[qa + i]!;
    }
    const sigma = Math.sqrt(frobenius2(w));
    sv[j] = sigma;
    if (sigma === 0) continue;
    const rs = Math.sqrt(sigma);
    for (let i = 0; i < rows; i++) B[i * r + j] = rs * b[i]!;
    for (let t = 0; t < cols; t++) A[j * cols + t] = w[t]! / rs;
  }
  return { rows, cols, rank: r, B, A, singularValues: sv, method: 'randomized' };
}

type Factors = { rows: number; cols: number; rank: number; B: ArrayLike<number>; A: ArrayLike<number> };

/** Adds row i of B*A into out[offset, offset + cols). */
function addFactorRow(f: Factors, i: number, out: Float64Array, offset: number): void {
  const { cols, rank, B, A } = f;
  for (let t = 0; t < rank; t++) {
    const bt = B[i * rank + t]!;
    if (bt === 0) continue;
    const ot = t * cols;
    for (let j = 0; j < cols; j++) out[offset + j] = out[offset + j]! + bt * A[ot + j]!;
  }
}

/** B*A as a dense row-major [rows, cols] Float64Array (for tests and error reports). */
export function multiplyFactors(f: Factors): Float64Array {
  const out = new Float64Array(f.rows * f.cols);
  for (let i = 0; i < f.rows; i++) addFactorRow(f, i, out, i * f.cols);
  return out;
}

/** ||M - B A||_F^2 in float64, one row of B A at a time (the whole product of an embedding would be a GB). */
export function factorError2(m: Matrix64, f: Factors): number {
  const { rows, cols } = f;
  const row = new Float64Array(cols);
  let s = 0;
  for (let i = 0; i < rows; i++) {
    row.fill(0);
    addFactorRow(f, i, row, 0);
    const oi = i * cols;
    for (let j = 0; j < cols; j++) {
      const d = m[oi + j]! - row[j]!;
      s += d * d;
    }
  }
  return s;
}

/** ||M - B A||_F, in float64. */
export function factorError(m: Matrix64, f: LowRankFactors): number {
  return Math.sqrt(factorError2(m, f));
}

/** The optimal (Eckart-Young) rank-r error from all singular values: sqrt(sum_{i>=r} sigma_i^2). */
export function eckartYoungError(sigma: ArrayLike<number>, r: number): number {
  let s = 0;
  for (let i = r; i < sigma.length; i++) s += sigma[i]! * sigma[i]!;
  return Math.sqrt(s);
}
