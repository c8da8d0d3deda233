// A plain static file server for the e2e tests of what a site would host (the library build): no
// Vite, no transforms, just files with their content types and the cross-origin isolation headers
// docs/api.md asks hosts to send.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.json': 'application/json', '.webmanifest': 'application/manifest+json', '.wasm': 'application/wasm', '.safetensors': 'application/octet-stream', '.onnx': 'application/octet-stream', '.txt': 'text/plain' };

/**
 * Serves `mounts` (URL prefix → folder) and `pages` (path → HTML) on 127.0.0.1; resolves with the
 * origin. `cors`: any origin may read the files (a bundle host other sites open bundles from).
 */
export async function serveStatic(mounts: Record<string, string>, pages: Record<string, string>, opts: { cors?: boolean } = {}): Promise<{ origin: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (opts.cors) res.setHeader('Access-Control-Allow-Origin', '*');
    const page = pages[path];
    if (page !== undefined) {
      res.setHeader('Content-Type', 'text/html');
      return res.end(page);
    }
    for (const [prefix, dir] of Object.entries(mounts)) {
      if (!path.startsWith(prefix)) continue;
      const root = resolve(dir);
      const file = normalize(join(root, path.slice(prefix.length)));
      if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) break;
      res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
      res.setHeader('Content-Length', statSync(file).size);
      return createReadStream(file).pipe(res);
    }
    res.statusCode = 404;
    res.end('not found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    // The browser keeps connections open: close them, or close() waits for them.
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
