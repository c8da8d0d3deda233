// The router's input, defined once for pack (Node), eval and the app (worker): the user's message
// alone, in the chat template without the generation prompt, run through the SHARED model's first
// `layer` layers (early exit, issue 13; layer = num_hidden_layers is the paper's last-layer router);
// the feature is the mean over its tokens of the final norm of the residual stream after that layer.
import type { ModelSpec } from '../model/config.ts';
import { buildDecoderGraph, type DecoderGraph, type DecoderGraphOptions } from '../model/onnx/decoder.ts';
import { meanPool, type DecoderEngine } from './engine.ts';
import type { OrtTensor } from './ort.ts';
import type { Tokenizer } from './tokenizer.ts';

export function routerPromptIds(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encodeChat([{ role: 'user', content: text }], false);
}

/** The layer a manifest's router reads (its `feature.layer`, else the last). */
export function routerLayerOf(feature: { layer?: number | undefined }, spec: ModelSpec): number {
  return feature.layer ?? spec.numLayers;
}

/**
 * The routing pass: the first `layer` layers of the model, no LM head, `last_hidden_state` out.
 * `weights` 'initializers' bakes the shared weights in (`weight` gives HF-layout float32 data).
 */
export function buildRouterGraph(spec: ModelSpec, layer: number, weights: Pick<DecoderGraphOptions, 'weights' | 'weight' | 'weightInputType'>): DecoderGraph {
  return buildDecoderGraph(spec, { ...weights, layers: layer, head: false, hiddenStateOutput: true });
}

/** Features of one message from the engine's graph (a router graph, or a full one: its last layer); `sharedWeights` when the engine's current weights are not the shared model's. */
export async function routerFeatures(engine: DecoderEngine, tokenizer: Tokenizer, text: string, sharedWeights?: Record<string, OrtTensor>): Promise<Float32Array> {
  const ids = routerPromptIds(tokenizer, text);
  return meanPool(await engine.hiddenStates(ids, sharedWeights), engine.spec.hiddenSize);
}

/** Features of one message after every layer, layer 1 first (a graph built with layerHiddenStates): pack and eval pick the layer. */
export async function routerFeaturesPerLayer(engine: DecoderEngine, tokenizer: Tokenizer, text: string, sharedWeights?: Record<string, OrtTensor>): Promise<Float32Array[]> {
  const ids = routerPromptIds(tokenizer, text);
  return (await engine.layerHiddenStates(ids, sharedWeights)).map((h) => meanPool(h, engine.spec.hiddenSize));
}
