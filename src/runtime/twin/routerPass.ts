// The routing pass (issue 13, early exit): the shared model's first `layer` layers, no LM head, as
// its own ORT session, so routing costs only those layers and never touches the chat's KV cache.
// - 'own': the shared weights baked into the graph (initializers) when a float32 copy of those
//   layers is affordable (keepsRouterCopy); it runs on onnxruntime-web's CPU (WASM) EP, where a
//   prompt of a few dozen tokens through a few layers takes milliseconds and no GPU dispatches
//   queue behind or in front of the chat's (docs/engine.md#routing). Routing never recomposes.
// - 'borrow': larger models; the graph reads the composer's weight buffers, on the chat's EP, after
//   the session recomposes the shared model (composeFor(∅)) for each routing.
import type { ModelSpec } from '../../model/config.ts';
import type { DecoderGraph } from '../../model/onnx/decoder.ts';
import { routerOwnBytes } from '../bundlePlan.ts';
import type { Composer } from '../composer/types.ts';
import type { DecoderEngine } from '../engine.ts';
import type { OrtModule } from '../ort.ts';
import { buildRouterGraph, routerFeatures } from '../routerFeatures.ts';
import type { Tokenizer } from '../tokenizer.ts';

export interface RouterPassOptions {
  spec: ModelSpec;
  layer: number;
  tokenizer: Tokenizer;
  /** HF-layout float32 shared weights (called once per tensor, 'own' mode only). */
  sharedWeight: (name: string) => Float32Array;
  /** An engine with the weights baked in, on the CPU EP ('own'); absent: always 'borrow'. */
  createOwnEngine?: (spec: ModelSpec, graph: DecoderGraph) => Promise<DecoderEngine>;
  /** An engine on the chat's EP reading the composer's buffers ('borrow'). */
  createBorrowEngine: (spec: ModelSpec, graph: DecoderGraph) => Promise<{ ort: OrtModule; engine: DecoderEngine }>;
  composer: Composer;
  weightInputType: 'float32' | 'float16';
}

export class RouterPass {
  private constructor(
    readonly kind: 'own' | 'borrow',
    readonly layer: number,
    private readonly engine: DecoderEngine,
    private readonly tokenizer: Tokenizer,
    /** Float32 bytes of the baked-in weights ('own'), 0 when borrowing. */
    readonly bytes: number,
  ) {}

  static async create(o: RouterPassOptions): Promise<RouterPass> {
    const own = routerOwnBytes(o.spec, o.layer);
    if (own > 0 && o.createOwnEngine) {
      const graph = buildRouterGraph(o.spec, o.layer, { weights: 'initializers', weight: o.sharedWeight });
      return new RouterPass('own', o.layer, await o.createOwnEngine(o.spec, graph), o.tokenizer, own);
    }
    const graph = buildRouterGraph(o.spec, o.layer, { weights: 'inputs', weightInputType: o.weightInputType });
    const { ort, engine } = await o.createBorrowEngine(o.spec, graph);
    engine.setWeights(o.composer.feeds(ort, graph.io)); // live views of the composer's outputs
    return new RouterPass('borrow', o.layer, engine, o.tokenizer, 0);
  }

  /** Whether the composer must hold the shared model (composeFor(∅)) before features(). */
  get needsSharedComposed(): boolean {
    return this.kind === 'borrow';
  }

  /** Router features of one message (src/runtime/routerFeatures.ts). */
  features(text: string): Promise<Float32Array> {
    return routerFeatures(this.engine, this.tokenizer, text);
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}
