// Every merge method is sparsify-per-task + combine (mergekit's generalized task arithmetic): each
// task vector is sparsified on its own (identity, magnitude trim, DARE drop), then combined:
// 'sum' = lambda * sum, 'elect' = TIES sign election + disjoint mean. The combination is written once,
// as a generator that asks for one sparsified task vector at a time, and driven either from memory
// (`mergeWith`) or by reading one expert at a time (`streamMerge`: memory independent of the number
// of experts; TIES's election reads each task twice, sparsifying is deterministic).
import { MergeParamsError, type BaseMergeParams, type MergeContext, type MergeMethod } from './types.ts';

/** Yields the task index it needs next; is sent that task's sparsified vector; returns the merged delta. */
function* combineSteps(combine: 'sum' | 'elect', lambda: number, tasks: number, name: string, method: string): Generator<number, Float32Array, Float32Array> {
  if (tasks === 0) throw new MergeParamsError(method, `${name}: no task vectors to merge`);
  let x = yield 0;
  const n = x.length;
  const total = new Float64Array(n);
  for (let t = 0; t < tasks; t++) {
    if (t > 0) x = yield t;
    if (x.length !== n) throw new MergeParamsError(method, `${name}: task ${t} has ${x.length} elements, task 0 has ${n}`);
    for (let j = 0; j < n; j++) total[j] = total[j]! + x[j]!;
  }
  const out = new Float32Array(n);
  if (combine === 'sum') {
    for (let j = 0; j < n; j++) out[j] = lambda * total[j]!;
    return out;
  }
  // Election: gamma_j = sgn(total_j); disjoint mean over the tasks whose entry has that sign.
  const sum = new Float64Array(n);
  const count = new Uint32Array(n);
  for (let t = 0; t < tasks; t++) {
    x = yield t;
    for (let j = 0; j < n; j++) {
      const v = x[j]!;
      const g = total[j]!;
      if ((g > 0 && v > 0) || (g < 0 && v < 0)) {
        sum[j] = sum[j]! + v;
        count[j] = count[j]! + 1;
      }
    }
  }
  for (let j = 0; j < n; j++) out[j] = count[j]! > 0 ? (lambda * sum[j]!) / count[j]! : 0;
  return out;
}

function checkFinite(method: string, name: string, t: number, tau: Float32Array): void {
  for (let i = 0; i < tau.length; i++) {
    if (!Number.isFinite(tau[i]!)) throw new MergeParamsError(method, `${name}: task ${t} has a non-finite value at index ${i}`);
  }
}

/** merged = combine(sparsify(tau_t) for t) for one tensor, all task vectors in memory (not modified). */
export function mergeWith<P extends BaseMergeParams>(method: MergeMethod<P>, deltas: readonly Float32Array[], params: P, ctx: MergeContext): Float32Array {
  const steps = combineSteps(method.combine, params.lambda, deltas.length, ctx.name, method.name);
  let r = steps.next();
  while (!r.done) {
    const t = r.value;
    checkFinite(method.name, ctx.name, t, deltas[t]!);
    r = steps.next(method.sparsify(deltas[t]!, t, params, ctx));
  }
  return r.value;
}

/** The same result, reading (and sparsifying) one task vector at a time. */
export async function streamMerge<P extends BaseMergeParams>(
  method: MergeMethod<P>,
  params: P,
  ctx: MergeContext,
  tasks: number,
  readTau: (task: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const steps = combineSteps(method.combine, params.lambda, tasks, ctx.name, method.name);
  let r = steps.next();
  while (!r.done) {
    const t = r.value;
    const tau = await readTau(t);
    checkFinite(method.name, ctx.name, t, tau);
    r = steps.next(method.sparsify(tau, t, params, ctx));
  }
  return r.value;
}
