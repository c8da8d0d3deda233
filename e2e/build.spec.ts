// The weight of the production build (issue 14): `vite build` once into test-results/build/dist,
// then checks on the files (size budget, exactly one onnxruntime wasm, one onnxruntime module) and,
// through `vite preview` of that build, a cold first load on WebGPU and one forced onto WASM: what
// is fetched (bytes, requests, only ORT_WASM_FILE from ORT), no console errors, time to first paint.
// Everything lands in test-results/build/ (outside Playwright's output folder, which every run
// empties): first-load.json (the measurements), build-first-load-{webgpu,wasm}.{png,json} (the
// screenshot and every request of that load).
// Costs ~15 s of build and ~30 s per load on this 2-core machine. The type check is not repeated
// here (`npm run build` = tsc + vite build; `npm test` type-checks first).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { expect, test, type BrowserContext, type Page, type TestInfo } from '@playwright/test';
import { ORT_WASM_FILE } from '../src/runtime/browser.ts';
import { openApp } from './app.ts';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'test-results', 'build');
const DIST = join(OUT, 'dist');
const VITE = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');

/** Budgets (bytes). The demo bundle (models/bundle) is ~14.5 MB of the dist (six dense experts' full weights for compare: 9.3 MB); issue 14's target is 45 MB. */
const DIST_BUDGET = 45e6;
/** A cold first load, as a host that compresses wasm serves it (the preview does, see vite.config.ts). */
// base_delta.safetensors (shared − base, 1.5 MB) is fetched only when a PEFT adapter is dropped, and
// the experts' full weights only by the compare view: a first load is the app, one wasm and the bundle's rest.
const FIRST_LOAD_BUDGET = 12e6;
const FIRST_LOAD_MAX_NETWORK_REQUESTS = 30;

const results: Record<string, unknown> = {};
let preview: ChildProcess | undefined;
let baseURL = '';

function filesUnder(dir: string): { path: string; size: number }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const abs = join(e.parentPath, e.name);
      return { path: relative(dir, abs), size: statSync(abs).size };
    });
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

async function waitForServer(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`vite preview did not answer at ${url}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(240_000);
  mkdirSync(OUT, { recursive: true });
  const t0 = Date.now();
  const build = spawnSync(process.execPath, [VITE, 'build', '--outDir', DIST, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`vite build failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
  results.buildSeconds = (Date.now() - t0) / 1000;
  const port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  preview = spawn(process.execPath, [VITE, 'preview', '--outDir', DIST, '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  await waitForServer(`${baseURL}/`, 60_000);
});

test.afterAll(() => {
  preview?.kill('SIGTERM');
  writeFileSync(join(OUT, 'first-load.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log('build weight:', JSON.stringify(results, null, 2));
});

test('dist stays within budget and carries one onnxruntime (one wasm, one module)', () => {
  const files = filesUnder(DIST);
  const total = files.reduce((a, f) => a + f.size, 0);
  const models = files.filter((f) => f.path.startsWith('models/')).reduce((a, f) => a + f.size, 0);
  const wasm = files.filter((f) => f.path.endsWith('.wasm'));
  results.dist = { bytes: total, modelsBytes: models, appBytes: total - models, files: files.length, wasm: wasm.map((f) => `${f.path} (${f.size})`) };
  expect(total, `dist is ${(total / 1e6).toFixed(1)} MB`).toBeLessThanOrEqual(DIST_BUDGET);
  // Exactly the wasm the app loads, once: not the other three variants, no hashed copy in assets/.
  expect(wasm.map((f) => f.path)).toEqual([`ort/${ORT_WASM_FILE}`]);
  expect(files.filter((f) => /^ort\//.test(f.path) || /ort-wasm/.test(f.path)).map((f) => f.path)).toEqual([`ort/${ORT_WASM_FILE}`]);
  // One onnxruntime-web module in the JS: transformers.js (tokenizer only) must not bring its own.
  // (A message of ORT's wasm loader marks a copy of onnxruntime-web, whichever version.)
  const js = files.filter((f) => f.path.endsWith('.js'));
  const withOrt = js.filter((f) => readFileSync(join(DIST, f.path), 'utf8').includes('cannot determine the script source URL')).map((f) => f.path);
  expect(withOrt).toHaveLength(1);
  expect(withOrt[0]).toMatch(/^assets\/ort\.webgpu\.bundle\.min-[\w-]+\.js$/);
  results.jsBytes = Object.fromEntries(js.map((f) => [f.path.replace(/-[\w-]{8}\.js$/, '.js'), f.size]));
});

interface Fetched {
  url: string;
  status: number;
  /** Bytes of the (encoded) body that came over the network; 0 for a service-worker answer. */
  bytes: number;
  fromServiceWorker: boolean;
}

/** Records every request of the context (page, its worker, the service worker) until drained. */
function recordRequests(context: BrowserContext) {
  const fetched: Fetched[] = [];
  const failed: string[] = [];
  let inflight = 0;
  context.on('request', () => void inflight++);
  context.on('requestfailed', (r) => {
    inflight--;
    failed.push(`${r.url()}: ${r.failure()?.errorText}`);
  });
  context.on('requestfinished', async (r) => {
    const res = await r.response();
    const sizes = await r.sizes().catch(() => undefined);
    const fromServiceWorker = res?.fromServiceWorker() ?? false;
    fetched.push({ url: r.url(), status: res?.status() ?? 0, bytes: fromServiceWorker ? 0 : Math.max(0, sizes?.responseBodySize ?? 0), fromServiceWorker });
    inflight--;
  });
  return {
    fetched,
    failed,
    async drained(): Promise<void> {
      await expect.poll(() => inflight, { timeout: 30_000 }).toBe(0);
      await new Promise((r) => setTimeout(r, 500));
      await expect.poll(() => inflight, { timeout: 30_000 }).toBe(0);
    },
  };
}

function recordConsole(page: Page): string[] {
  const problems: string[] = [];
  const take = (where: string) => (m: { type(): string; text(): string }) => {
    if (m.type() === 'error' || m.type() === 'warning' || /onnxruntime/i.test(m.text())) problems.push(`[${where} ${m.type()}] ${m.text()}`);
  };
  page.on('console', take('page'));
  page.on('worker', (w) => w.on('console', take('worker')));
  page.on('pageerror', (e) => problems.push(`[pageerror] ${e.message}`));
  return problems;
}

async function firstLoad(page: Page, context: BrowserContext, path: string, testInfo: TestInfo, shot: string) {
  const requests = recordRequests(context);
  const consoleProblems = recordConsole(page);
  const t0 = Date.now();
  await openApp(page, `${baseURL}${path}`);
  const readyMs = Date.now() - t0;
  await requests.drained();
  const paint = Object.fromEntries(
    await page.evaluate(() => performance.getEntriesByType('paint').map((p) => [p.name, Math.round(p.startTime)] as const)),
  ) as Record<string, number>;
  await page.screenshot({ path: join(OUT, shot), fullPage: true });
  await testInfo.attach('screenshot', { path: join(OUT, shot), contentType: 'image/png' });
  const network = requests.fetched.filter((f) => !f.fromServiceWorker);
  const ortPaths = [...new Set(requests.fetched.map((f) => new URL(f.url).pathname).filter((p) => /ort-wasm|\/ort\//.test(p)))];
  const summary = {
    readyMs,
    firstPaintMs: paint['first-paint'],
    firstContentfulPaintMs: paint['first-contentful-paint'],
    networkRequests: network.length,
    networkBytes: network.reduce((a, f) => a + f.bytes, 0),
    requestsIncludingServiceWorkerAnswers: requests.fetched.length,
    largest: [...network].sort((a, b) => b.bytes - a.bytes).slice(0, 5).map((f) => `${new URL(f.url).pathname} ${f.bytes}`),
    ortFiles: ortPaths,
  };
  const detail = join(OUT, shot.replace(/\.png$/, '.json'));
  writeFileSync(detail, `${JSON.stringify({ summary, fetched: requests.fetched }, null, 2)}\n`);
  await testInfo.attach('requests', { path: detail, contentType: 'application/json' });
  expect(requests.failed, 'failed requests').toEqual([]);
  expect(requests.fetched.filter((f) => f.status >= 400).map((f) => `${f.status} ${f.url}`), 'HTTP errors').toEqual([]);
  expect(consoleProblems, 'console errors/warnings on load').toEqual([]);
  expect(ortPaths, 'ORT files fetched').toEqual([`/ort/${ORT_WASM_FILE}`]);
  return summary;
}

test('first load on WebGPU: bytes, requests, paint, no console errors', async ({ page, context }, testInfo) => {
  test.setTimeout(300_000);
  const s = await firstLoad(page, context, '/', testInfo, 'build-first-load-webgpu.png');
  results.webgpu = s;
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend-kind', 'webgpu');
  expect(s.networkBytes).toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
  expect(s.networkRequests).toBeLessThanOrEqual(FIRST_LOAD_MAX_NETWORK_REQUESTS);
  expect(s.firstContentfulPaintMs).toBeGreaterThan(0);
});

test('first load forced onto WASM runs on the same single wasm', async ({ page, context }, testInfo) => {
  test.setTimeout(300_000);
  const s = await firstLoad(page, context, '/?backend=wasm', testInfo, 'build-first-load-wasm.png');
  results.wasm = s;
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend-kind', 'wasm');
  expect(s.networkBytes).toBeLessThanOrEqual(FIRST_LOAD_BUDGET);
});
