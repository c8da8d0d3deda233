import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { cpSync, createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { resolve } from 'node:path';

// onnxruntime-web loads its .wasm at run time. By default it would look next to the bundled
// module or on a CDN; we serve the file ourselves under /ort/ (offline, same origin) and point
// ort.env.wasm.wasmPaths there (src/runtime/browser.ts).
const ORT_DIST = resolve(import.meta.dirname, 'node_modules/onnxruntime-web/dist');
const ORT_FILES = readdirSync(ORT_DIST).filter((f) => /^ort-wasm.*\.(wasm|mjs)$/.test(f));
// Of ORT's four wasm builds (plain, asyncify, jspi, jsep: 14-28 MB each) a page loads one:
// `onnxruntime-web/webgpu` runs both its WebGPU EP and the WASM fallback on the asyncify build (its
// JS glue is inside that module's bundle), and that one always ships (= ORT_WASM_FILES.webgpu in
// src/runtime/browser.ts). The plain build of `onnxruntime-web/wasm` decodes about twice as fast on
// the CPU at real sizes but nothing at the demo's 0.77 M parameters: it ships (+14 MB, and its JS
// module) only with a bundle above SOFTWARE_ADAPTER_MAX_PARAMETERS, or with TWINMERGE_PLAIN_WASM=1;
// pages without WebGPU then run on it. e2e/build.spec.ts checks dist and what a production load
// fetches. The dev server serves every variant under /ort/, and the plain build is used there.
const ORT_ASYNCIFY = 'ort-wasm-simd-threaded.asyncify.wasm';
const ORT_PLAIN = 'ort-wasm-simd-threaded.wasm';
for (const f of [ORT_ASYNCIFY, ORT_PLAIN]) if (!ORT_FILES.includes(f)) throw new Error(`onnxruntime-web no longer has ${f}: update ORT_WASM_FILES (src/runtime/browser.ts) and this file`);

// Cross-origin isolation gives SharedArrayBuffer, which onnxruntime-web's threaded wasm needs.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  // The service worker is served from /src/sw.ts in dev; it controls the whole site.
  'Service-Worker-Allowed': '/',
};

// The bundle the built site opens by default: the demo (models/bundle), or any folder `twinmerge pack`
// made, named by TWINMERGE_BUNDLE (bring your own model: README).
const SHIPPED_BUNDLE = resolve(process.env.TWINMERGE_BUNDLE ?? resolve(import.meta.dirname, 'models/bundle'));
if (process.env.TWINMERGE_BUNDLE && !existsSync(resolve(SHIPPED_BUNDLE, 'manifest.json'))) {
  throw new Error(`TWINMERGE_BUNDLE=${process.env.TWINMERGE_BUNDLE}: no manifest.json there; it must name a folder made by twinmerge pack`);
}

/** Parameters of a bundle's model, from its shared weights' bytes and dtype (manifest.json). */
function bundleParameters(dir: string): number {
  const m = JSON.parse(readFileSync(resolve(dir, 'manifest.json'), 'utf8')) as { shared: { file: string; dtype: string }; files: { path: string; bytes: number }[] };
  const bytes = m.files.find((f) => f.path === m.shared.file)?.bytes ?? 0;
  return bytes / ({ f32: 4, f16: 2, int8: 1 }[m.shared.dtype] ?? 2);
}
/** = SOFTWARE_ADAPTER_MAX_PARAMETERS (src/runtime/backendProbe.ts): above it, WASM speed is what users get on software adapters. */
const PLAIN_WASM_MIN_PARAMETERS = 10e6;
const shipPlainWasm = process.env.TWINMERGE_PLAIN_WASM === '1' || (process.env.TWINMERGE_PLAIN_WASM !== '0' && bundleParameters(SHIPPED_BUNDLE) > PLAIN_WASM_MIN_PARAMETERS);
const ORT_SHIPPED = shipPlainWasm ? [ORT_ASYNCIFY, ORT_PLAIN] : [ORT_ASYNCIFY];

function serveOrtRuntime(): Plugin {
  return {
    name: 'twinmerge-serve-ort-runtime',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/ort\/([^/?#]+)/.exec(req.url ?? '');
        const file = m?.[1];
        if (!file || !ORT_FILES.includes(file)) return next();
        res.setHeader('Content-Type', file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript');
        // ORT starts its wasm threads as workers from these files: under COEP they need the headers too.
        for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
        createReadStream(resolve(ORT_DIST, file)).pipe(res);
      });
    },
    // `vite preview` gzips only text, JSON and JS; hosts (and CDNs) compress wasm too. Serve the
    // shipped wasm gzipped there (compressed once, kept in memory) so a preview's first load
    // measures what a deployment sends: 6.7 MB instead of 26.8 MB (e2e/build.spec.ts).
    configurePreviewServer(server) {
      const gzipped = new Map<string, { mtimeMs: number; body: Buffer }>();
      server.middlewares.use((req, res, next) => {
        const file = /^\/ort\/([^/?#]+\.wasm)(?:[?#]|$)/.exec(req.url ?? '')?.[1];
        const abs = file && ORT_SHIPPED.includes(file) ? resolve(server.config.root, server.config.build.outDir, 'ort', file) : undefined;
        if (!abs || req.method !== 'GET' || !/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) || !existsSync(abs)) return next();
        const mtimeMs = statSync(abs).mtimeMs;
        let hit = gzipped.get(abs);
        if (hit?.mtimeMs !== mtimeMs) gzipped.set(abs, (hit = { mtimeMs, body: gzipSync(readFileSync(abs)) }));
        for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
        res.setHeader('Content-Type', 'application/wasm');
        res.setHeader('Content-Encoding', 'gzip');
        res.setHeader('Vary', 'Accept-Encoding');
        res.setHeader('Content-Length', hit.body.length);
        res.end(hit.body);
      });
    },
    generateBundle() {
      for (const file of ORT_SHIPPED) {
        this.emitFile({ type: 'asset', fileName: `ort/${file}`, source: readFileSync(resolve(ORT_DIST, file)) });
      }
    },
    // The site's bundle ships with the built app at /models/bundle, the path the dev server serves the
    // demo from. Copied file by file after the build (a real model's bundle is hundreds of MB: never
    // held in memory as a Rollup asset).
    writeBundle(options) {
      if (!options.dir) return;
      cpSync(SHIPPED_BUNDLE, resolve(options.dir, 'models/bundle'), { recursive: true, filter: (src) => !/\.partial-\d+$/.test(src) });
    },
  };
}

// ORT's bundled modules name their wasm as `new URL('ort-wasm-….wasm', import.meta.url)` (their
// default location when no wasmPaths is set). Vite copies every such file into dist/assets, hashed:
// 27 MB that is never fetched, since the app sets wasmPaths to /ort/. Hide those expressions from
// Vite's asset scan (a `String(...)` around import.meta.url: the same URL at run time).
export function noOrtWasmAssets(): Plugin {
  const pattern = /new URL\((["'`])(ort-wasm-simd-threaded[\w.]*\.wasm)\1,\s*import\.meta\.url\)/g;
  return {
    name: 'twinmerge-no-ort-wasm-assets',
    apply: 'build',
    enforce: 'pre',
    transform(code, id) {
      if (!/[\\/]onnxruntime-web[\\/]dist[\\/]/.test(id) || !pattern.test(code)) return null;
      pattern.lastIndex = 0;
      return { code: code.replace(pattern, (_m, q: string, file: string) => `new URL(${q}${file}${q}, String(import.meta.url))`), map: null };
    },
  };
}

export default defineConfig(({ command }) => ({
  plugins: [react(), serveOrtRuntime(), noOrtWasmAssets()],
  // src/runtime/browser.ts PLAIN_WASM_SERVED: the dev server serves every ORT wasm; a build, ORT_SHIPPED.
  define: { 'import.meta.env.TWINMERGE_PLAIN_WASM': JSON.stringify(command === 'serve' || shipPlainWasm) },
  server: { headers: isolation, host: '127.0.0.1' },
  preview: { headers: isolation, host: '127.0.0.1' },
  // The worker is bundled on its own, with only these plugins (ORT is imported there).
  worker: { format: 'es', plugins: () => [noOrtWasmAssets()] },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: { main: resolve(import.meta.dirname, 'index.html'), sw: resolve(import.meta.dirname, 'src/sw.ts') },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
}));
