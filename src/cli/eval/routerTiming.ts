// Routing time per candidate layer (issue 13, early exit): the router graph the app runs — the
// shared model's first k layers, weights baked in, no head — timed over sample prompts on eval's
// backend. The median of each layer's passes, so the report shows what an earlier layer saves.
import type { ModelSpec } from '../../model/config.ts';
import { createNodeEngine, type NodeBackend } from '../../runtime/node/session.ts';
import { buildRouterGraph, routerFeatures } from '../../runtime/routerFeatures.ts';
import type { Tokenizer } from '../../runtime/tokenizer.ts';
import type { Weights } from './runner.ts';

export async function timeRouterLayers(spec: ModelSpec, shared: Weights, tokenizer: Tokenizer, prompts: readonly string[], layers: readonly number[], backend: NodeBackend): Promise<{ layer: number; ms: number }[]> {
  const out: { layer: number; ms: number }[] = [];
  for (const layer of layers) {
    const graph = buildRouterGraph(spec, layer, {
      weights: 'initializers',
      weight: (n) => {
        const d = shared.get(n);
        if (!d) throw new Error(`no shared weight ${n}`);
        return d;
      },
    });
    const engine = await createNodeEngine(spec, graph, { backend });
    try {
      await routerFeatures(engine, tokenizer, prompts[0] ?? 'hello'); // first run: kernels, allocations
      const ms: number[] = [];
      for (const p of prompts) {
        const t = performance.now();
        await routerFeatures(engine, tokenizer, p);
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      out.push({ layer, ms: ms[Math.floor(ms.length / 2)] ?? NaN });
    } finally {
      await engine.dispose();
    }
  }
  return out;
}
