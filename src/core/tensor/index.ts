export { type F32Tensor, numel, tensor, sameShape, shapeString, assertFinite, transpose } from './tensor.ts';
export { Rng, deriveSeed, hashString } from './random.ts';
