// The randomized SVD's big products (core/linalg/svd.ts MatrixProducts) on onnxruntime: one MatMul
// graph per product. On onnxruntime-node's CPU EP (MLAS) they run at 50-170 G multiply-adds/s on
// this 2-core machine against ~1 for the float64 loops, which makes pack at real model sizes a
// matter of reading and writing (docs/benchmarks.md). Float32 in and out.
import type { MatrixProducts } from '../core/linalg/index.ts';
import { GraphBuilder } from '../model/onnx/graph.ts';
import { encodeModel } from '../model/onnx/proto.ts';
import type { OrtModule, OrtSession, OrtSessionOptions } from './ort.ts';

/** y = a b (transB: a b^T), a [m, k], b [k, n] (or [n, k]): a Gemm node with dynamic sizes. */
function productGraph(transB: boolean): Uint8Array {
  const g = new GraphBuilder(transB ? 'a_bt' : 'a_b');
  const a = g.input('a', 'float32', ['m', 'k']);
  const b = g.input('b', 'float32', transB ? ['n', 'k'] : ['k', 'n']);
  g.output(g.op('Gemm', [a, b], { transB: transB ? 1 : 0 }), 'y', 'float32', ['m', 'n']);
  return encodeModel(g.toModel({ opset: 17, producer: 'twinmerge' }));
}

/** Products that hold sessions or buffers until released (this file's on onnxruntime, gpuMatrixProducts.ts's in WGSL). */
export interface ReleasableMatrixProducts extends MatrixProducts {
  release(): void | Promise<void>;
}

export interface OrtMatrixProducts extends ReleasableMatrixProducts {
  release(): Promise<void>;
}

/** MatrixProducts on `ort` (e.g. onnxruntime-node with { executionProviders: ['cpu'], intraOpNumThreads: 2 }). */
export async function createOrtMatrixProducts(ort: OrtModule, options: OrtSessionOptions): Promise<OrtMatrixProducts> {
  const [ab, abT] = await Promise.all([ort.InferenceSession.create(productGraph(false), options), ort.InferenceSession.create(productGraph(true), options)]);
  const run = async (s: OrtSession, a: Float32Array, aDims: [number, number], b: Float32Array, bDims: [number, number]): Promise<Float32Array> => {
    const out = await s.run({ a: new ort.Tensor('float32', a, aDims), b: new ort.Tensor('float32', b, bDims) });
    const y = out.y!;
    const data = y.data as Float32Array;
    y.dispose();
    return data;
  };
  return {
    // Xt [k, cols] times M^T (M [rows, cols]).
    xtMt: (m, rows, cols, xt, k) => run(abT, xt, [k, cols], m, [rows, cols]),
    // Qt [k, rows] times M.
    qtM: (m, rows, cols, qt, k) => run(ab, qt, [k, rows], m, [rows, cols]),
    release: async () => {
      await ab.release();
      await abT.release();
    },
  };
}
