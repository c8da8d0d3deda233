/**
 * The onnxruntime API surface the engine uses. onnxruntime-web (browser: `onnxruntime-web/webgpu`,
 * Node: its wasm build) and onnxruntime-node all implement it (they share onnxruntime-common), so
 * the engine takes the module as a value and never imports a backend itself.
 */
import type * as OrtWeb from 'onnxruntime-web';

export type OrtModule = Pick<typeof OrtWeb, 'InferenceSession' | 'Tensor' | 'env'>;
export type OrtTensor = OrtWeb.Tensor;
export type OrtSession = OrtWeb.InferenceSession;
export type OrtSessionOptions = OrtWeb.InferenceSession.SessionOptions;
