// A TwinSession on a bundle folder in Node, as the app runs it but with the CPU composer and
// onnxruntime WASM: the unit tests' session and the e2e tests' reference answers.
import { fileFetch, folderUrl } from '../node/fileFetch.ts';
import { loadBundle } from '../runtime/bundleLoader.ts';
import { CpuComposer } from '../runtime/composer/cpuComposer.ts';
import { createOrtMatrixProducts } from '../runtime/matrixProducts.ts';
import { createNodeEngine, loadNodeOrt, nodeSessionOptions } from '../runtime/node/session.ts';
import { neededAtLoad, TwinSession } from '../runtime/twin/session.ts';

export async function openNodeSession(bundleDir: string, reason = 'Node'): Promise<TwinSession> {
  const url = folderUrl(bundleDir);
  const bundle = await loadBundle(url, { fetch: fileFetch, only: neededAtLoad });
  const ort = await loadNodeOrt('wasm');
  return TwinSession.create({
    bundle,
    backend: { kind: 'wasm', reason, threads: 1 },
    createComposer: () => new CpuComposer(),
    // Resident chat weights, as the app's WASM path has them (browserSession.ts).
    createEngine: async (spec, graph, use) => ({ ort, engine: await createNodeEngine(spec, graph, { backend: 'wasm', engine: { residentWeights: use === 'chat' } }) }),
    createRouterEngine: (spec, graph) => createNodeEngine(spec, graph, { backend: 'wasm' }),
    // onnxruntime-web's MatMul for a dropped checkpoint's SVD, as the app's WASM path.
    createMatrixProducts: async () => createOrtMatrixProducts(ort, nodeSessionOptions('wasm')),
    fetchFile: async (path) => (await loadBundle(url, { fetch: fileFetch, only: (f) => f.path === path })).files.get(path)!,
  });
}
