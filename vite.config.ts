import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { createReadStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';

// onnxruntime-web loads its .wasm/.mjs at run time. By default it would look next to the bundled
// module or on a CDN; we serve the files ourselves under /ort/ (offline, same origin) and point
// ort.env.wasm.wasmPaths there.
const ORT_DIST = resolve(import.meta.dirname, 'node_modules/onnxruntime-web/dist');
const ORT_FILES = readdirSync(ORT_DIST).filter((f) => /^ort-wasm.*\.(wasm|mjs)$/.test(f));

// Cross-origin isolation gives SharedArrayBuffer, which onnxruntime-web's threaded wasm needs.
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  // The service worker is served from /src/sw.ts in dev; it controls the whole site.
  'Service-Worker-Allowed': '/',
};

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
    generateBundle() {
      for (const file of ORT_FILES) {
        this.emitFile({ type: 'asset', fileName: `ort/${file}`, source: readFileSync(resolve(ORT_DIST, file)) });
      }
      // The demo bundle ships with the built app, at the same path the dev server serves it from.
      const bundleDir = resolve(import.meta.dirname, 'models/bundle');
      if (existsSync(bundleDir)) {
        for (const file of readdirSync(bundleDir, { recursive: true, withFileTypes: true })) {
          if (!file.isFile()) continue;
          const abs = resolve(file.parentPath, file.name);
          this.emitFile({ type: 'asset', fileName: `models/bundle/${relative(bundleDir, abs)}`, source: readFileSync(abs) });
        }
      }
    },
  };
}


export default defineConfig({
  plugins: [react(), serveOrtRuntime()],
  server: { headers: isolation, host: '127.0.0.1' },
  preview: { headers: isolation, host: '127.0.0.1' },
  worker: { format: 'es' },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2022',
    rollupOptions: {
      input: { main: resolve(import.meta.dirname, 'index.html'), sw: resolve(import.meta.dirname, 'src/sw.ts') },
      output: { entryFileNames: (chunk) => (chunk.name === 'sw' ? 'sw.js' : 'assets/[name]-[hash].js') },
    },
  },
});
