// Drives e2e/harness/bench.html in Debian's Chromium (SwiftShader WebGPU) with Playwright's
// library API, against a Vite dev server started in this process on a free port (127.0.0.1: a secure
// context, as WebGPU needs). The bundle directory is served to the page by request interception,
// so it may live anywhere on disk.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, normalize, resolve } from 'node:path';
import type { Browser, Page } from '@playwright/test';
import type { ViteDevServer } from 'vite';
import type { ComposerBenchResult, DecodeResult, OverheadResult } from '../../../e2e/harness/bench.ts';
import type { ComposeCase } from './shapes.ts';

export type { ComposerBenchResult, DecodeResult, OverheadResult };

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--enable-unsafe-webgpu'];
const BUNDLE_PREFIX = '/bench-bundle';

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
    private readonly bundleDir: string,
  ) {}

  static async start(bundleDir: string, log: (s: string) => void): Promise<BenchBrowser> {
    const port = await freePort();
    // In-process dev server with HMR and file watching off: others edit the checkout while the
    // benchmark runs, and a full reload would kill the page mid-measurement.
    const { createServer } = await import('vite');
    const vite = await createServer({
      configFile: resolve('vite.config.ts'),
      logLevel: 'error',
      server: { host: '127.0.0.1', port, strictPort: true, hmr: false, watch: null },
    });
    await vite.listen();
    const baseUrl = `http://127.0.0.1:${port}`;
    log(`vite on ${baseUrl}`);
    const { chromium } = await import('@playwright/test');
    let browser: Browser;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
    } catch (e) {
      await vite.close();
      throw e;
    }
    return new BenchBrowser(vite, browser, baseUrl, resolve(bundleDir));
  }

  /** A fresh page (fresh JS context: ORT sees one device per page) with the harness loaded. */
  private async page(log: (s: string) => void): Promise<Page> {
    const context = await this.browser.newContext();
    const page = await context.newPage();
    page.on('console', (m) => {
      if ((m.type() === 'error' || m.type() === 'warning') && !/VerifyEachNodeIsAssignedToAnEp/.test(m.text())) log(`  [page ${m.type()}] ${m.text().slice(0, 300)}`);
    });
    // ORT prints its (harmless) node-placement warnings as errors: leave those out.
    page.on('pageerror', (e) => {
      if (!/VerifyEachNodeIsAssignedToAnEp/.test(e.message)) log(`  [page error] ${e.message}`);
    });
    await page.route(`**${BUNDLE_PREFIX}/**`, async (route) => {
      const rel = decodeURIComponent(new URL(route.request().url()).pathname.slice(BUNDLE_PREFIX.length + 1));
      const file = normalize(join(this.bundleDir, rel));
      if (!file.startsWith(this.bundleDir)) return route.fulfill({ status: 403 });
      try {
        const body = await readFile(file);
        await route.fulfill({ status: 200, body, headers: { 'Content-Type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream', 'Cross-Origin-Resource-Policy': 'same-origin' } });
      } catch {
        await route.fulfill({ status: 404, body: 'not found' });
      }
    });
    await page.goto(`${this.baseUrl}/e2e/harness/bench.html`);
    await page.waitForFunction(() => document.body.dataset.ready === 'true', undefined, { timeout: 120_000 });
    return page;
  }

  private async call<T>(fn: 'composer' | 'overhead' | 'decode', arg: unknown, log: (s: string) => void): Promise<T> {
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

  composer(c: ComposeCase & { iters: number; ort: boolean; ortAdd: boolean; copyMb: number }, log: (s: string) => void): Promise<ComposerBenchResult> {
    return this.call('composer', c, log);
  }

  overhead(o: { prompts: { expert: string; text: string }[]; messages: number; maxNewTokens: number }, log: (s: string) => void): Promise<OverheadResult> {
    return this.call('overhead', { ...o, bundleUrl: `${this.baseUrl}${BUNDLE_PREFIX}` }, log);
  }

  decode(o: { backend: 'webgpu' | 'wasm'; promptTokens: number; decodeTokens: number; reps: number }, log: (s: string) => void): Promise<DecodeResult> {
    return this.call('decode', { ...o, bundleUrl: `${this.baseUrl}${BUNDLE_PREFIX}` }, log);
  }

  async version(): Promise<string> {
    return this.browser.version();
  }

  async close(): Promise<void> {
    await this.browser.close().catch(() => undefined);
    await this.vite.close().catch(() => undefined);
  }
}
