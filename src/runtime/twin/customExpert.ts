// Files a user drops into the page → an exclusive module for the loaded bundle, or a clear error
// naming the file (and tensor). Three formats: our expert file (W.A / W.B / W.delta safetensors); a
// PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors), which was trained on the
// BASE model: it joins as E = s·B·A − D, D being the bundle's base delta (shared − base); and a fully
// fine-tuned HF checkpoint (config.json + model.safetensors or a sharded index), checked here and
// factored when added (droppedCheckpoint.ts).
import { denseAsFactors, moduleFromTensors, type ExclusiveEntry, type ExclusiveModule } from '../../core/twin/index.ts';
import { importLora, parseAdapterConfig, subtractBaseDelta, type Factors } from '../../core/peft/index.ts';
import { DEFAULT_INDEX_NAME, decodeSafetensors, toFloat32, type Tensor } from '../../core/safetensors/index.ts';
import type { F32Tensor } from '../../core/tensor/tensor.ts';
import type { ModelSpec } from '../../model/config.ts';
import type { WeightInfo } from '../../model/llama.ts';
import { openDroppedCheckpoint, type OpenedCheckpoint } from './droppedCheckpoint.ts';
import { ExpertFileError, fail, safetensorsProblem, type DroppedFileData } from './expertFileError.ts';

export { ExpertFileError, type DroppedFileData };

interface InspectedCommon {
  /** The module's rank (a checkpoint: the rank its module will have). */
  rank: number;
  /** Bytes of the dropped weights. */
  bytes: number;
  tensors: number;
  suggestions: { name: string; description: string; examplePrompts: string[] };
  /** Things the user should know that do not stop the import (e.g. a PEFT flag that was ignored). */
  warnings: string[];
}

export type InspectedModule = InspectedCommon &
  (
    | {
        format: 'twinmerge' | 'peft';
        /** The expert's module, checked against the model's shapes. */
        module: ExclusiveModule;
      }
    | {
        format: 'checkpoint';
        /** Checked against the model (headers); its module is extracted when the expert is added. */
        checkpoint: OpenedCheckpoint;
      }
  );

/** What inspection checks dropped files against. */
export interface InspectContext {
  /** The model's weights (graph inputs, checkpoint names and shapes). */
  weights: readonly WeightInfo[];
  /** D = shared − base, for adapters trained on the base. */
  baseDelta: ReadonlyMap<string, ExclusiveEntry>;
  /** The loaded model, for a checkpoint's config.json. */
  model: ModelSpec;
  /** The rank a checkpoint's module gets (the bundle's policy; shown before adding). */
  checkpointRank: number;
}

const PICKLE = /\.(bin|pt|pth|pkl|pickle|ckpt)$/i;
const text = new TextDecoder();

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

function decode(file: DroppedFileData) {
  try {
    return decodeSafetensors(file.bytes, { name: file.name });
  } catch (e) {
    throw safetensorsProblem(file, e);
  }
}

function f32(file: string, tensors: ReadonlyMap<string, Tensor>): Map<string, F32Tensor> {
  const out = new Map<string, F32Tensor>();
  for (const [k, t] of tensors) {
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') fail(file, `${file} stores its weights as ${t.dtype}; an expert's weights must be F32, F16 or BF16.`, `tensor ${k}: dtype ${t.dtype}`, k);
    out.set(k, { shape: t.shape, data: toFloat32(t) });
  }
  return out;
}

interface Examples {
  prompts: string[];
  name?: string;
  description?: string;
}

/** An examples file's content: a JSON list of strings or { prompts: [...] } (with an optional name and description). */
function examplesFromJson(v: unknown): Examples | null {
  const o = (Array.isArray(v) ? { prompts: v } : v) as { prompts?: unknown; name?: unknown; description?: unknown } | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.prompts) || o.prompts.some((p) => typeof p !== 'string')) return null;
  const prompts = (o.prompts as string[]).map((p) => p.trim()).filter(Boolean);
  if (prompts.length === 0) return null;
  return { prompts, ...(typeof o.name === 'string' ? { name: o.name } : {}), ...(typeof o.description === 'string' ? { description: o.description } : {}) };
}

function parseJson(f: DroppedFileData): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text.decode(f.bytes)) };
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
}

/** A file whose name says it holds example prompts (examples.json, prompts.txt, my_examples.json…). */
const NAMED_EXAMPLES = /example|prompt/i;

/** The dropped files sorted: what is read, and what is set aside (reported to the user, never an error). */
interface Sorted {
  config: DroppedFileData | undefined;
  /** A checkpoint's config.json and shard index. */
  modelConfig: DroppedFileData | undefined;
  index: DroppedFileData | undefined;
  weights: DroppedFileData[];
  pickles: DroppedFileData[];
  examples: { file: string; examples: Examples } | undefined;
  /** Names of the files that play no part (a README, training logs, other JSON, data sets…). */
  ignored: string[];
}

/**
 * Decides what each dropped file is, so that a whole adapter folder can be dropped at once:
 * adapter_config.json, the .safetensors weights and an examples file are read; everything else is
 * set aside. An examples file is decided by its content (a JSON list of prompt strings, or an
 * object with one under "prompts"), or, for .txt, by a name with "example" or "prompt" in it (one
 * prompt per line). A file named like an examples file that does not hold prompts is an error: the
 * user meant it.
 */
function sortFiles(files: readonly DroppedFileData[]): Sorted {
  const out: Sorted = { config: undefined, modelConfig: undefined, index: undefined, weights: [], pickles: [], examples: undefined, ignored: [] };
  const candidates: { file: string; examples: Examples }[] = [];
  for (const f of files) {
    const name = f.name;
    if (name.startsWith('.')) continue; // .DS_Store, .gitattributes: not worth a mention
    if (name === 'adapter_config.json' && !out.config) out.config = f;
    else if (name === 'config.json' && !out.modelConfig) out.modelConfig = f;
    else if (name === DEFAULT_INDEX_NAME && !out.index) out.index = f;
    else if (/\.safetensors$/i.test(name)) out.weights.push(f);
    else if (PICKLE.test(name)) out.pickles.push(f);
    else if (/\.json$/i.test(name) && name !== 'adapter_config.json') {
      const parsed = parseJson(f);
      const ex = parsed.ok ? examplesFromJson(parsed.value) : null;
      if (ex) candidates.push({ file: name, examples: ex });
      else if (NAMED_EXAMPLES.test(name))
        fail(name, `${name} does not hold example prompts: it should be a JSON list of prompt strings, or { "prompts": [...] }.`, parsed.ok ? undefined : `not valid JSON (${parsed.error})`);
      else out.ignored.push(name);
    } else if (/\.txt$/i.test(name) && NAMED_EXAMPLES.test(name)) {
      const prompts = text.decode(f.bytes).split('\n').map((l) => l.trim()).filter(Boolean);
      if (prompts.length === 0) fail(name, `${name} is empty: give one example prompt per line.`);
      candidates.push({ file: name, examples: { prompts } });
    } else out.ignored.push(name);
  }
  // Several files of prompts: the one named like an examples file wins; the others are set aside.
  const chosen = candidates.find((c) => NAMED_EXAMPLES.test(c.file)) ?? candidates[0];
  out.examples = chosen;
  for (const c of candidates) if (c !== chosen) out.ignored.push(c.file);
  return out;
}

/** The note shown with the expert when some dropped files were set aside. */
function ignoredNote(names: readonly string[]): string[] {
  if (names.length === 0) return [];
  const list = names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', ');
  return [`Not used: ${list} (only the adapter's or checkpoint's config, its .safetensors weights and a list of example prompts are read).`];
}

const PICKLE_SUMMARY = (name: string) =>
  `${name} is a PyTorch pickle file; pickle files are never loaded (they can run code). Convert it to .safetensors first (e.g. PEFT: save_pretrained(..., safe_serialization=True)).`;

/** A PEFT import error in plain words, the importer's message as the detail. */
function peftProblem(file: string, e: unknown): never {
  const code = (e as { code?: string }).code;
  const key = (e as { key?: string }).key;
  const detail = errorText(e);
  if (code === 'shape_mismatch' || code === 'unknown_module' || code === 'unknown_tensor') fail(file, `${file} was trained for a different model: its LoRA weights do not fit this model's shapes.`, detail, key);
  if (code === 'rank_mismatch' || code === 'missing_pair') fail(file, `${file} does not match its adapter_config.json (or is damaged).`, detail, key);
  if (code === 'non_finite') fail(file, `${file} contains invalid numbers (NaN or infinity).`, detail, key);
  fail(file, `${file} could not be read as a LoRA adapter.`, detail, key);
}

/** An expert-file error from the module builder in plain words, its message as the detail. */
function moduleProblem(file: string, e: unknown): never {
  const detail = errorText(e);
  const tensor = (e as { tensor?: string }).tensor;
  if (/not an exclusive-module tensor/.test(detail)) fail(file, `${file} is not a twinmerge expert file: its tensors are not named <weight>.A, <weight>.B or <weight>.delta.`, detail, tensor);
  if (/shape|the weight is|has no weight/.test(detail)) fail(file, `${file} was made for a different model: its weights do not fit this model's shapes.`, detail, tensor);
  if (/non-finite/.test(detail)) fail(file, `${file} contains invalid numbers (NaN or infinity).`, detail, tensor);
  fail(file, `${file} is not a usable expert file.`, detail, tensor);
}

function metaPrompts(meta: Record<string, string>): string[] {
  try {
    const v: unknown = JSON.parse(meta.examples ?? meta.example_prompts ?? '[]');
    return Array.isArray(v) ? v.filter((p): p is string => typeof p === 'string') : [];
  } catch {
    return [];
  }
}

/** Negated factors of D (the part of the shared model an adapter trained on the base never saw). */
function negate(d: ExclusiveEntry): ExclusiveEntry {
  if (d.kind === 'delta') return { ...d, delta: d.delta.map((v) => -v) };
  return { ...d, B: d.B.map((v) => -v) };
}

export async function inspectExpertFiles(files: readonly DroppedFileData[], ctx: InspectContext): Promise<InspectedModule> {
  const { weights, baseDelta } = ctx;
  if (files.length === 0) fail('(no files)', 'Nothing was dropped.');
  const sorted = sortFiles(files);
  const { config, pickles } = sorted;
  const examples = sorted.examples?.examples ?? { prompts: [] as string[] };
  const shapes = new Map(weights.map((w) => [w.name, w.shape]));
  const ignored = [...sorted.ignored];

  if (config) {
    const st = sorted.weights.find((f) => f.name === 'adapter_model.safetensors') ?? (sorted.weights.length === 1 ? sorted.weights[0] : undefined);
    if (!st) {
      const pickle = pickles[0];
      if (pickle) fail(pickle.name, PICKLE_SUMMARY(pickle.name));
      fail('adapter_config.json', sorted.weights.length ? 'adapter_config.json came with several .safetensors files and none is called adapter_model.safetensors: drop the adapter\'s own weights with it.' : 'adapter_config.json was dropped without its adapter_model.safetensors: drop both files together (or the whole adapter folder).');
    }
    for (const f of [...sorted.weights, ...pickles]) if (f !== st) ignored.push(f.name);
    let cfg;
    try {
      cfg = parseAdapterConfig(text.decode(config.bytes), config.name);
    } catch (e) {
      const code = (e as { code?: string }).code;
      fail(config.name, code === 'unsupported' ? `${config.name} describes an adapter this app cannot add (only LoRA adapters can join as an expert).` : `${config.name} is not a valid PEFT adapter config.`, errorText(e));
    }
    const { tensors, metadata } = decode(st);
    let imported;
    try {
      imported = importLora(cfg, f32(st.name, tensors), shapes);
    } catch (e) {
      if (e instanceof ExpertFileError) throw e;
      peftProblem(st.name, e);
    }
    if (imported.modules.length === 0) fail(st.name, `${st.name} contains no LoRA weights (lora_A / lora_B pairs).`);
    if (imported.replacements.size) fail(st.name, `${st.name} replaces whole weights of the model; only LoRA modules can join as an expert.`, `replaced: ${[...imported.replacements.keys()].slice(0, 3).join(', ')}`);
    const entries = new Map<string, ExclusiveEntry>();
    const byWeight = new Map(imported.modules.map((m) => [m.weight, m]));
    for (const w of weights) {
      const m = byWeight.get(w.name);
      const stored = baseDelta.get(w.name);
      // A matrix of D stored densely joins the adapter's factors as exact factors (rank min(rows, cols)).
      const d = stored?.kind === 'delta' && stored.shape.length === 2 ? denseAsFactors(stored) : stored;
      if (m) {
        const dF: Factors | undefined = d && d.kind === 'lowrank' ? { rows: d.rows, cols: d.cols, rank: d.rank, A: d.A, B: d.B } : undefined;
        const f = subtractBaseDelta({ rows: m.rows, cols: m.cols, rank: m.rank, A: m.A, B: m.B }, dF, w.name);
        entries.set(w.name, { kind: 'lowrank', name: w.name, rows: f.rows, cols: f.cols, rank: f.rank, A: f.A, B: f.B });
      } else if (d) {
        entries.set(w.name, negate(d));
      }
    }
    const rank = Math.max(...imported.modules.map((m) => m.rank));
    return {
      format: 'peft',
      rank,
      bytes: st.bytes.length,
      tensors: imported.modules.length,
      suggestions: {
        name: examples.name ?? metadata.name ?? (typeof cfg.base_model_name_or_path === 'string' ? `LoRA adapter (r=${rank})` : 'LoRA adapter'),
        description: examples.description ?? metadata.description ?? `PEFT LoRA adapter, rank ${rank}, ${imported.modules.length} modules`,
        examplePrompts: examples.prompts.length ? examples.prompts : metaPrompts(metadata),
      },
      module: entries,
      warnings: [...imported.warnings, ...ignoredNote(ignored)],
    };
  }

  // A config.json but no adapter_config.json: a fully fine-tuned checkpoint (or its shards).
  if (sorted.modelConfig) {
    const index = sorted.index;
    // With an index, openDroppedCheckpoint takes the shards it names from all the .safetensors dropped.
    let candidates = sorted.weights;
    if (!index) {
      const single = sorted.weights.find((f) => f.name === 'model.safetensors') ?? (sorted.weights.length === 1 ? sorted.weights[0] : undefined);
      if (!single) {
        const pickle = pickles[0];
        if (pickle) fail(pickle.name, PICKLE_SUMMARY(pickle.name));
        fail(sorted.modelConfig.name, sorted.weights.length ? 'config.json came with several .safetensors files but no model.safetensors or model.safetensors.index.json: drop the whole checkpoint folder.' : 'config.json was dropped without the model\'s weights (model.safetensors): drop the whole checkpoint folder.');
      }
      candidates = [single];
    }
    const opened = await openDroppedCheckpoint({ config: sorted.modelConfig, weights: candidates, ...(index ? { index } : {}) }, ctx.model, weights);
    for (const f of [...sorted.weights, ...pickles]) if (!opened.files.includes(f.name)) ignored.push(f.name);
    const family = opened.checkpoint.spec.family;
    return {
      format: 'checkpoint',
      rank: ctx.checkpointRank,
      bytes: opened.bytes,
      tensors: weights.length,
      suggestions: {
        name: examples.name ?? 'Fine-tuned checkpoint',
        description: examples.description ?? `Fully fine-tuned ${family} checkpoint; its exclusive module is extracted in the browser`,
        examplePrompts: examples.prompts,
      },
      checkpoint: opened,
      warnings: [`A full checkpoint: its exclusive module (rank ${ctx.checkpointRank}) is extracted when you add it, tensor by tensor.`, ...ignoredNote(ignored)],
    };
  }

  if (sorted.weights.length === 0) {
    const pickle = pickles[0];
    if (pickle) fail(pickle.name, PICKLE_SUMMARY(pickle.name));
    const names = files.map((f) => f.name);
    fail(names[0]!, `None of the dropped files is an expert: drop a twinmerge expert file (.safetensors) or a PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors).`, `dropped: ${names.slice(0, 12).join(', ')}${names.length > 12 ? ', …' : ''}`);
  }
  if (sorted.weights.length > 1) fail(sorted.weights[1]!.name, `${sorted.weights.length} .safetensors files were dropped: drop one expert file at a time (or a PEFT adapter with its adapter_config.json).`, `dropped: ${sorted.weights.map((f) => f.name).join(', ')}`);
  ignored.push(...pickles.map((f) => f.name));
  const file = sorted.weights[0]!;
  const { tensors, metadata } = decode(file);
  if ([...tensors.keys()].some((k) => /\.lora_[AB]\b/.test(k))) fail(file.name, `${file.name} looks like a PEFT LoRA adapter: drop its adapter_config.json together with it (or the whole adapter folder).`);
  let entries: ExclusiveModule;
  try {
    entries = moduleFromTensors(f32(file.name, tensors), shapes);
  } catch (e) {
    if (e instanceof ExpertFileError) throw e;
    moduleProblem(file.name, e);
  }
  if (entries.size === 0) fail(file.name, `${file.name} contains no expert weights (tensors named <weight>.A / .B / .delta).`);
  const rank = Math.max(0, ...[...entries.values()].map((e) => (e.kind === 'lowrank' ? e.rank : 0)));
  return {
    format: 'twinmerge',
    rank,
    bytes: file.bytes.length,
    tensors: entries.size,
    suggestions: {
      name: examples.name ?? metadata.name ?? metadata.id ?? file.name.replace(/\.safetensors$/i, ''),
      description: examples.description ?? metadata.description ?? '',
      examplePrompts: examples.prompts.length ? examples.prompts : metaPrompts(metadata),
    },
    module: entries,
    warnings: ignoredNote(ignored),
  };
}
