// Rank policies for the exclusive modules: fixed r, smallest r keeping a share of the energy, or
// per-matrix ranks under one expert's byte budget (greedy on marginal kept energy per byte).

export interface RankCandidate {
  /** The weight's name (e.g. "model.layers.0.mlp.up_proj.weight"). */
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  /** Singular values of the matrix to factor, descending. A prefix is fine: no rank beyond it is allocated. */
  readonly singularValues: ArrayLike<number>;
  /** ||M||_F^2; defaults to the sum of the given sigma^2. */
  readonly totalEnergy?: number;
}

export interface BudgetOptions {
  /** Total bytes for all factors of one expert (A and B of every matrix). */
  readonly budgetBytes: number;
  /** 2 for f16 factors, 4 for f32. One extra rank of an [out, in] matrix costs (out + in) * this. */
  readonly bytesPerElement: number;
  /** Upper bound on every matrix's rank (default min(rows, cols)). */
  readonly maxRank?: number;
  /**
   * 'absolute' (default): maximise the total kept sigma^2 (= minimise the summed squared Frobenius
   * error over the expert's matrices); 'relative': maximise the sum of per-matrix kept-energy fractions.
   */
  readonly objective?: 'absolute' | 'relative';
}

export interface RankAllocation {
  /** Rank per candidate name (every candidate is present, possibly 0). */
  readonly ranks: Map<string, number>;
  readonly bytes: number;
  /** Sum over matrices of the kept sigma^2. */
  readonly keptEnergy: number;
  readonly totalEnergy: number;
}

export function fixedRank(rows: number, cols: number, r: number): number {
  if (!Number.isInteger(r) || r < 0) throw new RangeError(`rank must be a non-negative integer, got ${r}`);
  return Math.min(r, rows, cols);
}

function energyOf(sigma: ArrayLike<number>, total: number | undefined): number {
  if (total !== undefined) return total;
  let t = 0;
  for (let i = 0; i < sigma.length; i++) t += sigma[i]! * sigma[i]!;
  return t;
}

/**
 * Smallest r such that sum_{i<r} sigma_i^2 >= threshold * total (threshold in [0, 1]).
 * If the given sigma prefix cannot reach it (total from ||M||_F^2 exceeds it), returns sigma.length.
 * A zero matrix needs rank 0.
 */
export function rankForEnergy(sigma: ArrayLike<number>, threshold: number, totalEnergy?: number): number {
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`energy threshold must be in [0, 1], got ${threshold}`);
  const total = energyOf(sigma, totalEnergy);
  if (!(total > 0)) return 0;
  const need = threshold * total;
  let acc = 0;
  if (acc >= need) return 0;
  for (let i = 0; i < sigma.length; i++) {
    acc += sigma[i]! * sigma[i]!;
    // relative slack for rounding when threshold = 1
    if (acc >= need * (1 - 1e-12)) return i + 1;
  }
  return sigma.length;
}

/** Max-heap by priority; ties broken by lower candidate index (deterministic). */
class Heap {
  private readonly p: number[] = [];
  private readonly i: number[] = [];
  get size(): number {
    return this.p.length;
  }
  private before(a: number, b: number): boolean {
    return this.p[a]! > this.p[b]! || (this.p[a] === this.p[b] && this.i[a]! < this.i[b]!);
  }
  private swap(a: number, b: number): void {
    [this.p[a], this.p[b]] = [this.p[b]!, this.p[a]!];
    [this.i[a], this.i[b]] = [this.i[b]!, this.i[a]!];
  }
  push(priority: number, index: number): void {
    this.p.push(priority);
    this.i.push(index);
    let c = this.p.length - 1;
    while (c > 0) {
      const par = (c - 1) >> 1;
      if (!this.before(c, par)) break;
      this.swap(c, par);
      c = par;
    }
  }
  pop(): number {
    const top = this.i[0]!;
    const lastP = this.p.pop()!;
    const lastI = this.i.pop()!;
    if (this.p.length > 0) {
      this.p[0] = lastP;
      this.i[0] = lastI;
      let c = 0;
      for (;;) {
        const l = 2 * c + 1, r = l + 1;
        let m = c;
        if (l < this.p.length && this.before(l, m)) m = l;
        if (r < this.p.length && this.before(r, m)) m = r;
        if (m === c) break;
        this.swap(c, m);
        c = m;
      }
    }
    return top;
  }
}

/**
 * Per-matrix ranks under a byte budget. Greedy: repeatedly give one more rank to the matrix whose
 * next singular value buys the most energy per byte (sigma_{r}^2 / ((rows + cols) * bytesPerElement),
 * divided by the matrix's total energy for the 'relative' objective). A matrix whose next rank no
 * longer fits is closed (all its further ranks cost the same); zero singular values are never bought.
 * Since each matrix's gains are non-increasing, this is optimal whenever all costs are equal, and
 * within one item of optimal in general (fractional-knapsack bound).
 */
export function allocateRanksByBudget(cands: readonly RankCandidate[], opts: BudgetOptions): RankAllocation {
  const { budgetBytes, bytesPerElement } = opts;
  if (!(budgetBytes >= 0) || !Number.isFinite(budgetBytes)) throw new RangeError(`budgetBytes must be a finite number >= 0, got ${budgetBytes}`);
  if (!(bytesPerElement > 0)) throw new RangeError(`bytesPerElement must be > 0, got ${bytesPerElement}`);
  const objective = opts.objective ?? 'absolute';
  const names = new Set<string>();
  const ranks = new Map<string, number>();
  const rank = new Int32Array(cands.length);
  const limit = new Int32Array(cands.length);
  const cost = new Float64Array(cands.length);
  const norm = new Float64Array(cands.length);
  let totalEnergy = 0;
  const heap = new Heap();
  const gainOf = (c: number): number => {
    const s = cands[c]!.singularValues[rank[c]!]!;
    return (s * s) / norm[c]! / cost[c]!;
  };
  cands.forEach((m, c) => {
    if (names.has(m.name)) throw new RangeError(`allocateRanksByBudget: duplicate matrix name ${m.name}`);
    names.add(m.name);
    ranks.set(m.name, 0);
    const e = energyOf(m.singularValues, m.totalEnergy);
    totalEnergy += e;
    cost[c] = (m.rows + m.cols) * bytesPerElement;
    norm[c] = objective === 'relative' ? (e > 0 ? e : 1) : 1;
    limit[c] = Math.min(m.rows, m.cols, m.singularValues.length, opts.maxRank ?? Infinity);
    if (limit[c]! > 0 && m.singularValues[0]! > 0) heap.push(gainOf(c), c);
  });
  let left = budgetBytes;
  let bytes = 0;
  let kept = 0;
  while (heap.size > 0) {
    const c = heap.pop();
    if (cost[c]! > left) continue; // closed: its next rank does not fit
    const s = cands[c]!.singularValues[rank[c]!]!;
    kept += s * s;
    rank[c] = rank[c]! + 1;
    left -= cost[c]!;
    bytes += cost[c]!;
    if (rank[c]! < limit[c]! && cands[c]!.singularValues[rank[c]!]! > 0) heap.push(gainOf(c), c);
  }
  cands.forEach((m, c) => ranks.set(m.name, rank[c]!));
  return { ranks, bytes, keptEnergy: kept, totalEnergy };
}

/** Bytes of the factors of one [rows, cols] matrix at rank r. */
export function factorBytes(rows: number, cols: number, r: number, bytesPerElement: number): number {
  return (rows + cols) * r * bytesPerElement;
}
