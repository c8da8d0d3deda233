// Files a user drops into the page → an exclusive module for the loaded bundle, or a clear error
// naming the file (and tensor). Two formats: our expert file (W.A / W.B / W.delta safetensors) and a
// PEFT LoRA adapter (adapter_config.json + adapter_model.safetensors), which was trained on the
// BASE model: it joins as E = s·B·A − D, D being the bundle's base delta (shared − base).
import { moduleFromTensors, type ExclusiveEntry, type ExclusiveModule } from '../../core/twin/index.ts';
import { importLora, parseAdapterConfig, subtractBaseDelta, type Factors } from '../../core/peft/index.ts';
import { decodeSafetensors, toFloat32, type Tensor } from '../../core/safetensors/index.ts';
import type { F32Tensor } from '../../core/tensor/tensor.ts';
import type { WeightInfo } from '../../model/llama.ts';

export interface DroppedFileData {
  name: string;
  bytes: Uint8Array;
}

export interface InspectedModule {
  format: 'twinmerge' | 'peft';
  rank: number;
  bytes: number;
  tensors: number;
  suggestions: { name: string; description: string; examplePrompts: string[] };
  /** The expert's module, checked against the model's shapes. */
  module: ExclusiveModule;
  /** Things the user should know that do not stop the import (e.g. a PEFT flag that was ignored). */
  warnings: string[];
}

/** A dropped file is unusable; the message names the file (and tensor). */
export class ExpertFileError extends Error {
  override readonly name = 'ExpertFileError';
  constructor(
    readonly file: string,
    readonly tensor: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

const PICKLE = /\.(bin|pt|pth|pkl|pickle|ckpt)$/i;
const text = new TextDecoder();

function fail(file: string, message: string, tensor?: string): never {
  throw new ExpertFileError(file, tensor, `${file}${tensor ? `, tensor ${tensor}` : ''}: ${message}`);
}

function decode(file: DroppedFileData) {
  try {
    return decodeSafetensors(file.bytes, { name: file.name });
  } catch (e) {
    // The codec's messages already name the file and tensor.
    throw new ExpertFileError(file.name, (e as { tensor?: string }).tensor, e instanceof Error ? e.message : String(e));
  }
}

function f32(file: string, tensors: ReadonlyMap<string, Tensor>): Map<string, F32Tensor> {
  const out = new Map<string, F32Tensor>();
  for (const [k, t] of tensors) {
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') fail(file, `dtype ${t.dtype}; expert weights must be F32, F16 or BF16`, k);
    out.set(k, { shape: t.shape, data: toFloat32(t) });
  }
  return out;
}

/** Example prompts from an examples file: a JSON array of strings, { prompts: [...] }, or text lines. */
function readExamples(f: DroppedFileData): { prompts: string[]; name?: string; description?: string } {
  const s = text.decode(f.bytes);
  if (/\.txt$/i.test(f.name)) return { prompts: s.split('\n').map((l) => l.trim()).filter(Boolean) };
  let v: unknown;
  try {
    v = JSON.parse(s);
  } catch (e) {
    fail(f.name, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const o = (Array.isArray(v) ? { prompts: v } : v) as { prompts?: unknown; name?: unknown; description?: unknown };
  if (!Array.isArray(o.prompts) || o.prompts.some((p) => typeof p !== 'string')) fail(f.name, 'expected a list of prompt strings, or { "prompts": [...] }');
  return { prompts: (o.prompts as string[]).filter(Boolean), ...(typeof o.name === 'string' ? { name: o.name } : {}), ...(typeof o.description === 'string' ? { description: o.description } : {}) };
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

export function inspectExpertFiles(files: readonly DroppedFileData[], weights: readonly WeightInfo[], baseDelta: ReadonlyMap<string, ExclusiveEntry>): InspectedModule {
  if (files.length === 0) fail('(no files)', 'nothing was dropped');
  const pickle = files.find((f) => PICKLE.test(f.name));
  if (pickle) fail(pickle.name, 'PyTorch pickle files are never loaded (they can run code). Convert it to .safetensors first (e.g. PEFT: save_pretrained(..., safe_serialization=True)).');
  const unknown = files.find((f) => !/\.(safetensors|json|txt)$/i.test(f.name));
  if (unknown) fail(unknown.name, 'unsupported file type: drop .safetensors weights, adapter_config.json, and optionally an examples .json/.txt');
  const config = files.find((f) => f.name === 'adapter_config.json');
  const weightsFiles = files.filter((f) => f.name.endsWith('.safetensors'));
  const exampleFile = files.find((f) => f !== config && /\.(json|txt)$/i.test(f.name));
  const examples = exampleFile ? readExamples(exampleFile) : { prompts: [] as string[] };
  const bytes = weightsFiles.reduce((s, f) => s + f.bytes.length, 0);
  const shapes = new Map(weights.map((w) => [w.name, w.shape]));

  if (config) {
    const st = weightsFiles.find((f) => f.name === 'adapter_model.safetensors') ?? (weightsFiles.length === 1 ? weightsFiles[0] : undefined);
    if (!st) fail('adapter_config.json', 'was dropped without its adapter_model.safetensors (drop both files together)');
    let cfg;
    try {
      cfg = parseAdapterConfig(text.decode(config.bytes), config.name);
    } catch (e) {
      fail(config.name, e instanceof Error ? e.message : String(e));
    }
    const { tensors, metadata } = decode(st);
    let imported;
    try {
      imported = importLora(cfg, f32(st.name, tensors), shapes);
    } catch (e) {
      fail(st.name, e instanceof Error ? e.message : String(e), (e as { key?: string }).key);
    }
    if (imported.modules.length === 0) fail(st.name, 'contains no LoRA modules (lora_A / lora_B pairs)');
    if (imported.replacements.size) fail(st.name, `replaces whole tensors (${[...imported.replacements.keys()].slice(0, 3).join(', ')}); only LoRA modules can join as an expert`);
    const entries = new Map<string, ExclusiveEntry>();
    const byWeight = new Map(imported.modules.map((m) => [m.weight, m]));
    for (const w of weights) {
      const m = byWeight.get(w.name);
      const d = baseDelta.get(w.name);
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
      bytes,
      tensors: imported.modules.length,
      suggestions: {
        name: examples.name ?? metadata.name ?? (typeof cfg.base_model_name_or_path === 'string' ? `LoRA adapter (r=${rank})` : 'LoRA adapter'),
        description: examples.description ?? metadata.description ?? `PEFT LoRA adapter, rank ${rank}, ${imported.modules.length} modules`,
        examplePrompts: examples.prompts.length ? examples.prompts : metaPrompts(metadata),
      },
      module: entries,
      warnings: imported.warnings,
    };
  }

  if (weightsFiles.length !== 1) fail(weightsFiles[1]?.name ?? files[0]!.name, weightsFiles.length ? 'drop one expert file at a time' : 'no .safetensors weights among the dropped files');
  const file = weightsFiles[0]!;
  const { tensors, metadata } = decode(file);
  if ([...tensors.keys()].some((k) => /\.lora_[AB]\b/.test(k))) fail(file.name, 'looks like a PEFT LoRA adapter: drop its adapter_config.json together with it');
  let entries: ExclusiveModule;
  try {
    entries = moduleFromTensors(f32(file.name, tensors), shapes);
  } catch (e) {
    fail(file.name, e instanceof Error ? e.message : String(e), (e as { tensor?: string }).tensor);
  }
  if (entries.size === 0) fail(file.name, 'contains no expert tensors (<weight>.A / .B / .delta)');
  const rank = Math.max(0, ...[...entries.values()].map((e) => (e.kind === 'lowrank' ? e.rank : 0)));
  return {
    format: 'twinmerge',
    rank,
    bytes,
    tensors: entries.size,
    suggestions: {
      name: examples.name ?? metadata.name ?? metadata.id ?? file.name.replace(/\.safetensors$/i, ''),
      description: examples.description ?? metadata.description ?? '',
      examplePrompts: examples.prompts.length ? examples.prompts : metaPrompts(metadata),
    },
    module: entries,
    warnings: [],
  };
}
