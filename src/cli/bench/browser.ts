// Drives e2e/harness/bench.html in Debian's Chromium (SwiftShader WebGPU) with Playwright's
// library API, against a Vite dev server started in this process on a free port (127.0.0.1: a secure
// context, as WebGPU needs). The bundle directory is served to the page by request interception,
// so it may live anywhere on disk.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import type { Browser, Page } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import type { ComposerBenchResult, DecodeResult, EngineBrowserResult, ExtractBrowserResult, OverheadResult } from './results.ts';
import type { ComposeCase } from './shapes.ts';

export type { ComposerBenchResult, DecodeResult, EngineBrowserResult, OverheadResult };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'];
const BUNDLE_PREFIX = '/bench-bundle';

const CONTENT_TYPES: [RegExp, string][] = [
  [/\.json$/, 'application/json'],
  [/\.wasm$/, 'application/wasm'],
  [/\.m?js$/, 'text/javascript'],
];

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

export class BenchBrowser {
  private constructor(
    private readonly vite: ViteDevServer,
    private readonly browser: Browser,
    readonly baseUrl: string,
    bundleDir: string,
  ) {
    this.served.set(BUNDLE_PREFIX, resolve(bundleDir));
  }

  /** URL prefix → directory, served to every page opened afterwards by request interception. */
  private readonly served = new Map<string, string>();

  /**
   * The URL of a folder inside the checkout, served by the dev server itself (large files: request
   * interception passes bodies through the DevTools protocol, and a model of hundreds of MB kills the page).
   */
  urlOf(repoRelativeDir: string): string {
    const rel = relative(resolve('.'), resolve(repoRelativeDir));
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`${repoRelativeDir} is outside the checkout: the dev server cannot serve it`);
    return `${this.baseUrl}/${rel.split(sep).join('/')}`;
  }

  /** Serve `dir` to the pages under `prefix` (e.g. '/bench-model'); returns the absolute URL. */
  serve(prefix: string, dir: string): string {
    this.served.set(prefix, resolve(dir));
    return `${this.baseUrl}${prefix}`;
  }

  /** `extraArgs`: more Chromium flags (a real GPU may need e.g. --enable-features=Vulkan; see `npm run check:gpu`). */
  static async start(bundleDir: string, log: (s: string) => void, extraArgs: readonly string[] = []): Promise<BenchBrowser> {
    const port = await freePort();
    // In-process dev server with HMR and file watching off: others edit the checkout while the
    // benchmark runs, and a full reload would kill the page mid-measurement.
    const { createServer } = await import('vite');
    const vite = await createServer({
      configFile: resolve('vite.config.ts'),
      logLevel: 'error',
      server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
      // A missing file under a served folder is a 404 (transformers.js probes optional files), not the
      // dev server's index.html fallback.
      plugins: [
        {
          name: 'bench-404',
          configureServer(server) {
            server.middlewares.use((req, res, next) => {
              const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
              if (!/^\/(\.cache|models)\//.test(path) || existsSync(join(resolve('.'), normalize(path)))) return next();
              res.statusCode = 404;
              res.end('not found');
            });
          },
        },
      ],
      // transformers.js (engine-browser section) is served as the plain ESM it ships: pre-bundled,
      // its `onnxruntime-web/webgpu` import (excluded in vite.config.ts) would resolve to the app's
      // onnxruntime-web 1.30 instead of the 1.31 build it depends on. Its own dependencies are ESM too;
      // excluding them keeps Vite from discovering new deps mid-run (a re-optimisation reloads the page).
      optimizeDeps: { exclude: ['@huggingface/transformers', '@huggingface/jinja', '@huggingface/tokenizers', 'onnxruntime-common'] },
    });
    await vite.listen();
    const baseUrl = `http://127.0.0.1:${port}`;
    log(`vite on ${baseUrl}`);
    const { chromium } = await import('@playwright/test');
    let browser: Browser;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: [...ARGS, ...extraArgs], headless: true });
    } catch (e) {
      await vite.close();
      throw e;
    }
    return new BenchBrowser(vite, browser, baseUrl, resolve(bundleDir));
  }

  /** A fresh page (fresh JS context: ORT sees one device per page) with a harness loaded (default the bench page). */
  private async page(log: (s: string) => void, harness = '/e2e/harness/bench.html'): Promise<Page> {
    const context = await this.browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => {
      if ((m.type() === 'error' || m.type() === 'warning') && !/VerifyEachNodeIsAssignedToAnEp/.test(m.text())) log(`  [page ${m.type()}] ${m.text().slice(0, 300)}`);
    });
    // ORT prints its (harmless) node-placement warnings as errors: leave those out.
    page.on('pageerror', (e) => {
      if (!/VerifyEachNodeIsAssignedToAnEp/.test(e.message)) log(`  [page error] ${e.message}`);
    });
    for (const [prefix, dir] of this.served) {
      await page.route(`**${prefix}/**`, async (route) => {
        const rel = decodeURIComponent(new URL(route.request().url()).pathname.slice(prefix.length + 1));
        const file = normalize(join(dir, rel));
        if (!file.startsWith(dir)) return route.fulfill({ status: 403 });
        try {
          const body = await readFile(file);
          const type = CONTENT_TYPES.find(([re]) => re.test(file))?.[1] ?? 'application/octet-stream';
          await route.fulfill({ status: 200, body, headers: { 'Content-Type': type, 'Cross-Origin-Resource-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } });
        } catch {
          await route.fulfill({ status: 404, body: 'not found' });
        }
      });
    }
    await page.goto(`${this.baseUrl}${harness}`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 120_000 });
    return page;
  }

  private async call<T>(fn: 'composer' | 'overhead' | 'decode' | 'engineCompare' | 'extract', arg: unknown, log: (s: string) => void): Promise<T> {
    const page = await this.page(log);
    try {
      return (await page.evaluate(
        ({ fn, arg }) => (window as unknown as { benchHarness: Record<string, (a: unknown) => Promise<unknown>> }).benchHarness[fn]!(arg),
        { fn, arg },
      )) as T;
    } finally {
      await page.context().close();
    }
  }

  /** `window[global][fn](arg)` on a fresh page of another harness (one that sets body[data-ready]). */
  async run<T>(harness: string, global: string, fn: string, arg: unknown, log: (s: string) => void): Promise<T> {
    const page = await this.page(log, harness);
    try {
      return (await page.evaluate(({ global, fn, arg }) => (window as unknown as Record<string, Record<string, (a: unknown) => Promise<unknown>>>)[global]![fn]!(arg), { global, fn, arg })) as T;
    } finally {
      await page.context().close();
    }
  }

  composer(c: ComposeCase & { iters: number; ort: boolean; ortAdd: boolean; copyMb: number }, log: (s: string) => void): Promise<ComposerBenchResult> {
    return this.call('composer', c, log);
  }

  /** The product's path per message (route, compose, generate) on the bench bundle, or the one at `bundleUrl`. */
  overhead(o: { prompts: { expert: string; text: string }[]; messages: number; maxNewTokens: number; backend?: 'webgpu' | 'wasm'; bundleUrl?: string }, log: (s: string) => void): Promise<OverheadResult> {
    return this.call('overhead', { bundleUrl: `${this.baseUrl}${BUNDLE_PREFIX}`, ...o }, log);
  }

  decode(o: { backend: 'webgpu' | 'wasm'; promptTokens: number; decodeTokens: number; reps: number }, log: (s: string) => void): Promise<DecodeResult> {
    return this.call('decode', { ...o, bundleUrl: `${this.baseUrl}${BUNDLE_PREFIX}` }, log);
  }

  /** Ours (weights from the checkpoint folder at ckptUrl) and transformers.js (the export at `${modelRoot}${model}/`) on `ep`, in one page, reps alternating (see bench.ts engineCompare). */
  engineCompare(
    o: { ckptUrl: string; modelRoot: string; model: string; ortUrl: string; ep: 'webgpu' | 'wasm'; promptTokens: number; decodeTokens: number; reps: number; vocab: number; warmups: number },
    log: (s: string) => void,
  ): Promise<{ ours: EngineBrowserResult; transformersJs: EngineBrowserResult }> {
    return this.call('engineCompare', o, log);
  }

  /** A full checkpoint (files by URL) added to a session on the bundle at `bundleUrl` (see bench.ts extract). */
  extract(o: { bundleUrl: string; backend: 'webgpu' | 'wasm'; svdProducts: 'auto' | 'webgpu' | 'wasm'; files: string[]; prompts: string[] }, log: (s: string) => void): Promise<ExtractBrowserResult> {
    return this.call('extract', o, log);
  }

  async version(): Promise<string> {
    return this.browser.version();
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.vite.close().catch(() => undefined);
  }
}
