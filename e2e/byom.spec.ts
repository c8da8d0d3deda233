// Bring your own model (issue 12, README "Your own model"): sharded bf16 HF checkpoints → `twinmerge
// pack` → `TWINMERGE_BUNDLE=<bundle> vite build` → a static folder any web host serves. Here the
// folder is served by a plain static server (no Vite) and the app opens the packed SmolLM2-135M-shaped
// bundle by default, lists its experts and answers (on WASM where the GPU adapter is a software one).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from '@playwright/test';
import { ask, expertIds, openApp } from './app.ts';
import { ensureRealsizeBundle } from './realsize.ts';
import { ORT_WASM_FILES } from '../src/runtime/browser.ts';
import { serveStatic } from './staticServer.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DIST = join(ROOT, 'test-results', 'byom', 'dist');

test('a bundle packed from your own checkpoints builds into a static site that opens it by default', async ({ page }, testInfo) => {
  test.setTimeout(900_000);
  const bundle = ensureRealsizeBundle();
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--outDir', DIST, '--emptyOutDir', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, TWINMERGE_BUNDLE: bundle },
  });
  if (build.status !== 0) throw new Error(`vite build failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
  // The site ships that bundle, file for file.
  const manifest = readFileSync(join(bundle, 'manifest.json'), 'utf8');
  expect(readFileSync(join(DIST, 'models/bundle/manifest.json'), 'utf8')).toBe(manifest);
  const experts = (JSON.parse(manifest) as { experts: { id: string }[] }).experts.map((e) => e.id);
  // A model above 10 M parameters ships onnxruntime-web's plain wasm beside the asyncify one: pages
  // without a GPU device run on it (about twice as fast on the CPU at this size: vite.config.ts).
  expect(readdirSync(join(DIST, 'ort')).sort()).toEqual([ORT_WASM_FILES.webgpu, ORT_WASM_FILES.wasm].sort());
  const ortFetched: string[] = [];
  page.on('request', (r) => /\/ort\/.*\.wasm$/.test(new URL(r.url()).pathname) && ortFetched.push(new URL(r.url()).pathname));

  const host = await serveStatic({ '/': DIST }, { '/': readFileSync(join(DIST, 'index.html'), 'utf8') });
  // Every file the site needs is there and served with its type (a stylesheet served as bytes is dropped).
  const problems: string[] = [];
  page.on('response', (r) => r.status() >= 400 && problems.push(`${r.status()} ${r.url()}`));
  page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
  try {
    await openApp(page, `${host.origin}/`);
    expect(await expertIds(page)).toEqual(experts);
    // On a software GPU adapter (SwiftShader here) a model this size runs on WASM, and the status line says why.
    const software = await page.evaluate(async () => {
      const a = await (navigator as unknown as { gpu?: { requestAdapter(): Promise<{ info: { description: string; vendor: string; architecture: string } } | null> } }).gpu?.requestAdapter();
      return !!a && /swiftshader/i.test(`${a.info.vendor} ${a.info.architecture} ${a.info.description}`);
    });
    if (software) {
      await expect(page.getByTestId('backend-detail')).toContainText(/is a software emulation: for a model of \d+ M parameters WASM is much faster here/);
      await expect(page.getByTestId('memory')).toContainText(/^Memory: shared [\d.]+ MB/);
      expect(ortFetched).toEqual([`/ort/${ORT_WASM_FILES.wasm}`]);
    }
    const answer = await ask(page, 'Spell merry backwards.');
    expect(Object.keys(answer.routing).sort()).toEqual([...experts].sort());
    await page.screenshot({ path: testInfo.outputPath('byom-answer.png') });
    expect(problems).toEqual([]);
  } finally {
    await host.close();
  }
});
