export { type F32Tensor, numel, tensor, sameShape, shapeString, assertFinite, firstNonFinite, nonFiniteMessage, transpose } from './tensor.ts';
export { Rng, deriveSeed, hashString, mulberry32 } from './random.ts';
