// Early-exit routing (issue 13): the router may read the shared model's hidden state after an early
// layer, so the routing pass runs only that far. Pack and eval pick the layer the same way, on val.

/** Val accuracy of a router trained on the features after `layer` layers (1-based). */
export interface LayerAccuracy {
  readonly layer: number;
  readonly val: number;
}

/** How far below the last layer's val accuracy a layer may be and still be chosen (0.5 point). */
export const ROUTER_LAYER_TOLERANCE = 0.005;

/**
 * The smallest layer whose val accuracy is within `tolerance` of the last layer's (the deepest one
 * given). With `policy` 'last' the last layer (the paper's router); a number is taken as it is.
 */
export function chooseRouterLayer(accuracies: readonly LayerAccuracy[], policy: 'auto' | 'last' | number = 'auto', tolerance = ROUTER_LAYER_TOLERANCE): number {
  if (accuracies.length === 0) throw new Error('chooseRouterLayer: no layers');
  const sorted = [...accuracies].sort((a, b) => a.layer - b.layer);
  const last = sorted.at(-1)!;
  if (policy === 'last') return last.layer;
  if (typeof policy === 'number') {
    if (!sorted.some((a) => a.layer === policy)) throw new Error(`chooseRouterLayer: layer ${policy} is not among ${sorted.map((a) => a.layer).join(', ')}`);
    return policy;
  }
  // A tiny epsilon: accuracies are ratios of counts, and 0.995 - 0.005 must count as within.
  return sorted.find((a) => a.val >= last.val - tolerance - 1e-12)!.layer;
}

/** The layers a policy lets pack and eval train routers for: every layer for 'auto', else the one it names (capped at `numLayers`). */
export function routerLayerCandidates(policy: 'auto' | 'last' | number, numLayers: number): number[] {
  if (typeof policy === 'number') return [Math.min(policy, numLayers)];
  return policy === 'last' ? [numLayers] : Array.from({ length: numLayers }, (_, i) => i + 1);
}
