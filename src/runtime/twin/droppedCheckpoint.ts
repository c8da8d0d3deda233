// A fully fine-tuned HF checkpoint dropped into the page (config.json + model.safetensors, or
// model.safetensors.index.json + its shards) → checked against the loaded model FIRST (architecture,
// every tensor's name, shape and dtype: headers only), then, when the user adds it, its exclusive
// module extracted tensor by tensor with the bundle's rank policy (core/twin/extract.ts: the code
// `twinmerge extract` runs in Node). Errors name the file and tensor, in words first.
import { bytesSource, openSafetensors, openSharded, parseShardIndex, toFloat32, type TensorReader } from '../../core/safetensors/index.ts';
import { extractExpert, ExtractError, type ExtractSettings } from '../../core/twin/extract.ts';
import type { BuiltExpert } from '../../core/twin/factor.ts';
import { openCheckpoint, type Checkpoint } from '../../model/checkpoint.ts';
import { architectureDifferences } from '../../model/compatible.ts';
import { parseModelConfig, type ModelSpec } from '../../model/config.ts';
import { InvalidConfigError, UnsupportedModelError, WeightValidationError } from '../../model/errors.ts';
import type { WeightInfo } from '../../model/llama.ts';
import { ExpertFileError, fail, safetensorsProblem, type DroppedFileData } from './expertFileError.ts';

export interface CheckpointFiles {
  config: DroppedFileData;
  /** model.safetensors; with an index, the .safetensors files dropped (the shards it names are used). */
  weights: DroppedFileData[];
  index?: DroppedFileData;
}

export interface OpenedCheckpoint {
  checkpoint: Checkpoint;
  /** The dropped file holding a tensor (error messages). */
  fileOf(tensor: string): string;
  /** The weight files used (the shards, or the single file). */
  files: string[];
  /** Bytes of the weight files. */
  bytes: number;
}

export interface ExtractProgress {
  done: number;
  total: number;
  tensor: string;
  /** Estimated time left, from the elements done so far. */
  etaMs: number;
}

const text = new TextDecoder();
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** config.json, then the weights' headers, checked against the loaded model; nothing is read beyond headers. */
export async function openDroppedCheckpoint(files: CheckpointFiles, model: ModelSpec, weights: readonly WeightInfo[]): Promise<OpenedCheckpoint> {
  const cfgName = files.config.name;
  let configJson: unknown;
  try {
    configJson = JSON.parse(text.decode(files.config.bytes));
  } catch (e) {
    fail(cfgName, `${cfgName} is not valid JSON, so the checkpoint's model cannot be read.`, errorText(e));
  }
  let spec: ModelSpec;
  try {
    spec = parseModelConfig(configJson);
  } catch (e) {
    if (e instanceof UnsupportedModelError) fail(cfgName, `${cfgName} describes a model this app cannot run.`, errorText(e));
    if (e instanceof InvalidConfigError) fail(cfgName, `${cfgName} is not a complete model config.`, errorText(e));
    throw e;
  }
  const diff = architectureDifferences(spec, model);
  if (diff.length) fail(cfgName, `${cfgName} describes a different model than the one loaded: the checkpoint was not fine-tuned from it.`, diff.join('; '));

  let reader: TensorReader;
  let fileOf: (tensor: string) => string;
  let used: DroppedFileData[];
  if (files.index) {
    const indexFile = files.index;
    let index;
    try {
      index = parseShardIndex(indexFile.bytes, indexFile.name);
    } catch (e) {
      fail(indexFile.name, `${indexFile.name} is not a valid shard index.`, errorText(e));
    }
    const byName = new Map(files.weights.map((f) => [f.name, f]));
    const missing = index.files.filter((f) => !byName.has(f));
    if (missing.length) fail(missing[0]!, `${indexFile.name} names ${missing.length === 1 ? 'a shard' : `${missing.length} shards`} that ${missing.length === 1 ? 'was' : 'were'} not dropped: ${missing.join(', ')}. Drop the whole checkpoint folder.`);
    used = index.files.map((f) => byName.get(f)!);
    try {
      const sharded = await openSharded(index, async (f) => bytesSource(byName.get(f)!.bytes), { name: indexFile.name });
      reader = sharded;
      fileOf = (t) => sharded.fileOf(t);
    } catch (e) {
      const f = byName.get((e as { file?: string }).file ?? '') ?? indexFile;
      throw safetensorsProblem(f, e);
    }
  } else {
    const single = files.weights[0]!;
    used = [single];
    try {
      reader = await openSafetensors(bytesSource(single.bytes), { name: single.name });
    } catch (e) {
      throw safetensorsProblem(single, e);
    }
    fileOf = () => single.name;
  }

  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(configJson, reader);
  } catch (e) {
    if (e instanceof WeightValidationError) {
      const p = e.problems[0]!;
      const file = p.kind === 'missing' ? (files.index?.name ?? files.weights[0]!.name) : fileOf(p.tensor);
      fail(file, `${file} does not fit the model its ${cfgName} describes: ${problemWords(p)}.`, errorText(e), p.tensor);
    }
    throw e;
  }
  // Same architecture, so the same weights; checked anyway, since extraction trusts it.
  const have = new Map(checkpoint.weights.map((w) => [w.name, w]));
  for (const w of weights) {
    const c = have.get(w.name);
    if (!c || c.shape.join() !== w.shape.join()) fail(c ? fileOf(w.name) : cfgName, `The checkpoint's ${w.name} does not fit the loaded model.`, c ? `shape [${c.shape}], the model's [${w.shape}]` : 'missing', w.name);
  }
  return { checkpoint, fileOf, files: used.map((f) => f.name), bytes: used.reduce((s, f) => s + f.bytes.length, 0) };
}

function problemWords(p: WeightValidationError['problems'][number]): string {
  if (p.kind === 'missing') return `it has no ${p.tensor}`;
  if (p.kind === 'extra') return `it has a tensor the model does not use (${p.tensor})`;
  if (p.kind === 'shape') return `${p.tensor} has shape [${p.foundShape.join(', ')}] where the model needs [${p.expectedShape.join(', ')}]`;
  return `${p.tensor} is stored as ${p.foundDtype}, which this app cannot read`;
}

/**
 * The checkpoint's exclusive module against the bundle's shared weights (`readShared`: dequantized,
 * checkpoint layout), tensor by tensor with progress. A NaN or infinite weight stops it, naming the
 * file and tensor.
 */
export async function extractDroppedCheckpoint(
  id: string,
  opened: OpenedCheckpoint,
  weights: readonly WeightInfo[],
  readShared: (name: string) => Promise<Float32Array>,
  settings: ExtractSettings,
  onProgress: (p: ExtractProgress) => void = () => {},
): Promise<BuiltExpert> {
  const t0 = performance.now();
  const numel = (w: { shape: readonly number[] }) => w.shape.reduce((a, b) => a * b, 1);
  const totalElements = weights.reduce((s, w) => s + numel(w), 0);
  let doneElements = 0;
  try {
    return await extractExpert(
      id,
      {
        weights,
        readShared,
        readExpert: async (name) => {
          try {
            // F32 comes back as a view of the dropped file's bytes: copy it, since extraction writes into it.
            const t = await opened.checkpoint.reader.read(name);
            const f = toFloat32(t);
            return t.dtype === 'F32' ? f.slice() : f;
          } catch (e) {
            throw new ExpertFileError(opened.fileOf(name), name, `${opened.fileOf(name)} could not be read at ${name}.`, errorText(e));
          }
        },
      },
      settings,
      {
        onWeight: (done, total, w) => {
          doneElements += numel(w);
          const elapsed = performance.now() - t0;
          onProgress({ done, total, tensor: w.name, etaMs: doneElements > 0 ? (elapsed * (totalElements - doneElements)) / doneElements : 0 });
        },
      },
    );
  } catch (e) {
    if (e instanceof ExtractError) {
      const file = opened.fileOf(e.tensor);
      if (e.reason === 'non_finite') fail(file, `${file} contains invalid numbers (NaN or infinity) in ${e.tensor}.`, e.message, e.tensor);
      fail(file, `${file} does not fit the model at ${e.tensor}.`, e.message, e.tensor);
    }
    throw e;
  }
}
