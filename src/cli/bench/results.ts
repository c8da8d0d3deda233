// What the benchmark page (e2e/harness/bench.ts, run in Chromium) returns to its Node driver
// (browser.ts): the contract between the two, types only. It lives here, on the Node side, because
// src/ never imports from e2e/ (docs/architecture.md); the page imports these types from here.

export interface CopyResult {
  bytes: number;
  ms: number;
  /** (read + write bytes) / time, GB/s. */
  gbPerS: number;
}

export interface ComposerBenchResult {
  label: string;
  adapter: string;
  weights: number;
  elements: number;
  experts: number;
  rank: number;
  sharedDtype: string;
  layersRun: number;
  layersFull: number;
  /** Multiply a time by this to estimate the full model (by composed elements). */
  fullModelScale: number;
  flops: number;
  bytesMoved: number;
  iters: number;
  /** The kernel the app uses on this adapter; composeMs is its time. */
  kernel: 'tiled' | 'flat';
  composeMs: number;
  composeMsAll: number[];
  byKernel: { kernel: 'tiled' | 'flat'; composeMs: number }[];
  /** The app's kernel when one of the experts' weights moves and the rest stay: an in-place update (composePlan.ts). */
  oneExpertMovedMs: number | null;
  ortMatMulMs: number | null;
  ortMatMulAddMs: number | null;
  ortOutputsPreallocated: boolean | null;
  copy: CopyResult;
  setupMs: number;
}

export interface OverheadResult {
  adapter: string;
  backend: string;
  messages: {
    expert: string;
    routeMs: number;
    composeMs: number;
    firstTokenMs: number;
    promptTokens: number;
    generatedTokens: number;
    tokensPerSecond: number;
    top: string;
  }[];
  /** The page's first message (right after open; not in `messages`). */
  first: OverheadResult['messages'][number];
  openMs: number;
}

export interface DecodeResult {
  backend: string;
  promptTokens: number;
  decodeTokens: number;
  reps: number;
  /** Per round (both engines decoding in lockstep, one step each in turn): tokens/s over the round's steps, the median step ms, prefill ms. */
  composed: { decodeTokS: number[]; stepMs: number[]; prefillMs: number[] };
  static: { decodeTokS: number[]; stepMs: number[]; prefillMs: number[] };
  /** Per round: the median over its step pairs of static ms / composed ms. */
  stepRatio: number[];
  sameTokens: boolean;
  composeMs: number;
  /** WASM: building the session with the composed weights resident, once per composition (0 on WebGPU). */
  residentBuildMs: number;
}

export interface EngineBrowserResult {
  ep: 'webgpu' | 'wasm';
  impl: 'ours' | 'transformers.js';
  /** WebGPU adapter, or 'wasm (1 thread)'. */
  detail: string;
  promptTokens: number;
  decodeTokens: number;
  reps: number;
  prefillTokS: number[];
  decodeTokS: number[];
  /** Per rep: 1000 / the median ms between two generated tokens (one decode step without the run's stalls). */
  stepTokS?: number[];
  /** Greedy tokens generated after the prompt (last rep). */
  tokens: number[];
  setupMs: number;
}

/** `npm run check:gpu` (e2e/harness/checkgpu.ts): one session of the bundle with float16 or float32 composed weights. */
export interface GpuCheckRun {
  composed: 'float16' | 'float32';
  openMs: number;
  answers: { prompt: string; tokenIds: number[]; routing: Record<string, number>; composeMs: number; firstTokenMs: number; tokensPerSecond: number }[];
  memory: { shared: number; composed: number; experts: number };
}

/** One randomized SVD (a dropped checkpoint's matrix shape) with its products in WGSL and on onnxruntime-web's WASM MatMul. */
export interface GpuCheckSvd {
  rows: number;
  cols: number;
  rank: number;
  wgslMs: number;
  wasmMs: number;
  wasmThreads: number;
  /** Relative Frobenius distance of the two B A products. */
  productRelDiff: number;
}

export interface GpuCheck {
  adapter: { vendor: string; architecture: string; description: string; isFallback: boolean } | null;
  shaderF16: boolean;
  runs: GpuCheckRun[];
  svd: GpuCheckSvd[];
}

/** A full checkpoint added to an open session in the page (extract section): its module, factored in the worker's way. */
export interface ExtractBrowserResult {
  adapter: string;
  backend: string;
  /** Where the randomized SVD's products ran: WGSL on the device, or onnxruntime-web's WASM MatMul. */
  products: 'webgpu' | 'wasm';
  openMs: number;
  /** Factoring the checkpoint against the shared weights (TwinSession's extractMs). */
  extractMs: number;
  /** The whole add: inspection, extraction, example prompts through the model, router training. */
  addMs: number;
  /** The module file the page would store, base64. */
  moduleBase64: string;
}
