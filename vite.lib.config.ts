import { defineConfig, type Plugin } from 'vite';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { noOrtWasmAssets } from './vite.config.ts';

// The library build (`npm run build:lib` → dist-lib/): src/api/index.ts as one ES module
// (twinmerge.js), the engine worker beside it in assets/, and onnxruntime-web's one wasm binary in
// ort/. Everything is bundled in (zod, onnxruntime-web, the tokenizer): a page needs no other
// package. Types: dist-lib/types (tsconfig.lib.json). docs/api.md says how to serve it.
const ORT_WASM = 'ort-wasm-simd-threaded.asyncify.wasm'; // = ORT_WASM_FILE in src/runtime/browser.ts

function shipOrtWasm(): Plugin {
  return {
    name: 'twinmerge-lib-ort-wasm',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: `ort/${ORT_WASM}`, source: readFileSync(resolve(import.meta.dirname, 'node_modules/onnxruntime-web/dist', ORT_WASM)) });
    },
  };
}

export default defineConfig({
  plugins: [noOrtWasmAssets(), shipOrtWasm()],
  worker: { format: 'es', plugins: () => [noOrtWasmAssets()] },
  publicDir: false,
  // src/api/engine.ts: the wasm lives in ort/ beside twinmerge.js.
  define: { 'import.meta.env.TWINMERGE_LIB': 'true' },
  // Asset URLs relative to twinmerge.js, wherever a site puts dist-lib/.
  base: './',
  build: {
    outDir: 'dist-lib',
    emptyOutDir: true,
    target: 'es2022',
    copyPublicDir: false,
    lib: { entry: resolve(import.meta.dirname, 'src/api/index.ts'), formats: ['es'], fileName: () => 'twinmerge.js' },
  },
});
