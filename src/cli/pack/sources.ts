// Where pack reads weights from: the base checkpoint and each expert, a full HF checkpoint or a
// PEFT LoRA adapter folded onto the base. Every source is checked against the base's architecture
// before a single tensor is merged.
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { firstNonFinite, nonFiniteMessage } from '../../core/tensor/index.ts';
import type { ModelSpec } from '../../model/config.ts';
import type { WeightInfo } from '../../model/llama.ts';
import { openCheckpointDir } from '../../runtime/node/checkpoint.ts';

export interface WeightSource {
  readonly id: string;
  readonly path: string;
  readonly kind: 'full' | 'lora';
  /** HF-layout float32 data of one tensor (for LoRA: base + folded delta). */
  read(name: string): Promise<Float32Array>;
  close(): Promise<void>;
}

export class PackInputError extends Error {
  constructor(
    readonly file: string,
    readonly tensor: string | undefined,
    message: string,
  ) {
    super(`${file}${tensor ? ` (${tensor})` : ''}: ${message}`);
    this.name = 'PackInputError';
  }
}

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

/** The architecture fields that must agree between the base and every expert. */
const ARCH_KEYS: (keyof ModelSpec)[] = ['family', 'hiddenSize', 'intermediateSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'vocabSize', 'tieWordEmbeddings', 'qkvBias', 'ropeTheta', 'rmsNormEps'];

export function checkSameArchitecture(base: ModelSpec, other: ModelSpec, file: string): void {
  const diffs = ARCH_KEYS.filter((k) => JSON.stringify(base[k]) !== JSON.stringify(other[k])).map((k) => `${String(k)} ${JSON.stringify(other[k])} (base: ${JSON.stringify(base[k])})`);
  if (diffs.length) throw new PackInputError(file, undefined, `a different architecture than the base: ${diffs.join(', ')}`);
}

export interface BaseCheckpoint extends WeightSource {
  spec: ModelSpec;
  config: Record<string, unknown>;
  weights: WeightInfo[];
}

export async function openBase(path: string): Promise<BaseCheckpoint> {
  const ck = await openCheckpointDir(path).catch((e: unknown) => {
    throw new PackInputError(path, undefined, e instanceof Error ? e.message : String(e));
  });
  return { id: 'base', path, kind: 'full', spec: ck.spec, config: ck.config, weights: ck.weights, read: (n) => ck.read(n), close: () => ck.close() };
}

/** Folds a PEFT adapter onto the base; `warnings` (e.g. an ignored fan_in_fan_out) are also printed to stderr. */
export type LoraFolder = (adapterDir: string, base: BaseCheckpoint) => Promise<{ delta(name: string): Promise<Float32Array | undefined>; warnings?: readonly string[]; close(): Promise<void> }>;

/** Opens an expert: a full checkpoint folder, or (adapter_config.json present) a PEFT adapter via `foldLora`. */
export async function openExpert(id: string, path: string, base: BaseCheckpoint, foldLora: LoraFolder): Promise<WeightSource> {
  if (await exists(join(path, 'adapter_config.json'))) {
    const adapter = await foldLora(path, base);
    return {
      id,
      path,
      kind: 'lora',
      async read(name) {
        const w = await base.read(name);
        const d = await adapter.delta(name);
        if (!d) return w;
        const out = new Float32Array(w.length);
        for (let i = 0; i < w.length; i++) out[i] = w[i]! + d[i]!;
        return out;
      },
      close: () => adapter.close(),
    };
  }
  if (!(await exists(join(path, 'config.json')))) {
    throw new PackInputError(path, undefined, 'neither an HF checkpoint (config.json) nor a PEFT adapter (adapter_config.json)');
  }
  const ck = await openCheckpointDir(path).catch((e: unknown) => {
    throw new PackInputError(path, undefined, e instanceof Error ? e.message : String(e));
  });
  try {
    checkSameArchitecture(base.spec, ck.spec, join(path, 'config.json'));
  } catch (e) {
    await ck.close();
    throw e;
  }
  return { id, path, kind: 'full', read: (n) => ck.read(n), close: () => ck.close() };
}

/** Reads a tensor and refuses NaN/Inf, naming the file and tensor (the same check as `export`: core firstNonFinite). */
export async function readFinite(src: WeightSource, name: string): Promise<Float32Array> {
  const data = await src.read(name);
  const i = firstNonFinite(data);
  if (i >= 0) throw new PackInputError(src.path, name, nonFiniteMessage(data, i));
  return data;
}

export async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new PackInputError(path, undefined, `not readable JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}
