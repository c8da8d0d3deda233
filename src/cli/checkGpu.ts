// `npm run check:gpu`: the checks a person with a real GPU can run that SwiftShader (this project's
// CI adapter) cannot: the float16 composed-weight path (adapters with shader-f16) against float32 on
// the same adapter, on the demo bundle or another (`--bundle=<dir>`): routing and greedy-token
// agreement, compose time, time to first token and decode speed side by side; and a dropped
// checkpoint's SVD with its products in WGSL vs onnxruntime-web's WASM MatMul. Launches Chromium
// (CHROMIUM_PATH, default /usr/bin/chromium; Chrome works too) headless with WebGPU enabled; extra
// flags after `--`, e.g. `npm run check:gpu -- -- --enable-features=Vulkan`.
import { BenchBrowser } from './bench/browser.ts';
import type { GpuCheck, GpuCheckRun } from './bench/results.ts';
import { median } from './bench/shapes.ts';

export async function checkGpuMain(args: string[]): Promise<number> {
  const split = args.indexOf('--');
  const own = split < 0 ? args : args.slice(0, split);
  const chromeArgs = split < 0 ? [] : args.slice(split + 1);
  const bundle = own.find((a) => a.startsWith('--bundle='))?.slice('--bundle='.length) ?? 'models/bundle';
  const maxNewTokens = Number(own.find((a) => a.startsWith('--tokens='))?.slice('--tokens='.length) ?? 32);
  const log = (s: string) => process.stderr.write(`[check:gpu] ${s}\n`);
  const browser = await BenchBrowser.start(bundle, log, chromeArgs);
  let r: GpuCheck;
  try {
    // A dropped checkpoint's matrices at SmolLM2-135M's shapes: attention, MLP, and the [49152, 576] embedding.
    const svdShapes = [[576, 576], [1536, 576], [49152, 576]];
    r = await browser.run<GpuCheck>('/e2e/harness/checkgpu.html', 'gpuCheck', 'check', { bundleUrl: browser.urlOf(bundle), maxNewTokens, svdShapes }, log);
  } finally {
    await browser.close();
  }
  if (!r.adapter) {
    console.log('No WebGPU adapter in this browser: nothing to check (try `-- --enable-features=Vulkan`, or another CHROMIUM_PATH).');
    return 1;
  }
  console.log(`adapter: ${r.adapter.vendor} ${r.adapter.architecture} ${r.adapter.description}${r.adapter.isFallback ? ' (fallback/software)' : ''}; shader-f16: ${r.shaderF16 ? 'yes' : 'no'}`);
  const row = (x: GpuCheckRun) => {
    const a = x.answers;
    return `${x.composed}: open ${(x.openMs / 1000).toFixed(1)} s, compose ${median(a.map((y) => y.composeMs)).toFixed(1)} ms, first token ${median(a.map((y) => y.firstTokenMs)).toFixed(0)} ms, decode ${median(a.map((y) => y.tokensPerSecond)).toFixed(1)} tok/s, composed weights ${(x.memory.composed / 1e6).toFixed(1)} MB`;
  };
  for (const x of r.runs) console.log(row(x));
  for (const x of r.svd)
    console.log(`SVD of a dropped checkpoint's [${x.rows}, ${x.cols}] matrix at rank ${x.rank}: products in WGSL ${x.wgslMs.toFixed(0)} ms, on onnxruntime-web WASM (${x.wasmThreads} thread${x.wasmThreads === 1 ? '' : 's'}) ${x.wasmMs.toFixed(0)} ms (WGSL ${(x.wasmMs / x.wgslMs).toFixed(2)}× as fast); B A relative difference ${x.productRelDiff.toExponential(2)}`);
  const svdAgrees = r.svd.every((x) => x.productRelDiff < 1e-3);
  const [f16, f32] = [r.runs.find((x) => x.composed === 'float16'), r.runs.find((x) => x.composed === 'float32')];
  if (!f16 || !f32) {
    console.log('This adapter has no shader-f16: the app composes float32 weights here, and the float16 path cannot run. Run this on a GPU that has it.');
    return svdAgrees ? 0 : 1;
  }
  let routingDiff = 0;
  let sameTokens = 0;
  const firstDiverge: number[] = [];
  f16.answers.forEach((a, i) => {
    const b = f32.answers[i]!;
    for (const k of Object.keys(b.routing)) routingDiff = Math.max(routingDiff, Math.abs((a.routing[k] ?? 0) - b.routing[k]!));
    if (a.tokenIds.join() === b.tokenIds.join()) sameTokens++;
    else firstDiverge.push(a.tokenIds.findIndex((t, j) => t !== b.tokenIds[j]));
  });
  const ratio = (f: (x: GpuCheckRun) => number) => (f(f16) / f(f32)).toFixed(2);
  const dec = (x: GpuCheckRun) => median(x.answers.map((y) => y.tokensPerSecond));
  const comp = (x: GpuCheckRun) => median(x.answers.map((y) => y.composeMs));
  console.log(`parity: routing max |Δ| ${routingDiff.toExponential(2)}; greedy tokens identical for ${sameTokens} of ${f16.answers.length} prompts${firstDiverge.length ? ` (the others first differ at tokens ${firstDiverge.join(', ')}: half-precision weights, expected now and then)` : ''}`);
  console.log(`speed, float16 / float32: decode ${ratio(dec)}×, compose time ${ratio(comp)}× (lower is faster), composed bytes ${ratio((x) => x.memory.composed)}×`);
  return svdAgrees && routingDiff < 0.05 && sameTokens >= Math.ceil(f16.answers.length / 2) ? 0 : 1;
}

if (process.argv[1] && /checkGpu\.ts$/.test(process.argv[1])) {
  checkGpuMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(1);
    },
  );
}
