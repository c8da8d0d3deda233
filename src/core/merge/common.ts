// Building blocks shared by the merge methods: input checks, magnitude trim, DARE drop, TIES election.
import { z } from 'zod';
import { Rng, deriveSeed } from '../tensor/random.ts';
import { MergeParamsError } from './types.ts';

export function parseWith<T>(method: string, schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw ?? {});
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(params)'}: ${i.message}`).join('; ');
    throw new MergeParamsError(method, msg);
  }
  return r.data;
}

export const Lambda = z.number().finite().min(0);
export const Density = z.number().finite().gt(0).max(1);
export const DropRate = z.number().finite().min(0).lt(1);
export const Seed = z.number().int().min(0).max(0xffffffff);

/** Number of entries kept by a magnitude trim: floor(density * n), at least 1 when n > 0. */
export function keepCount(density: number, n: number): number {
  if (n === 0) return 0;
  if (density >= 1) return n;
  return Math.max(1, Math.floor(density * n));
}

/**
 * Keeps the k entries of largest |x| and zeroes the rest (a new array).
 * Tie rule: among entries whose |x| equals the k-th largest magnitude, the ones with the LOWEST
 * flat index are kept, so exactly k entries survive and the result is deterministic.
 * O(n) on average (quickselect on a copy of the magnitudes).
 */
export function trimTopK(x: Float32Array, k: number): Float32Array {
  const n = x.length;
  if (k >= n) return x.slice();
  const out = new Float32Array(n);
  if (k <= 0) return out;
  const mag = new Float32Array(n);
  for (let i = 0; i < n; i++) mag[i] = Math.abs(x[i]!);
  // The k-th largest magnitude = the (n-k)-th smallest (0-based).
  const thr = quickselect(mag, n - k);
  let greater = 0;
  for (let i = 0; i < n; i++) if (Math.abs(x[i]!) > thr) greater++;
  let equalBudget = k - greater;
  for (let i = 0; i < n; i++) {
    const a = Math.abs(x[i]!);
    if (a > thr) out[i] = x[i]!;
    else if (a === thr && equalBudget > 0) {
      out[i] = x[i]!;
      equalBudget--;
    }
  }
  return out;
}

/** The k-th smallest value (0-based) of a, reordering a in place (Hoare quickselect, median of 3). */
export function quickselect(a: Float32Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    // median of three as pivot
    const x = a[lo]!, y = a[mid]!, z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/**
 * DARE: drops each entry with probability p and rescales survivors by 1/(1-p) (a new array).
 * The random stream is derived from (seed, tensor name, task index), so results do not depend on
 * the order in which tensors are processed.
 */
export function dareDrop(x: Float32Array, p: number, seed: number, name: string, task: number): Float32Array {
  if (p === 0) return x.slice();
  const rng = new Rng(deriveSeed(seed, name, task));
  const keep = 1 - p;
  const scale = 1 / keep;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    // uniform in [0,1): keep when u < 1-p, i.e. drop with probability p
    if (rng.next() < keep) out[i] = x[i]! * scale;
  }
  return out;
}
