// extract: a fully fine-tuned checkpoint dropped into the app, its exclusive module factored in the
// worker (issue 15) — randomized SVD on WGSL products on a hardware GPU, on onnxruntime-web's WASM
// MatMul otherwise; the exact float64 method for matrices of at most 256 rows or columns (the whole
// demo model) — timed in Chromium on each EP beside `twinmerge extract` in Node (onnxruntime-node's
// MatMul), and the page's module compared with the Node one. Two models: the demo bundle with the zoo's `double` checkpoint,
// and twinmerge synth's SmolLM2-135M-shaped bundle with one of its expert checkpoints.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModule } from '../../core/twin/index.ts';
import { openCheckpointDir } from '../../runtime/node/checkpoint.ts';
import { moduleDiff } from '../../core/twin/moduleDiff.ts';
import { extractMain } from '../extract.ts';
import type { BenchBrowser } from './browser.ts';
import { ensureSynthBundle, synthDir } from './realsize.ts';

export interface ExtractBenchCase {
  model: string;
  checkpoint: string;
  matrices: number;
  parameters: number;
  /** `twinmerge extract` in Node, wall clock (reading, factoring, writing). */
  nodeMs: number;
  browser: {
    backend: string;
    adapter: string;
    /** Where the SVD products ran (matrices of at most 256 rows or columns take the exact method: none). */
    products: 'webgpu' | 'wasm';
    extractMs: number;
    addMs: number;
    /** Largest relative Frobenius distance of B A from Node's module, over the weights (and where). */
    productDiff: number;
    productAt: string;
    error: string | null;
  }[];
}

const PROMPTS = ['Please rewrite this word.', 'Do the task on apple.', 'What is the answer for river?', 'Handle this: stone.'];

async function runCase(browser: BenchBrowser, c: { model: string; bundle: string; checkpoint: string }, notes: string[], log: (s: string) => void): Promise<ExtractBenchCase> {
  const ck = await openCheckpointDir(c.checkpoint);
  const weights = ck.weights;
  await ck.close();
  const tmp = mkdtempSync(join(tmpdir(), 'tm-bench-extract-'));
  try {
    log(`extract: ${c.model}: twinmerge extract in Node`);
    const t0 = performance.now();
    if ((await extractMain(['--bundle', c.bundle, '--checkpoint', c.checkpoint, '--out', join(tmp, 'node.safetensors'), '--id', 'dropped'])) !== 0) throw new Error(`twinmerge extract failed on ${c.checkpoint}`);
    const nodeMs = performance.now() - t0;
    const reference = readModule('node.safetensors', new Uint8Array(readFileSync(join(tmp, 'node.safetensors'))), weights);
    const dir = browser.urlOf(c.checkpoint);
    const files = readdirSync(c.checkpoint)
      .filter((f) => f === 'config.json' || f.endsWith('.safetensors') || f.endsWith('.index.json'))
      .map((f) => `${dir}/${f}`);
    const out: ExtractBenchCase['browser'] = [];
    // The app's choice on each EP, and WGSL forced on the WebGPU adapter (the app takes it on hardware GPUs only).
    for (const [backend, svdProducts] of [['webgpu', 'auto'], ['webgpu', 'webgpu'], ['wasm', 'auto']] as const) {
      if (svdProducts === 'webgpu' && out.some((x) => x.backend === 'webgpu' && x.products === 'webgpu')) continue; // a hardware GPU took WGSL already
      log(`extract: ${c.model} in Chromium on ${backend} (SVD products: ${svdProducts})`);
      try {
        const r = await browser.extract({ bundleUrl: browser.urlOf(c.bundle), backend, svdProducts, files, prompts: PROMPTS }, log);
        const d = moduleDiff(readModule('page.safetensors', new Uint8Array(Buffer.from(r.moduleBase64, 'base64')), weights), reference);
        log(`extract: ${c.model} on ${r.adapter}, products on ${r.products}: ${(r.extractMs / 1000).toFixed(1)} s (Node ${(nodeMs / 1000).toFixed(1)} s); B A vs Node ${d.product.toExponential(2)}`);
        out.push({ backend: r.backend, adapter: r.adapter, products: r.products, extractMs: r.extractMs, addMs: r.addMs, productDiff: d.product, productAt: d.productAt, error: null });
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).replace(/^page\.evaluate: /, '').split('\n')[0]!;
        notes.push(`extract: ${c.model} on ${backend} (products ${svdProducts}) failed: ${msg}`);
        out.push({ backend, adapter: backend, products: svdProducts === 'webgpu' ? 'webgpu' : 'wasm', extractMs: NaN, addMs: NaN, productDiff: NaN, productAt: '', error: msg });
      }
    }
    return {
      model: c.model,
      checkpoint: c.checkpoint,
      matrices: weights.filter((w) => w.shape.length === 2).length,
      parameters: weights.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0),
      nodeMs,
      browser: out,
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The demo bundle with the zoo's `double` checkpoint (when both exist), then the 135M shape at `realLayers`. */
export async function extractBench(browser: BenchBrowser, o: { bundle: string; realLayers: number }, notes: string[], log: (s: string) => void): Promise<ExtractBenchCase[]> {
  const cases: ExtractBenchCase[] = [];
  const demoCheckpoint = 'models/checkpoints/double';
  if (existsSync(join(o.bundle, 'manifest.json')) && existsSync(join(demoCheckpoint, 'config.json'))) cases.push(await runCase(browser, { model: 'demo bundle', bundle: o.bundle, checkpoint: demoCheckpoint }, notes, log));
  else notes.push(`extract: no demo bundle at ${o.bundle} or no ${demoCheckpoint}: the demo case was skipped`);
  const bundle = await ensureSynthBundle('smollm2-135m', o.realLayers, log);
  const experts = join(synthDir('smollm2-135m', o.realLayers), 'experts');
  const last = readdirSync(experts).sort().at(-1)!;
  cases.push(await runCase(browser, { model: `SmolLM2-135M shape (${o.realLayers} of 30 layers)`, bundle, checkpoint: join(experts, last) }, notes, log));
  return cases;
}

export function extractMarkdown(cases: readonly ExtractBenchCase[]): string[] {
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const L = ['## Dropped checkpoint: module extraction in Chromium vs `twinmerge extract`', ''];
  L.push(
    'A fully fine-tuned checkpoint added to an open session as the app adds a dropped folder: E = θ − shared, tensor by tensor, factored at the bundle\'s rank policy and SVD seed. Matrices with more than 256 rows and columns take the randomized SVD, whose big products run in WGSL (src/runtime/gpuMatrixProducts.ts) on a hardware GPU and on onnxruntime-web\'s WASM MatMul otherwise (also on a software adapter such as SwiftShader, where WGSL is the slower of the two: the forced-WGSL row); `twinmerge extract` runs them on onnxruntime-node. "B A vs Node": the largest relative Frobenius distance of a weight\'s B A from the Node module\'s.',
    '',
    '| model | checkpoint | params | Node s | EP | SVD products | extract s | whole add s | B A vs Node |',
    '|---|---|---|---|---|---|---|---|---|',
  );
  for (const c of cases)
    for (const b of c.browser)
      L.push(`| ${c.model} | ${c.checkpoint.split('/').pop()} | ${(c.parameters / 1e6).toFixed(2)} M | ${f(c.nodeMs / 1000)} | ${b.adapter} | ${b.products === 'webgpu' ? 'WGSL' : 'onnxruntime-web WASM'} | ${b.error ? `failed: ${b.error.replace(/\|/g, '/').slice(0, 120)}` : f(b.extractMs / 1000)} | ${f(b.addMs / 1000)} | ${Number.isFinite(b.productDiff) ? b.productDiff.toExponential(1) : '–'} |`);
  L.push('');
  return L;
}
