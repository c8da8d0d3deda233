export {
  type Activation,
  type DenseLayer,
  type RouterModel,
  type RouteOptions,
  RouterError,
  routerLogits,
  routeWeights,
  softmax,
  topK,
  argmax,
  gelu,
  forward,
  validateRouter,
} from './mlp.ts';
export {
  trainRouter,
  evaluateRouter,
  extendRouter,
  featureStats,
  type LabeledFeatures,
  type TrainOptions,
  type TrainResult,
  type EpochLog,
  type ExtendOptions,
} from './train.ts';
export { routerToTensors, routerFromTensors, ROUTER_FORMAT } from './serialize.ts';
export { calibrateConfidence, judgeConfidence, nearestDistance, type Confidence, type ConfidenceThresholds } from './confidence.ts';
export { chooseRouterLayer, routerLayerCandidates, ROUTER_LAYER_TOLERANCE, type LayerAccuracy } from './layer.ts';
