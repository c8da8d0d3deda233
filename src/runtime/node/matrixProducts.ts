// Node: the randomized SVD's products on onnxruntime-node's CPU EP (MLAS), every core. pack, eval and
// extract use the same engine, so what eval scores and extract makes is what pack would ship.
import { availableParallelism } from 'node:os';
import { createOrtMatrixProducts, type OrtMatrixProducts } from '../matrixProducts.ts';
import { loadNodeOrt, nodeSessionOptions } from './session.ts';

export async function createNodeMatrixProducts(threads = availableParallelism()): Promise<OrtMatrixProducts> {
  return createOrtMatrixProducts(await loadNodeOrt('cpu'), nodeSessionOptions('cpu', threads));
}
