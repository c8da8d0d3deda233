// Task vectors τ_t = θ_t − θ_0 of the zoo: how alike they are (pairwise cosines over all weights)
// and how much of them a merged model can carry (‖mean τ‖² / mean ‖τ_t‖²: 1 if all equal, 1/T if
// orthogonal with equal norms), and each one's size relative to the base.
import type { Weights } from './runner.ts';

export function taskVectorStats(tasks: readonly string[], base: Weights, experts: readonly Weights[]): { cosines: Record<string, number>; meanCosine: number; sharedEnergy: number; relNorm: Record<string, number> } {
  const T = experts.length;
  const dot = Array.from({ length: T }, () => new Float64Array(T));
  const mean2 = { sum: 0 };
  let base2 = 0;
  for (const [name, b] of base) {
    const ds = experts.map((e) => e.get(name)!);
    for (let i = 0; i < b.length; i++) {
      base2 += b[i]! * b[i]!;
      let m = 0;
      for (let s = 0; s < T; s++) {
        const ts = ds[s]![i]! - b[i]!;
        m += ts;
        for (let u = s; u < T; u++) dot[s]![u]! += ts * (ds[u]![i]! - b[i]!);
      }
      mean2.sum += (m / T) ** 2;
    }
  }
  const cosines: Record<string, number> = {};
  const cs: number[] = [];
  for (let s = 0; s < T; s++) {
    for (let u = s + 1; u < T; u++) {
      const c = dot[s]![u]! / Math.sqrt(dot[s]![s]! * dot[u]![u]!);
      cosines[`${tasks[s]}/${tasks[u]}`] = c;
      cs.push(c);
    }
  }
  const meanSq = tasks.reduce((a, _t, s) => a + dot[s]![s]!, 0) / T;
  return {
    cosines,
    meanCosine: cs.length ? cs.reduce((a, b) => a + b, 0) / cs.length : 0,
    sharedEnergy: meanSq > 0 ? mean2.sum / meanSq : 0,
    relNorm: Object.fromEntries(tasks.map((t, s) => [t, Math.sqrt(dot[s]![s]! / base2)])),
  };
}
