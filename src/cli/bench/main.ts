/**
 * `npm run bench` — every benchmark in one run; ratios are measured side by side in the same run
 * (machines are shared and noisy: nothing here asserts an absolute time). Writes
 * docs/results/bench.json and docs/results/bench.md. See docs/benchmarks.md.
 *
 *   npm run bench -- [--bundle=models/bundle] [--quick] [--only=composer,cpu,overhead,decode,engine,engine-browser,browser-135m,extract,pack]
 *                    [--skip=...] [--big-layers=1] [--pack-layers=30] [--real-layers=30] [--engine-big] [--out=docs/results]
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { runEngineBench, type EngineBenchRow } from '../bench-engine.ts';
import { exportCheckpoint } from '../export.ts';
import { BenchBrowser, type ComposerBenchResult, type DecodeResult, type EngineBrowserResult, type OverheadResult } from './browser.ts';
import { benchCpuComposer, type CpuComposerResult } from './cpu.ts';
import { benchPack, type PackBenchRow } from './pack.ts';
import { extractBench, extractMarkdown, type ExtractBenchCase } from './extract.ts';
import { ensureSynthBundle, singleFileCheckpoint, synthDir } from './realsize.ts';
import { median, SMOLLM2_135M_CONFIG, ZOO_CONFIG, type ComposeCase } from './shapes.ts';

const SECTIONS = ['composer', 'cpu', 'overhead', 'decode', 'engine', 'engine-browser', 'browser-135m', 'extract', 'pack'] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  bundle: string;
  quick: boolean;
  sections: Set<Section>;
  bigLayers: number;
  packLayers: number;
  /** Layers of the SmolLM2-135M-shaped bundle the browser-135m section runs (30 = the real depth). */
  realLayers: number;
  engineBig: boolean;
  out: string;
  /** Keep the sections not run now from the report already in `out` (rerun one section, keep the rest). */
  update: boolean;
}

/** Where each section's results live in the report. */
const SECTION_KEYS = {
  composer: 'composerGpu',
  cpu: 'composerCpu',
  overhead: 'overhead',
  decode: 'decode',
  engine: 'engine',
  'engine-browser': 'engineBrowser',
  'browser-135m': 'browser135m',
  extract: 'extract',
  pack: 'pack',
} as const satisfies Record<Section, keyof BenchReport>;

function parseArgs(args: string[]): Options {
  const opt = (k: string) => args.find((a) => a.startsWith(`--${k}=`))?.slice(k.length + 3);
  const list = (s: string | undefined) => (s ? s.split(',').map((x) => x.trim()).filter(Boolean) : undefined);
  for (const a of args) {
    if (!/^--(bundle|only|skip|big-layers|pack-layers|real-layers|out)=|^--(quick|engine-big|update|help)$/.test(a)) throw new Error(`unknown option ${a} (see docs/benchmarks.md)`);
  }
  const only = list(opt('only'));
  const skip = new Set(list(opt('skip')) ?? []);
  for (const s of [...(only ?? []), ...skip]) if (!SECTIONS.includes(s as Section)) throw new Error(`unknown section "${s}"; sections: ${SECTIONS.join(', ')}`);
  const sections = new Set((only ?? [...SECTIONS]).filter((s) => !skip.has(s)) as Section[]);
  return {
    bundle: opt('bundle') ?? 'models/bundle',
    quick: args.includes('--quick'),
    sections,
    bigLayers: Number(opt('big-layers') ?? 1),
    packLayers: Number(opt('pack-layers') ?? 30),
    realLayers: Number(opt('real-layers') ?? 30),
    engineBig: args.includes('--engine-big'),
    out: opt('out') ?? 'docs/results',
    update: args.includes('--update'),
  };
}

interface ManifestLite {
  architecture: Record<string, unknown>;
  shared: { dtype: 'f32' | 'f16' | 'int8' };
  experts: { id: string; rank: number; examplePrompts: string[] }[];
}

export interface BenchReport {
  date: string;
  machine: { cpus: number; cpuModel: string; memGiB: number; loadAvgAtStart: number[]; node: string; chromium?: string; adapter?: string };
  options: Omit<Options, 'sections'> & { sections: string[] };
  composerGpu: (ComposerBenchResult & { ratioOrtMatMulAddOverOurs: number | null; ratioOrtMatMulOverOurs: number | null; ourGbPerS: number; shareOfCopyBandwidth: number; fullModelComposeMs: number })[];
  composerCpu: (CpuComposerResult & { fullModelComposeMs: number; gbPerS: number })[];
  overhead: (OverheadResult & { summary: { routeMs: number; composeMs: number; firstTokenMs: number; overheadShareOfTtft: number; firstMessageTtftOverLater: number } }) | null;
  decode: (DecodeResult & {
    composedTokS: number;
    staticTokS: number;
    /** Median over rounds of static / composed median step time (the headline), and its range. */
    ratio: number;
    range?: [number, number];
    /** Median over rounds of composed / static whole-run tokens/s, and its range. */
    throughputRatio?: number;
    throughputRange?: [number, number];
  })[];
  engine: { rows: EngineBenchRow[]; ratios: { model: string; ep: string; decodeRatio: number; prefillRatio: number; decodeRange: [number, number]; prefillRange: [number, number] }[] } | null;
  engineBrowser: EngineComparison | null;
  /** A SmolLM2-135M-shaped bundle in Chromium: the app's path per message on each EP, and ours vs transformers.js on one expert. */
  browser135m: { layers: number; bundleBytes: number; sessions: RealSizeSession[]; engine: EngineComparison | null } | null;
  /** A full checkpoint's module extracted in the page (demo and 135M shape) vs `twinmerge extract`. */
  extract: ExtractBenchCase[] | null;
  pack: { rows: PackBenchRow[]; growth: { label: string; perExtraExpertBytes: number; rssMinusOutput2: number; rssMinusOutput4: number } | null } | null;
  notes: string[];
  seconds: number;
  /** --update: the sections kept from an earlier report, each with the date of the run that measured it. */
  kept?: Record<string, string>;
}

/**
 * The figures issue #13 names, from one report (null where a section did not run or failed). Every
 * ratio is measured side by side in that run; > 1 is better except overheadShareOfTtft and
 * firstMessageTtftOverLater (lower is better).
 */
export interface BenchHeadline {
  /** Median (route + compose) / time to first token, demo bundle, WebGPU. */
  overheadShareOfTtft: number | null;
  /** The page's first message's TTFT over the median of the later ones. */
  firstMessageTtftOverLater: number | null;
  /** Ours / transformers.js in Chromium, zoo model. */
  prefillRatioVsTransformersJs: { webgpu: number | null };
  decodeRatioVsTransformersJs: { webgpu: number | null; wasm: number | null };
  /** Decode with composed weights (graph inputs) / the same weights baked in, same EP. */
  composedVsStaticDecode: { webgpu: number | null; wasm: number | null };
  /** ORT's MatMul+Add of the same shapes / our WGSL composer, worst over the cases run. */
  composerVsOrtMatMul: number | null;
  /** `twinmerge pack` of twinmerge synth's SmolLM2-135M-shaped checkpoints, all 30 layers, 4 experts. */
  pack135m: { seconds: number; peakRssMB: number } | null;
  /** The SmolLM2-135M-shaped bundle in Chromium, per EP: medians per message (route, whole-model compose, TTFT, decode). */
  chromium135m: Record<'webgpu' | 'wasm', { routeMs: number; composeMs: number; firstTokenMs: number; decodeTokS: number; openMs: number } | null>;
  /** Decode ours / transformers.js on the standard export of one of that bundle's experts (same EP, same page setup). */
  decodeRatio135m: { webgpu: number | null; wasm: number | null };
}

export function benchHeadline(r: BenchReport): BenchHeadline {
  const eb = (ep: string) => r.engineBrowser?.ratios.find((x) => x.ep === ep) ?? null;
  const dec = (ep: string) => r.decode.find((d) => d.backend === ep)?.ratio ?? null;
  const composer = r.composerGpu.map((c) => c.ratioOrtMatMulAddOverOurs).filter((x): x is number => x !== null);
  const pack135 = r.pack?.rows.find((p) => p.label.startsWith('SmolLM2-135M') && p.layers === 30 && p.experts === 4);
  const real = (ep: 'webgpu' | 'wasm') => {
    const x = r.browser135m?.layers === 30 ? r.browser135m.sessions.find((q) => q.backend === ep)?.summary : undefined;
    return x ? { routeMs: x.routeMs, composeMs: x.composeMs, firstTokenMs: x.firstTokenMs, decodeTokS: x.decodeTokS, openMs: x.openMs } : null;
  };
  const real135Ratio = (ep: string) => (r.browser135m?.layers === 30 ? (r.browser135m.engine?.ratios.find((x) => x.ep === ep)?.decodeRatio ?? null) : null);
  return {
    overheadShareOfTtft: r.overhead?.summary.overheadShareOfTtft ?? null,
    firstMessageTtftOverLater: r.overhead?.summary.firstMessageTtftOverLater ?? null,
    prefillRatioVsTransformersJs: { webgpu: eb('webgpu')?.prefillRatio ?? null },
    decodeRatioVsTransformersJs: { webgpu: eb('webgpu')?.decodeRatio ?? null, wasm: eb('wasm')?.decodeRatio ?? null },
    composedVsStaticDecode: { webgpu: dec('webgpu'), wasm: dec('wasm') },
    composerVsOrtMatMul: composer.length ? Math.min(...composer) : null,
    pack135m: pack135 ? { seconds: pack135.seconds, peakRssMB: pack135.maxRssBytes / 1e6 } : null,
    chromium135m: { webgpu: real('webgpu'), wasm: real('wasm') },
    decodeRatio135m: { webgpu: real135Ratio('webgpu'), wasm: real135Ratio('wasm') },
  };
}

export interface EngineComparison {
  model: string;
  rows: EngineBrowserRow[];
  /**
   * Per EP: the median over rounds of each round's ratio (ours and transformers.js alternate, one
   * call each per round), and the range of the rounds' ratios (the spread two runs can differ by).
   */
  ratios: {
    ep: string;
    /** From each rep's median step time (the headline); decodeThroughputRatio from its whole decode time. */
    decodeRatio: number | null;
    prefillRatio: number | null;
    rounds: number;
    decodeRange: [number, number] | null;
    prefillRange: [number, number] | null;
    decodeThroughputRatio?: number | null;
    decodeThroughputRange?: [number, number] | null;
  }[];
}

/** One EP's session on the real-size bundle: open (download, upload, compile, warm up), then messages. */
export interface RealSizeSession {
  backend: 'webgpu' | 'wasm';
  result: OverheadResult | null;
  error: string | null;
  /** Medians over the messages after the first. */
  summary: { openMs: number; routeMs: number; composeMs: number; firstTokenMs: number; decodeTokS: number; overheadShareOfTtft: number } | null;
}

/** One engine-browser case: medians, or the error that stopped it. */
export interface EngineBrowserRow {
  ep: 'webgpu' | 'wasm';
  impl: 'ours' | 'transformers.js';
  promptTokens: number;
  decodeTokens: number;
  prefillTokS: number | null;
  decodeTokS: number | null;
  /** Greedy tokens equal to ours on the same EP (transformers.js rows; null when either failed). */
  sameTokensAsOurs: boolean | null;
  error: string | null;
  raw: EngineBrowserResult | null;
}

const mb = (b: number) => (b / 1e6).toFixed(1);
const f = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

function composeCases(o: Options, m: ManifestLite | undefined): ComposeCase[] {
  const zooLayers = Number((m?.architecture ?? ZOO_CONFIG).num_hidden_layers);
  return [
    {
      label: m ? 'demo bundle' : 'zoo shape (no bundle)',
      config: m ? m.architecture : { ...ZOO_CONFIG },
      experts: m ? m.experts.length : 4,
      rank: m ? Math.max(...m.experts.map((e) => e.rank)) : 16,
      sharedDtype: m ? m.shared.dtype : 'f16',
      layersRun: zooLayers,
      layersFull: zooLayers,
    },
    {
      label: `SmolLM2-135M shape, ${o.bigLayers} of 30 layers, no embedding`,
      config: { ...SMOLLM2_135M_CONFIG },
      experts: 4,
      rank: 16,
      sharedDtype: 'f16',
      layersRun: o.bigLayers,
      layersFull: 30,
      includeEmbedding: false,
    },
  ];
}

function markdown(r: BenchReport): string {
  const L: string[] = [];
  L.push('# Benchmarks', '');
  L.push(`Generated by \`npm run bench\` on ${r.date} in ${r.seconds.toFixed(0)} s. ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memGiB.toFixed(0)} GiB, load average at start ${r.machine.loadAvgAtStart.map((x) => x.toFixed(2)).join(' / ')}; Node ${r.machine.node}${r.machine.chromium ? `, Chromium ${r.machine.chromium}` : ''}${r.machine.adapter ? `, WebGPU adapter: ${r.machine.adapter}` : ''}.`);
  if (r.kept && Object.keys(r.kept).length) {
    const kept = r.kept;
    L.push('', `Sections ${r.options.sections.filter((x) => !(x in kept)).join(', ')} were run on ${r.date} (\`--update\`); kept from earlier runs: ${Object.entries(kept).map(([sec, d]) => `${sec} (${d})`).join(', ')}.`);
  }
  L.push('Medians of interleaved runs; every ratio compares runs made side by side in this one run. Absolute times depend on the machine and its load: read the ratios. How to read this: docs/benchmarks.md.', '');
  if (r.composerGpu.length) {
    L.push('## Composer on WebGPU vs onnxruntime-web MatMul (same device, same shapes)', '');
    L.push('Ours = one compose of every weight (W = dequant(S) + Σ w·B·A into [in, out] f32 buffers). ORT = one session run of a graph with one `MatMul` ([in, R] × [R, out], R = active rank) per weight, and the same plus `Add` of an f32 [in, out] shared tensor (the same output as ours). Ratio = ORT time / our time (goal ≥ 1.0).', '');
    L.push('| case | weights | elements | R | ours ms | ORT MatMul ms | ORT MatMul+Add ms | ratio (MatMul+Add) | ratio (MatMul) | ours GB/s | copy GB/s | ours / copy | full model, est. ms |');
    L.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const c of r.composerGpu) {
      L.push(`| ${c.label} (${c.kernel} kernel${c.byKernel.length > 1 ? `; ${c.byKernel.filter((k) => k.kernel !== c.kernel).map((k) => `${k.kernel}: ${f(k.composeMs, 0)} ms, ratio ${f(c.ortMatMulAddMs !== null ? c.ortMatMulAddMs / k.composeMs : null)}`).join(', ')}` : ''}) | ${c.weights} | ${(c.elements / 1e6).toFixed(2)} M | ${c.rank}×${c.experts} | ${f(c.composeMs, 0)} | ${f(c.ortMatMulMs, 0)} | ${f(c.ortMatMulAddMs, 0)} | **${f(c.ratioOrtMatMulAddOverOurs)}** | ${f(c.ratioOrtMatMulOverOurs)} | ${f(c.ourGbPerS, 3)} | ${f(c.copy.gbPerS, 1)} | ${f(c.shareOfCopyBandwidth, 4)} | ${f(c.fullModelComposeMs, 0)} |`);
    }
    L.push('', 'The kernel named first is the one the app uses on this adapter (flat on software adapters such as SwiftShader, tiled elsewhere); the other is measured in the same loop and shown with its own MatMul+Add ratio.', 'Bytes moved per compose = shared (its dtype) + active factor rows (f32) + f32 output. Copy = `copyBufferToBuffer` of a large buffer on the same device, (read + write) / time. "Full model, est." scales our time by composed elements (every weight has the same active rank).', '');
    L.push('### Compose only what changed', '', 'When one expert\'s routing weight moves and the others stay, the composer adds (Δw)·B·A of that expert to the current outputs in place (src/runtime/composer/composePlan.ts) instead of composing every expert from scratch. Same composer kernel, same loop.', '');
    L.push('| case | experts | full compose ms | one expert moved ms | ratio |', '|---|---|---|---|---|');
    for (const c of r.composerGpu) if (c.oneExpertMovedMs != null) L.push(`| ${c.label} | ${c.experts} | ${f(c.composeMs, 1)} | ${f(c.oneExpertMovedMs, 1)} | **${f(c.oneExpertMovedMs / c.composeMs)}** |`);
    L.push('');
  }
  if (r.composerCpu.length) {
    L.push('## Composer on the CPU (Node, the WASM path\'s TypeScript composer)', '');
    L.push('| case | elements | R | ms per compose | GB/s | full model, est. ms | one expert moved ms (ratio) |', '|---|---|---|---|---|---|---|');
    for (const c of r.composerCpu) L.push(`| ${c.label} | ${(c.elements / 1e6).toFixed(2)} M | ${c.rank}×${c.experts} | ${f(c.composeMs, 0)} | ${f(c.gbPerS, 3)} | ${f(c.fullModelComposeMs, 0)} | ${c.oneExpertMovedMs != null ? `${f(c.oneExpertMovedMs, 0)} (${f(c.oneExpertMovedMs / c.composeMs)})` : '–'} |`);
    L.push('');
  }
  if (r.overhead) {
    const o = r.overhead;
    L.push('## Per-message overhead (demo bundle, TwinSession on WebGPU)', '');
    L.push('Each message: route (the routing pass: the shared model\'s first k layers, k from the manifest, its own session on the WASM EP when its weights fit, else on the composer\'s buffers after composing the shared model), compose for the routing, generate. Messages alternate between the experts\' example prompts, so every compose runs.', '');
    L.push('| message | routed to | route ms | compose ms | time to first token ms | (route + compose) / TTFT | decode tok/s |', '|---|---|---|---|---|---|---|');
    o.messages.forEach((m, i) => L.push(`| ${i + 1} (${m.expert}) | ${m.top} | ${f(m.routeMs, 0)} | ${f(m.composeMs, 0)} | ${f(m.firstTokenMs, 0)} | ${f((m.routeMs + m.composeMs) / m.firstTokenMs)} | ${f(m.tokensPerSecond, 1)} |`));
    L.push(`| **median** | | ${f(o.summary.routeMs, 0)} | ${f(o.summary.composeMs, 0)} | ${f(o.summary.firstTokenMs, 0)} | **${f(o.summary.overheadShareOfTtft)}** | |`, '');
    L.push(`The page's first message (right after the session opened; kernels are compiled during load): time to first token ${f(o.first.firstTokenMs, 0)} ms = **${f(o.summary.firstMessageTtftOverLater)}×** the median of the later ones.`, '');
  }
  if (r.decode.length) {
    L.push('## Decode with composed weights vs a static graph (same model, same EP)', '');
    L.push('Composed = the app\'s path: on WebGPU the weights-as-inputs graph fed the composer\'s GPU buffers; on WASM the same graph with the composed weights resident (its weight inputs made external-data initializers, the session rebuilt once per composition: "session build ms"). Static = the same composed weights baked into the graph as initializers. Each round prefills the prompt on both, then decodes greedily with the two in lockstep, one step each in turn (the order flips every step). Step ratio (the headline) = the median over rounds of each round\'s median over neighbouring step pairs of static ms / composed ms; throughput ratio = the median over rounds of composed / static tokens/s over the round\'s steps, which also carries their stalls. Ranges in brackets; goal ≥ 0.97.', '');
    L.push('| EP | prompt | decode tokens | composed tok/s | static tok/s | composed ms / step | static ms / step | step ratio | throughput ratio | same greedy tokens | compose ms | session build ms |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
    const rng = (x?: [number, number]) => (x ? ` (${f(x[0])}–${f(x[1])})` : '');
    for (const d of r.decode) {
      const step = (x: { stepMs?: number[] }) => (x.stepMs?.length ? f(median(x.stepMs), 2) : '–');
      L.push(`| ${d.backend} | ${d.promptTokens} | ${d.decodeTokens} × ${d.reps} | ${f(d.composedTokS, 1)} | ${f(d.staticTokS, 1)} | ${step(d.composed)} | ${step(d.static)} | **${f(d.ratio)}**${rng(d.range)} | ${d.throughputRatio === undefined ? '–' : f(d.throughputRatio) + rng(d.throughputRange)} | ${d.sameTokens ? 'yes' : 'NO'} | ${f(d.composeMs, 0)} | ${f(d.residentBuildMs ?? 0, 0)} |`);
    }
    L.push('');
  }
  if (r.engine) {
    L.push('## Engine: ours vs transformers.js (Node)', '');
    L.push('| model | EP | impl | prefill tok/s | decode tok/s (median step) | decode throughput tok/s |', '|---|---|---|---|---|---|');
    for (const e of r.engine.rows) L.push(`| ${e.model} | ${e.ep} | ${e.impl} | ${f(e.prefillTokS, 0)} | ${f(e.decodeTokS, 1)} | ${f(e.decodeThroughputTokS, 1)} |`);
    L.push('', `Ours (onnxruntime-node CPU and onnxruntime-web wasm) and transformers.js (CPU) alternate round by round (${r.engine.rows[0]?.rounds.length ?? 0} rounds, each one greedy generation of ${r.options.quick ? 8 : 128} tokens after a ${r.engine.rows[0]?.promptTokens ?? 0}-token prompt), every token stamped as it is emitted (ours: generate's onToken; transformers.js: a streamer): prefill = call → first token, decode = 1 / the median step, throughput = tokens / (first token → last). tok/s are medians over the rounds, the ratio is the median of the rounds' ratios, the range their spread.`, '');
    L.push('| model | EP | decode ratio ours / transformers.js (range) | prefill ratio (range) |', '|---|---|---|---|');
    for (const x of r.engine.ratios) L.push(`| ${x.model} | ${x.ep} | **${f(x.decodeRatio)}** (${f(x.decodeRange[0])}–${f(x.decodeRange[1])}) | ${f(x.prefillRatio)} (${f(x.prefillRange[0])}–${f(x.prefillRange[1])}) |`);
    L.push('');
  }
  const engineTable = (eb: EngineComparison) => {
    L.push(`Model: ${eb.model}. Ours = the weights-as-inputs graph (the app's path) fed the checkpoint's weights (GPU buffers on WebGPU; on WASM held resident in the session, as the app's chat engine does); transformers.js = \`AutoModelForCausalLM\` on the standard export (\`twinmerge export\`), its own onnxruntime-web. Greedy, batch 1, fp32, WASM 1 thread. Ratio = ours / transformers.js (goal ≥ 1.0 for decode).`, '');
    L.push('| EP | impl | prompt | decode tokens | prefill tok/s | decode tok/s | same greedy tokens as ours |', '|---|---|---|---|---|---|---|');
    for (const e of eb.rows) L.push(`| ${e.ep} | ${e.impl} | ${e.promptTokens} | ${e.decodeTokens} | ${e.error ? `failed: ${e.error.replace(/\|/g, '/').slice(0, 200)}` : f(e.prefillTokS, 0)} | ${e.error ? '–' : f(e.decodeTokS, e.decodeTokS !== null && e.decodeTokS < 1 ? 3 : 1)} | ${e.impl === 'ours' ? '' : e.sameTokensAsOurs === null ? '–' : e.sameTokensAsOurs ? 'yes' : 'NO'} |`);
    L.push('', `Each round loads both in one page, warms each up (${WASM_WARMUPS} generations on WASM, 1 on WebGPU), then alternates their generations (which goes first flips each rep); a round\'s ratio is the median over its reps of ours / transformers.js, the headline the median over rounds, the range their spread. Each token is stamped as it is emitted (transformers.js through a streamer): decode step ratio (the headline) = transformers.js / ours median time between two tokens; decode throughput ratio = ours / transformers.js tokens/s from the first token to the last, which also carries the stalls; prefill = from the call to the first token.`, '');
    L.push('| EP | rounds | decode step ratio ours / transformers.js (range) | decode throughput ratio (range) | prefill ratio (range) |', '|---|---|---|---|---|');
    const range = (x: [number, number] | null | undefined) => (x ? ` (${f(x[0])}–${f(x[1])})` : '');
    for (const x of eb.ratios) L.push(`| ${x.ep} | ${x.rounds} | **${f(x.decodeRatio)}**${range(x.decodeRange)} | ${x.decodeThroughputRatio == null ? '–' : f(x.decodeThroughputRatio) + range(x.decodeThroughputRange)} | ${f(x.prefillRatio)}${range(x.prefillRange)} |`);
    L.push('');
  };
  if (r.engineBrowser) {
    L.push('## Engine in Chromium: ours vs transformers.js (same EP)', '');
    engineTable(r.engineBrowser);
  }
  if (r.browser135m) {
    const b = r.browser135m;
    L.push(`## SmolLM2-135M shape in Chromium (${b.layers} of 30 layers)`, '');
    L.push(`twinmerge synth's random SmolLM2-135M-shaped checkpoints (4 experts), packed (${mb(b.bundleBytes)} MB bundle), opened as the app opens a bundle (download, upload, compile, warm-up), then messages through route + compose (whole model) + generate, greedy. Medians over the messages after the first.`, '');
    L.push('| EP | open s | route ms | compose ms | first token ms | decode tok/s | (route + compose) / TTFT |', '|---|---|---|---|---|---|---|');
    for (const x of b.sessions) L.push(x.summary ? `| ${x.result?.adapter ?? x.backend} | ${f(x.summary.openMs / 1000, 1)} | ${f(x.summary.routeMs, 0)} | ${f(x.summary.composeMs, 0)} | ${f(x.summary.firstTokenMs, 0)} | ${f(x.summary.decodeTokS, 3)} | ${f(x.summary.overheadShareOfTtft)} |` : `| ${x.backend} | failed: ${(x.error ?? '').replace(/\|/g, '/').slice(0, 200)} | | | | | |`);
    L.push('');
    if (b.engine) engineTable(b.engine);
  }
  if (r.extract) L.push(...extractMarkdown(r.extract));
  if (r.pack) {
    L.push('## Pack: time and peak memory (child process, getrusage maxRSS)', '');
    L.push('| input | experts | layers | params | seconds | peak RSS MB | bundle MB | RSS − bundle MB |', '|---|---|---|---|---|---|---|---|');
    for (const p of r.pack.rows) L.push(`| ${p.label} | ${p.experts} | ${p.layers} | ${(p.params / 1e6).toFixed(1)} M | ${f(p.seconds, 1)} | ${mb(p.maxRssBytes)} | ${mb(p.bundleBytes)} | ${mb(p.rssMinusOutputBytes)} |`);
    const g = r.pack.growth;
    if (g) L.push('', `${g.label}: peak RSS minus bundle size grows by ${mb(g.perExtraExpertBytes)} MB per extra expert (${mb(g.rssMinusOutput2)} MB with 2 experts, ${mb(g.rssMinusOutput4)} MB with 4).`);
    L.push('');
  }
  if (r.notes.length) {
    L.push('## Not measured / caveats', '');
    for (const n of r.notes) L.push(`- ${n}`);
    L.push('');
  }
  return L.join('\n');
}

// transformers.js 4.3.2 depends on its own onnxruntime-web (1.31-dev), whose wasm files differ from
// the app's 1.30 ones at /ort/: the page gets that version's dist folder under its own prefix.
const TJS_ORT_DIST = ['node_modules/@huggingface/transformers/node_modules/onnxruntime-web/dist', 'node_modules/onnxruntime-web/dist'];

/** A scratch folder under .cache (git-ignored, inside the checkout: the dev server serves it). */
function benchTmp(what: string): string {
  mkdirSync('.cache', { recursive: true });
  return mkdtempSync(join('.cache', `bench-${what}-`));
}

/** engine-browser: ours vs transformers.js on the WebGPU and WASM EPs in Chromium (models/base). */
function engineBrowser(browser: BenchBrowser, o: Options, notes: string[], log: (s: string) => void): Promise<EngineComparison> {
  const ckpt = 'models/base';
  if (!existsSync(join(ckpt, 'model.safetensors'))) {
    notes.push(`engine-browser: no checkpoint at ${ckpt} (train the zoo first); not measured`);
    return Promise.resolve({ model: `zoo base (${ckpt})`, rows: [], ratios: [] });
  }
  // WASM runs the demo model at hundreds of tok/s: more tokens and rounds there (the cost is small).
  const wasm = o.quick ? {} : { wasm: { decodeTokens: 160, reps: 4, rounds: 6 } };
  return compareEngines(browser, { ckpt, model: `zoo base (${ckpt})`, section: 'engine-browser', promptTokens: o.quick ? 16 : 64, decodeTokens: o.quick ? 8 : 64, reps: o.quick ? 1 : 4, rounds: o.quick ? 1 : 4, ...wasm }, notes, log);
}

/** Warm-up generations per implementation on WASM: Chromium tiers wasm code up in the background (see bench.ts engineCompare). */
const WASM_WARMUPS = 3;

/** Ours vs transformers.js (on `twinmerge export`'s folder of the same checkpoint) on each EP, greedy, same prompt. */
async function compareEngines(
  browser: BenchBrowser,
  c: { ckpt: string; model: string; section: string; promptTokens: number; decodeTokens: number; reps: number; rounds?: number; wasm?: { decodeTokens: number; reps: number; rounds: number } },
  notes: string[],
  log: (s: string) => void,
): Promise<EngineComparison> {
  const { promptTokens } = c;
  const rows: EngineBrowserRow[] = [];
  const out: EngineComparison = { model: c.model, rows, ratios: [] };
  // Inside the checkout, so the dev server serves the export and the checkpoint (see BenchBrowser.urlOf).
  const tmp = benchTmp('export');
  try {
    log(`${c.section}: exporting ${c.ckpt} for transformers.js`);
    await exportCheckpoint(c.ckpt, join(tmp, 'm'));
    const vocab = Number((JSON.parse(readFileSync(join(c.ckpt, 'config.json'), 'utf8')) as { vocab_size: number }).vocab_size);
    const modelRoot = `${browser.urlOf(tmp)}/`;
    const ckptUrl = browser.urlOf(c.ckpt);
    const ortDist = TJS_ORT_DIST.find((d) => existsSync(d))!;
    const ortUrl = `${browser.serve('/bench-tjs-ort', ortDist)}/`;
    const per = (ep: 'webgpu' | 'wasm') => (ep === 'wasm' && c.wasm ? c.wasm : { decodeTokens: c.decodeTokens, reps: c.reps, rounds: c.rounds ?? 1 });
    const row = (ep: 'webgpu' | 'wasm', impl: EngineBrowserRow['impl'], r: EngineBrowserResult | null, error: string | null): EngineBrowserRow => ({
      ep, impl, promptTokens, decodeTokens: per(ep).decodeTokens,
      prefillTokS: r ? median(r.prefillTokS) : null,
      decodeTokS: r ? median(r.decodeTokS) : null,
      sameTokensAsOurs: null,
      error,
      raw: r,
    });
    // One page per round with both implementations, their reps alternating (bench.ts engineCompare).
    const attempt = async (ep: 'webgpu' | 'wasm', fn: () => Promise<{ ours: EngineBrowserResult; transformersJs: EngineBrowserResult }>) => {
      log(`${c.section}: ours and transformers.js on ${ep}`);
      try {
        const r = await fn();
        return { ours: row(ep, 'ours', r.ours, null), tjs: row(ep, 'transformers.js', r.transformersJs, null) };
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).replace(/^page\.evaluate: /, '').split('\n')[0]!;
        log(`${c.section}: ${ep} failed: ${msg}`);
        notes.push(`${c.section}: ours vs transformers.js on ${ep} failed: ${msg}`);
        return { ours: row(ep, 'ours', null, msg), tjs: row(ep, 'transformers.js', null, msg) };
      }
    };
    const merged = (parts: EngineBrowserRow[]): EngineBrowserRow => {
      const ok = parts.filter((p) => p.raw);
      if (ok.length < parts.length) return parts.find((p) => !p.raw)!;
      const raw: EngineBrowserResult = { ...ok[0]!.raw!, reps: ok.reduce((n, p) => n + p.raw!.reps, 0), prefillTokS: ok.flatMap((p) => p.raw!.prefillTokS), decodeTokS: ok.flatMap((p) => p.raw!.decodeTokS), stepTokS: ok.flatMap((p) => p.raw!.stepTokS ?? []) };
      return { ...ok[0]!, prefillTokS: median(raw.prefillTokS), decodeTokS: median(raw.decodeTokS), raw };
    };
    for (const ep of ['webgpu', 'wasm'] as const) {
      const oursParts: EngineBrowserRow[] = [];
      const tjsParts: EngineBrowserRow[] = [];
      const { decodeTokens, reps, rounds } = per(ep);
      const common = { promptTokens, decodeTokens, reps };
      for (let i = 0; i < rounds; i++) {
        const r = await attempt(ep, () => browser.engineCompare({ ckptUrl, modelRoot, model: 'm', ortUrl, ep, vocab, warmups: ep === 'wasm' ? WASM_WARMUPS : 1, ...common }, log));
        oursParts.push(r.ours);
        tjsParts.push(r.tjs);
        if (!oursParts.at(-1)!.raw || !tjsParts.at(-1)!.raw) break;
      }
      const ours = merged(oursParts);
      const tjs = merged(tjsParts);
      if (ours.raw && tjs.raw) tjs.sameTokensAsOurs = ours.raw.tokens.join(',') === tjs.raw.tokens.join(',');
      rows.push(ours, tjs);
      // A round's ratio: the median over its reps of ours / transformers.js, each pair run back to back.
      const perRound = (k: 'decodeTokS' | 'prefillTokS' | 'stepTokS') =>
        oursParts.flatMap((p, i) => {
          const a = p.raw?.[k];
          const b = tjsParts[i]?.raw?.[k];
          return a && b && a.length === b.length ? [median(a.map((x, j) => x / b[j]!))] : [];
        });
      const summary = (xs: number[]) => ({ mid: xs.length ? median(xs) : null, range: xs.length ? ([Math.min(...xs), Math.max(...xs)] as [number, number]) : null });
      const d = summary(perRound('stepTokS'));
      const tput = summary(perRound('decodeTokS'));
      const p = summary(perRound('prefillTokS'));
      out.ratios.push({ ep, decodeRatio: d.mid, prefillRatio: p.mid, rounds: perRound('stepTokS').length, decodeRange: d.range, prefillRange: p.range, decodeThroughputRatio: tput.mid, decodeThroughputRange: tput.range });
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return out;
}

/**
 * browser-135m: twinmerge synth's SmolLM2-135M-shaped bundle (made and packed when missing) through
 * the app's path (openBrowserSession, then route + compose + generate per message) on WebGPU and on
 * WASM; then ours vs transformers.js on its first expert's checkpoint. SwiftShader runs the 30-layer
 * model at seconds per token: few, short messages.
 */
async function browser135m(browser: BenchBrowser, o: Options, notes: string[], log: (s: string) => void): Promise<NonNullable<BenchReport['browser135m']>> {
  const bundle = await ensureSynthBundle('smollm2-135m', o.realLayers, log);
  const manifest = JSON.parse(readFileSync(join(bundle, 'manifest.json'), 'utf8')) as ManifestLite & { files: { bytes: number }[] };
  const bundleUrl = browser.urlOf(bundle);
  const prompts = manifest.experts.map((e) => ({ expert: e.id, text: e.examplePrompts[0] ?? e.id }));
  const sessions: RealSizeSession[] = [];
  for (const backend of ['webgpu', 'wasm'] as const) {
    log(`browser-135m: ${o.realLayers} layers on ${backend}`);
    try {
      const r = await browser.overhead({ bundleUrl, backend, prompts, messages: o.quick ? 2 : 3, maxNewTokens: o.quick ? 4 : 8 }, log);
      const m = r.messages;
      const summary = {
        openMs: r.openMs,
        routeMs: median(m.map((x) => x.routeMs)),
        composeMs: median(m.map((x) => x.composeMs)),
        firstTokenMs: median(m.map((x) => x.firstTokenMs)),
        decodeTokS: median(m.map((x) => x.tokensPerSecond)),
        overheadShareOfTtft: median(m.map((x) => (x.routeMs + x.composeMs) / x.firstTokenMs)),
      };
      log(`browser-135m: ${backend}: open ${(summary.openMs / 1000).toFixed(1)} s, route ${summary.routeMs.toFixed(0)} ms, compose ${summary.composeMs.toFixed(0)} ms, TTFT ${summary.firstTokenMs.toFixed(0)} ms, ${summary.decodeTokS.toFixed(2)} tok/s`);
      sessions.push({ backend, result: r, error: null, summary });
    } catch (e) {
      const msg = (e instanceof Error ? e.message : String(e)).replace(/^page\.evaluate: /, '').split('\n')[0]!;
      notes.push(`browser-135m: ${backend} failed: ${msg}`);
      sessions.push({ backend, result: null, error: msg, summary: null });
    }
  }
  const tmp = benchTmp('135m');
  let engine: EngineComparison | null = null;
  try {
    const expert = join(synthDir('smollm2-135m', o.realLayers), 'experts', manifest.experts[0]!.id);
    log(`browser-135m: ${expert} as one safetensors file`);
    await singleFileCheckpoint(expert, join(tmp, 'ckpt'));
    engine = await compareEngines(browser, { ckpt: join(tmp, 'ckpt'), model: `SmolLM2-135M-shaped expert (${o.realLayers} layers)`, section: 'browser-135m', promptTokens: 16, decodeTokens: o.quick ? 4 : 8, reps: 1, rounds: o.quick ? 1 : 3, wasm: { decodeTokens: o.quick ? 16 : 64, reps: 2, rounds: o.quick ? 2 : 4 } }, notes, log);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { layers: o.realLayers, bundleBytes: manifest.files.reduce((s, f) => s + f.bytes, 0), sessions, engine };
}

export async function benchMain(args: string[]): Promise<number> {
  const o = parseArgs(args);
  const t0 = performance.now();
  const log = (s: string) => process.stderr.write(`[bench ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}\n`);
  const manifestPath = join(o.bundle, 'manifest.json');
  const manifest = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, 'utf8')) as ManifestLite) : undefined;
  const notes: string[] = [];
  if (!manifest) notes.push(`no bundle at ${o.bundle}: the composer's first case uses the zoo's shape; per-message overhead and decode need a bundle and were skipped (build one with \`twinmerge pack\`, then \`npm run bench -- --bundle=<dir>\`)`);
  const cpu = cpus();
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: { cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? 'unknown', memGiB: totalmem() / 2 ** 30, loadAvgAtStart: loadavg(), node: process.versions.node },
    options: { ...o, sections: [...o.sections] },
    composerGpu: [],
    composerCpu: [],
    overhead: null,
    decode: [],
    engine: null,
    engineBrowser: null,
    browser135m: null,
    extract: null,
    pack: null,
    notes,
    seconds: 0,
  };
  const previous = join(o.out, 'bench.json');
  if (o.update && existsSync(previous)) {
    const old = JSON.parse(readFileSync(previous, 'utf8')) as BenchReport;
    const kept = SECTIONS.filter((sec) => !o.sections.has(sec) && (old.options?.sections ?? []).includes(sec));
    const r = report as unknown as Record<string, unknown>;
    for (const sec of kept) r[SECTION_KEYS[sec]] = old[SECTION_KEYS[sec]];
    report.kept = Object.fromEntries(kept.map((sec) => [sec, old.kept?.[sec] ?? old.date]));
    report.options.sections = [...new Set([...report.options.sections, ...kept])];
  }
  const cases = composeCases(o, manifest);
  // Written after every section, so a run cut short still leaves what it measured.
  const flush = (final = false) => {
    report.seconds = (performance.now() - t0) / 1000;
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'bench.json'), `${JSON.stringify({ headline: benchHeadline(report), ...report }, null, 2)}\n`);
    const md = markdown(report);
    writeFileSync(join(o.out, 'bench.md'), final ? md : `${md}\n_(run in progress: sections still to come are missing)_\n`);
    return md;
  };
  const gpuIters = o.quick ? [3, 2] : [7, 3];

  const wantBrowser = o.sections.has('composer') || o.sections.has('engine-browser') || o.sections.has('browser-135m') || o.sections.has('extract') || (manifest && (o.sections.has('overhead') || o.sections.has('decode')));
  if (wantBrowser) {
    let browser: BenchBrowser | undefined;
    try {
      browser = await BenchBrowser.start(o.bundle, log);
      report.machine.chromium = await browser.version();
      if (o.sections.has('composer')) {
        for (const [i, c] of cases.entries()) {
          log(`composer (WebGPU): ${c.label}`);
          const r = await browser.composer({ ...c, iters: gpuIters[i]!, ort: true, ortAdd: true, copyMb: 64 }, log);
          report.machine.adapter = r.adapter;
          report.composerGpu.push({
            ...r,
            ratioOrtMatMulAddOverOurs: r.ortMatMulAddMs !== null ? r.ortMatMulAddMs / r.composeMs : null,
            ratioOrtMatMulOverOurs: r.ortMatMulMs !== null ? r.ortMatMulMs / r.composeMs : null,
            ourGbPerS: r.bytesMoved / r.composeMs / 1e6,
            shareOfCopyBandwidth: r.bytesMoved / r.composeMs / 1e6 / r.copy.gbPerS,
            fullModelComposeMs: r.composeMs * r.fullModelScale,
          });
        }
        if (o.bigLayers < 30) notes.push(`SmolLM2-135M-shaped composer case: ${o.bigLayers} of 30 layers without the [49152, 576] embedding (SwiftShader is too slow for the whole model in the time budget); "full model, est." scales by composed elements. \`--big-layers=N\` composes more.`);
      }
      flush();
      if (manifest && o.sections.has('overhead')) {
        log('per-message overhead (TwinSession, WebGPU)');
        const prompts = manifest.experts.map((e) => ({ expert: e.id, text: e.examplePrompts[0] ?? e.id }));
        const r = await browser.overhead({ prompts, messages: o.quick ? 4 : 8, maxNewTokens: 8 }, log);
        report.overhead = {
          ...r,
          summary: {
            routeMs: median(r.messages.map((m) => m.routeMs)),
            composeMs: median(r.messages.map((m) => m.composeMs)),
            firstTokenMs: median(r.messages.map((m) => m.firstTokenMs)),
            overheadShareOfTtft: median(r.messages.map((m) => (m.routeMs + m.composeMs) / m.firstTokenMs)),
            firstMessageTtftOverLater: r.first.firstTokenMs / median(r.messages.map((m) => m.firstTokenMs)),
          },
        };
      }
      flush();
      if (manifest && o.sections.has('decode')) {
        for (const backend of ['webgpu', 'wasm'] as const) {
          log(`decode composed vs static (${backend})`);
          // WASM decodes the demo model at ~1800 tok/s (a 160-token run is ~90 ms): long runs and 24 alternating rounds there, or noise decides the ratio.
          // WebGPU on a software adapter: ~40 tok/s on the step graph, drifting by ±20% within a run: 12 rounds of 64.
          const wasm = backend === 'wasm';
          const d = await browser.decode({ backend, promptTokens: 24, decodeTokens: o.quick ? 8 : wasm ? 160 : 64, reps: o.quick ? 2 : wasm ? 24 : 12 }, log);
          // Each round decodes with both engines in lockstep (one step each in turn): a round's step ratio
          // is the median over its neighbouring step pairs of static / composed ms; the headline the median
          // over rounds. The throughput ratio (the rounds' summed step times) also carries their stalls.
          const rounds = d.stepRatio;
          const tput = d.composed.decodeTokS.map((c, i) => c / d.static.decodeTokS[i]!);
          report.decode.push({
            ...d,
            composedTokS: median(d.composed.decodeTokS),
            staticTokS: median(d.static.decodeTokS),
            ratio: median(rounds),
            range: [Math.min(...rounds), Math.max(...rounds)],
            throughputRatio: median(tput),
            throughputRange: [Math.min(...tput), Math.max(...tput)],
          });
        }
      }
      flush();
      if (o.sections.has('engine-browser')) report.engineBrowser = await engineBrowser(browser, o, notes, log);
      flush();
      if (o.sections.has('browser-135m')) report.browser135m = await browser135m(browser, o, notes, log);
      flush();
      if (o.sections.has('extract')) report.extract = await extractBench(browser, o, notes, log);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      notes.push(`browser benchmarks failed: ${msg.split('\n')[0]}`);
      log(`browser benchmarks failed: ${msg}`);
    } finally {
      await browser?.close();
    }
  }

  flush();
  if (o.sections.has('cpu')) {
    for (const [i, c] of cases.entries()) {
      log(`composer (CPU, Node): ${c.label}`);
      const r = await benchCpuComposer({ ...c, iters: o.quick ? 2 : [7, 3][i]! });
      report.composerCpu.push({ ...r, fullModelComposeMs: r.composeMs * r.fullModelScale, gbPerS: r.bytesMoved / r.composeMs / 1e6 });
    }
  }

  flush();
  if (o.sections.has('engine')) {
    const { rows, notes: n } = await runEngineBench({ zoo: 'models', promptLen: o.quick ? 16 : 64, decode: o.quick ? 8 : 128, rounds: o.quick ? 1 : 15, big: o.engineBig, log }).catch((e: unknown) => {
      log(`engine failed: ${e instanceof Error ? e.message : String(e)}`);
      return { rows: [] as EngineBenchRow[], notes: [`engine: failed, ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`] };
    });
    notes.push(...n);
    const ratios = rows
      .filter((r) => r.impl === 'ours')
      .flatMap((r) => {
        const t = rows.find((x) => x.model === r.model && x.ep === r.ep && x.impl === 'transformers.js');
        if (!t) return [];
        // Per round (ours and transformers.js alternate): the median ratio and the rounds' range.
        const per = (k: 'decodeTokS' | 'prefillTokS') => r.rounds.map((x, i) => x[k] / (t.rounds[i]?.[k] ?? NaN)).filter(Number.isFinite);
        const d = per('decodeTokS');
        const p = per('prefillTokS');
        return [{ model: r.model, ep: r.ep, decodeRatio: median(d), prefillRatio: median(p), decodeRange: [Math.min(...d), Math.max(...d)] as [number, number], prefillRange: [Math.min(...p), Math.max(...p)] as [number, number] }];
      });
    report.engine = { rows, ratios };
    if (!o.engineBig) notes.push('engine: the SmolLM2-135M-shaped random model is not run by default (`--engine-big` adds it; slow on 2 cores).');
  }

  flush();
  if (o.sections.has('pack')) {
    const tokDir = existsSync(join(o.bundle, 'tokenizer.json')) ? o.bundle : 'models/base';
    const { rows, notes: n } = await benchPack({ bigLayers: o.packLayers, tokenizerDir: tokDir, log }).catch((e: unknown) => {
      log(`pack failed: ${e instanceof Error ? e.message : String(e)}`);
      return { rows: [] as PackBenchRow[], notes: [`pack (SmolLM2-135M shape): failed, ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`] };
    });
    notes.push(...n);
    const two = rows.find((r) => r.experts === 2 && r.label.startsWith('SmolLM2'));
    const four = rows.find((r) => r.experts === 4 && r.label.startsWith('SmolLM2'));
    report.pack = { rows, growth: two && four ? { label: four.label, perExtraExpertBytes: (four.rssMinusOutputBytes - two.rssMinusOutputBytes) / 2, rssMinusOutput2: two.rssMinusOutputBytes, rssMinusOutput4: four.rssMinusOutputBytes } : null };
    if (o.packLayers < 30) notes.push(`pack: the SmolLM2-135M-shaped synthetic checkpoints have ${o.packLayers} of 30 layers (with the full [49152, 576] embedding); the default is the whole model.`);
  }

  console.log(flush(true));
  return 0;
}

const isMain = process.argv[1] && /bench[/\\]main\.ts$/.test(process.argv[1]);
if (isMain) {
  benchMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e instanceof Error ? (e.stack ?? e.message) : e);
      process.exit(1);
    },
  );
}
