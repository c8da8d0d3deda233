// Merging without holding every task vector: each expert's tau is read (and sparsified) on its own,
// once for a plain sum and twice for TIES's election (the second pass re-reads it; sparsifying is
// deterministic). Sums run in the same order and precision as the in-memory methods, so the result
// is bit for bit that of `merge`.
import { MergeParamsError, type BaseMergeParams, type MergeContext, type MergeMethod } from './types.ts';

export async function streamMerge<P extends BaseMergeParams>(
  method: MergeMethod<P>,
  params: P,
  ctx: MergeContext,
  tasks: number,
  readTau: (task: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  if (tasks === 0) throw new MergeParamsError(method.name, `${ctx.name}: no task vectors to merge`);
  const sparse = async (t: number): Promise<Float32Array> => {
    const tau = await readTau(t);
    for (let i = 0; i < tau.length; i++) {
      if (!Number.isFinite(tau[i]!)) throw new MergeParamsError(method.name, `${ctx.name}: task ${t} has a non-finite value at index ${i}`);
    }
    return method.sparsify(tau, t, params, ctx);
  };
  const first = await sparse(0);
  const n = first.length;
  const total = new Float64Array(n);
  let x = first;
  for (let t = 0; t < tasks; t++) {
    if (t > 0) x = await sparse(t);
    if (x.length !== n) throw new MergeParamsError(method.name, `${ctx.name}: task ${t} has ${x.length} elements, task 0 has ${n}`);
    for (let j = 0; j < n; j++) total[j] = total[j]! + x[j]!;
  }
  const out = new Float32Array(n);
  if (method.combine === 'sum') {
    for (let j = 0; j < n; j++) out[j] = params.lambda * total[j]!;
    return out;
  }
  // Election: gamma_j = sgn(total_j); disjoint mean over the tasks whose entry has that sign.
  const sum = new Float64Array(n);
  const count = new Uint32Array(n);
  for (let t = 0; t < tasks; t++) {
    x = await sparse(t);
    for (let j = 0; j < n; j++) {
      const v = x[j]!;
      const g = total[j]!;
      if ((g > 0 && v > 0) || (g < 0 && v < 0)) {
        sum[j] = sum[j]! + v;
        count[j] = count[j]! + 1;
      }
    }
  }
  for (let j = 0; j < n; j++) out[j] = count[j]! > 0 ? (params.lambda * sum[j]!) / count[j]! : 0;
  return out;
}
