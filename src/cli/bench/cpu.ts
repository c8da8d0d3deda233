// The CPU composer (the WASM path's composition, src/runtime/composer/cpuComposer.ts) in Node, on
// the same shapes and random inputs as the WebGPU case.
import { CpuComposer } from '../../runtime/composer/cpuComposer.ts';
import type { ComposerBenchResult } from './results.ts';
import { alternatingRoutings, caseShapes, composeBytes, composedElements, composeFlops, median, randomComposerInputs, type ComposeCase } from './shapes.ts';

/** The WebGPU composer's result fields that apply on the CPU. */
export type CpuComposerResult = Pick<
  ComposerBenchResult,
  'label' | 'weights' | 'elements' | 'experts' | 'rank' | 'sharedDtype' | 'layersRun' | 'layersFull' | 'fullModelScale' | 'flops' | 'bytesMoved' | 'iters' | 'composeMs' | 'composeMsAll' | 'oneExpertMovedMs'
>;

export async function benchCpuComposer(c: ComposeCase & { iters: number }): Promise<CpuComposerResult> {
  const { shapes, fullModelScale } = caseShapes(c);
  const inputs = randomComposerInputs(shapes, c.experts, c.sharedDtype);
  const comp = new CpuComposer();
  for (const w of inputs.weights) comp.addWeight(w.weight, w.shared);
  comp.setExperts(inputs.modules);
  const routings = alternatingRoutings(c.experts);
  await comp.compose(routings[1]); // warm-up (JIT)
  // Interleaved with the full compositions: one expert's weight moves, the rest stay (an in-place update, composePlan.ts).
  const oneMoves = [0.05, -0.05].map((d) => new Map([...routings[0]].map(([id, w], t) => [id, t === 0 ? w + d : w])));
  const deltaComp = new CpuComposer();
  for (const w of inputs.weights) deltaComp.addWeight(w.weight, w.shared);
  deltaComp.setExperts(inputs.modules);
  await deltaComp.compose(routings[0]);
  const times: number[] = [];
  const oneMoved: number[] = [];
  for (let i = 0; i < c.iters; i++) {
    let t = performance.now();
    if (!(await comp.compose(routings[i % 2]!))) throw new Error('compose did not run');
    times.push(performance.now() - t);
    t = performance.now();
    await deltaComp.compose(oneMoves[i % 2]!);
    if (deltaComp.lastPlan === 'delta') oneMoved.push(performance.now() - t);
  }
  return {
    label: c.label,
    weights: shapes.length,
    elements: composedElements(shapes),
    experts: c.experts,
    rank: c.rank,
    sharedDtype: c.sharedDtype,
    layersRun: c.layersRun,
    layersFull: c.layersFull,
    fullModelScale,
    flops: composeFlops(shapes, c.experts),
    bytesMoved: composeBytes(shapes, c.experts, c.sharedDtype),
    iters: c.iters,
    composeMs: median(times),
    composeMsAll: times,
    oneExpertMovedMs: oneMoved.length ? median(oneMoved) : null,
  };
}
