// The typed messages between the UI thread and the engine worker. The UI imports only these types.
// Every request carries an id; the worker answers with zero or more events for that id (progress,
// routing, tokens) and then exactly one final message (a result or an error).
import type { BackendInfo, BackendPreference } from '../runtime/backendProbe.ts';
import type { LoadProgress } from '../runtime/bundleLoader.ts';
import type { Confidence } from '../core/router/index.ts';
import type { AddProgress, SessionExpert, SessionMemory, StoredFeatures } from '../runtime/twin/session.ts';

export type { AddProgress, Confidence, StoredFeatures };

export type { BackendInfo, BackendPreference };

/** Loading a bundle: the download stages, then what the worker does with the files. */
export interface EngineLoadProgress extends Omit<LoadProgress, 'stage'> {
  /** 'experts': the UI re-adding the user's own experts after a load (counts, not bytes). */
  stage: LoadProgress['stage'] | 'upload' | 'session' | 'tokenizer' | 'warmup' | 'experts';
}

export interface ChatTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface GenerationSettings {
  /** 0 = greedy. */
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  maxNewTokens: number;
  /** Softmax temperature of the router. */
  routingTemperature: number;
  /** Keep only the k most likely experts (renormalized); 0 = all. */
  routingTopK: number;
  seed: number;
  /** Generation ends before any of these strings (left out of the answer); finishReason 'stop'. */
  stop?: string[];
}

export const DEFAULT_SETTINGS: GenerationSettings = {
  temperature: 0,
  topK: 0,
  topP: 1,
  maxNewTokens: 100,
  routingTemperature: 1,
  routingTopK: 0,
  seed: 0,
};

/** Which weights answer: the per-message composition, one expert's own fine-tuned weights, or the shared merge alone. */
export type Variant = { kind: 'twin' } | { kind: 'expert'; expertId: string } | { kind: 'static' };

/** An expert as the UI sees it: the session's expert without its weights. */
export type ExpertInfo = Omit<SessionExpert, 'module' | 'cls' | 'fullWeightsFile'> & {
  /** This expert's own fine-tuned weights can answer (compare view, model `expert:<id>`): the bundle ships them, or base + adapter for a PEFT adapter. */
  hasFullWeights: boolean;
};

export interface Timings {
  routeMs: number;
  composeMs: number;
  /** From the request to the first generated token. */
  firstTokenMs: number;
  tokensPerSecond: number;
  promptTokens: number;
  generatedTokens: number;
}

export type MemoryReport = SessionMemory;

export interface BundleInfo {
  url: string;
  name: string;
  backend: BackendInfo;
  experts: ExpertInfo[];
  mergeMethod: string;
  lambda: number;
  memory: MemoryReport;
}

/** What opening a bundle would take, read from its manifest alone before anything else is downloaded. */
export interface BundleCheckInfo {
  url: string;
  backend: BackendInfo;
  createdBy: string;
  experts: number;
  model: { type: string; parameters: number; layers: number; hiddenSize: number; vocabSize: number };
  /** Every file, and what a load fetches (experts' full weights and D come later, on demand). */
  totalBytes: number;
  loadBytes: number;
  /** Estimated bytes a session holds: shared weights as stored, expert modules, composed weights (f16 where the GPU has shader-f16), the router's shared-only copy of them (small models), KV cache per token. */
  memory: { shared: number; experts: number; composed: number; routerCopy: number; kvPerToken: number };
  largestWeight: { name: string; bytes: number };
  /** The biggest buffer the GPU adapter allows (WebGPU), else null. */
  deviceBufferLimit: number | null;
  /** Why it cannot run on this device, in words, or null when it fits. */
  problem: string | null;
}

export interface DroppedFile {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
}

/** What dropped files turned out to be, already checked against the loaded bundle's shapes. */
/** What adding an expert took, and its example prompts' features to store with it. */
export interface AddedExpert {
  /** Whole add: inspection, features (unless reused), router training. */
  totalMs: number;
  trainMs: number;
  reusedFeatures: boolean;
  features: StoredFeatures;
  /** A checkpoint's module extraction (0 for other formats). */
  extractMs: number;
  /** A checkpoint's extracted module as a twinmerge expert file: store it instead of the checkpoint, and a reload re-adds it without extracting. */
  moduleFile?: DroppedFile;
}

export interface InspectedExpert {
  format: 'twinmerge' | 'peft' | 'checkpoint';
  rank: number;
  bytes: number;
  /** Suggestions from the files' metadata (the user may change them). */
  id: string;
  name: string;
  description: string;
  examplePrompts: string[];
  /** The weights the expert changes. */
  tensors: number;
  /** Shown with the expert before it is added (e.g. a PEFT flag that was ignored). */
  warnings: string[];
}

/**
 * The router as the worker holds it now (diagnostics): every parameter as plain numbers (exact: each
 * float32 converts to a double without loss) and the SHA-256 of all their bytes.
 */
export interface RouterParameters {
  inputSize: number;
  hidden: number[];
  numClasses: number;
  activation: string;
  /** SHA-256 (hex) of the float32 little-endian bytes of mean, std, then each layer's W and b, in that order. */
  sha256: string;
  mean: number[];
  std: number[];
  layers: { W: number[]; b: number[] }[];
}

export type WorkerRequestBody =
  | { type: 'probe'; preference: BackendPreference }
  | { type: 'load'; url: string; preference: BackendPreference } & LoadExtras
  /** Reads a bundle's manifest and measures it against this device; the loaded bundle is untouched. */
  | { type: 'check-bundle'; url: string; preference: BackendPreference }
  | { type: 'generate'; history: ChatTurn[]; settings: GenerationSettings; variant: Variant }
  | { type: 'cancel'; target: number }
  | { type: 'route'; text: string; settings: GenerationSettings }
  | { type: 'inspect-expert'; files: DroppedFile[] }
  /** `features`: from an earlier add of the same expert (a reload): reused when computed with the same model. */
  | { type: 'add-expert'; expertId: string; name: string; description: string; examplePrompts: string[]; files: DroppedFile[]; features?: StoredFeatures }
  | { type: 'remove-expert'; expertId: string }
  | { type: 'set-expert-enabled'; expertId: string; enabled: boolean }
  | { type: 'memory' }
  /** Diagnostics: the router's parameters (checks that removing an expert restores it exactly). */
  | { type: 'router-parameters' }
  /** Diagnostics: destroy the GPU device as if it were lost, to exercise recovery. */
  | { type: 'simulate-device-loss' };

export type WorkerRequest = WorkerRequestBody & { id: number };

/** Optional parts of a load. */
export interface LoadExtras {
  /** An absolute URL of the folder serving onnxruntime-web's wasm (default: the site's /ort/). */
  wasmPaths?: string;
  /** Also fetch D = shared − base now (else on the first dropped PEFT adapter): for restoring stored adapters. */
  withBaseDelta?: boolean;
}

export interface WorkerError {
  code: string;
  message: string;
  /** The file (and tensor) the problem is in, for bad input. */
  file?: string;
  tensor?: string;
}

export interface GenerationDone {
  text: string;
  finishReason: string;
  routing: Record<string, number>;
  /** Whether any enabled expert fits the message (absent: not judged, e.g. the static or expert variants). */
  confidence?: Confidence;
  /** Earlier turns left out so the prompt and the answer fit the model's positions. */
  droppedTurns: number;
  /** The generated token ids (the text is their decoding). */
  tokenIds: number[];
  timings: Timings;
  variant: Variant;
}

/** Non-final messages for a request. */
export type WorkerEvent =
  | { id: number; type: 'load-progress'; progress: EngineLoadProgress }
  | { id: number; type: 'routed'; routing: Record<string, number>; routeMs: number; composeMs: number; confidence?: Confidence }
  | { id: number; type: 'token'; textDelta: string }
  /** Adding an expert: a checkpoint's module extracted, then its example prompts run through the shared model. */
  | { id: number; type: 'add-progress'; progress: AddProgress };

/** Final messages, by request type. */
export interface FinalFor {
  probe: { type: 'probe-result'; backend: BackendInfo };
  load: { type: 'loaded'; bundle: BundleInfo };
  'check-bundle': { type: 'bundle-checked'; check: BundleCheckInfo };
  generate: { type: 'generated'; result: GenerationDone };
  cancel: { type: 'ok' };
  route: { type: 'routing'; routing: Record<string, number>; routeMs: number };
  'inspect-expert': { type: 'inspected'; expert: InspectedExpert };
  'add-expert': { type: 'experts'; experts: ExpertInfo[]; trainMs: number; added: AddedExpert };
  'remove-expert': { type: 'experts'; experts: ExpertInfo[]; trainMs: number };
  'set-expert-enabled': { type: 'experts'; experts: ExpertInfo[]; trainMs: number };
  memory: { type: 'memory-report'; memory: MemoryReport };
  'router-parameters': { type: 'router-snapshot'; router: RouterParameters };
  'simulate-device-loss': { type: 'ok' };
}

export type WorkerFinal = { [K in keyof FinalFor]: FinalFor[K] & { id: number } }[keyof FinalFor] | { id: number; type: 'error'; error: WorkerError };

/** Messages the worker sends on its own (id 0). */
export type WorkerNotice = { id: 0; type: 'notice'; level: 'info' | 'warning'; message: string; backend?: BackendInfo };

export type WorkerResponse = WorkerEvent | WorkerFinal | WorkerNotice;

// A Record, so that a final type added to FinalFor and left out here is a type error (the request would never end).
const FINAL: Record<WorkerFinal['type'], true> = { inspected: true, 'probe-result': true, loaded: true, 'bundle-checked': true, generated: true, ok: true, routing: true, experts: true, 'memory-report': true, 'router-snapshot': true, error: true };
export const FINAL_TYPES = new Set(Object.keys(FINAL) as WorkerFinal['type'][]);
