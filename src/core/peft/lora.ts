// Folding a PEFT LoRA adapter into per-weight deltas in the base's HF names and orientation:
// Delta W = scale * B A ([out, r] x [r, in]); embeddings transpose. fan_in_fan_out is ignored (with a
// warning): it only applies to GPT-2 style Conv1D layers, and every target of a Llama/Qwen2 model is an
// nn.Linear, for which PEFT itself warns and sets the flag to false (peft/tuners/lora/layer.py dispatch_default).
import { firstNonFinite, nonFiniteMessage, shapeString, type F32Tensor } from '../tensor/tensor.ts';
import { isTargeted, moduleScaling, PeftError, type LoraConfig } from './config.ts';

/** One LoRA module, normalised: Delta W = B A in the base weight's own shape [rows, cols]. */
export interface LoraModule {
  /** Module name without PEFT's prefix, e.g. "model.layers.0.self_attn.q_proj". */
  readonly module: string;
  /** The base weight it changes, e.g. "model.layers.0.self_attn.q_proj.weight". */
  readonly weight: string;
  readonly rows: number;
  readonly cols: number;
  readonly rank: number;
  /** lora_alpha / r (or / sqrt(r) for rsLoRA), after rank_pattern / alpha_pattern. */
  readonly scale: number;
  /** [rows, rank], the scale folded in. */
  readonly B: Float32Array;
  /** [rank, cols]. */
  readonly A: Float32Array;
}

export interface LoraImport {
  readonly modules: LoraModule[];
  /** Full tensors the adapter replaces (modules_to_save, trained biases), by base name. */
  readonly replacements: Map<string, F32Tensor>;
  /** Things the import ignored or changed, for the caller to show (e.g. fan_in_fan_out on nn.Linear targets). */
  readonly warnings: string[];
}

const PREFIX = 'base_model.model.';
const LORA_KEY = /^(.+)\.(lora_A|lora_B|lora_embedding_A|lora_embedding_B)(?:\.default)?(?:\.weight)?$/;

function strip(key: string): string {
  return key.startsWith(PREFIX) ? key.slice(PREFIX.length) : key;
}

function checkFinite(key: string, t: F32Tensor): void {
  const i = firstNonFinite(t.data);
  if (i >= 0) throw new PeftError('non_finite', key, nonFiniteMessage(t.data, i));
}

/**
 * Reads an adapter's tensors (keys as PEFT saves them, values already float32) against the base's
 * tensor shapes (HF name -> shape). Every lora_A needs its lora_B; ranks must agree with each other
 * and with the config (rank_pattern included); every module must exist in the base with a matching
 * shape; config target_modules must match something in the base.
 *
 * `fan_in_fan_out: true` is ignored for the (nn.Linear) targets, as PEFT does: B A is used as is, never
 * transposed, and `warnings` says so. Only embeddings (lora_embedding_A/B) are transposed.
 */
export function importLora(config: LoraConfig, tensors: ReadonlyMap<string, F32Tensor>, baseShapes: ReadonlyMap<string, readonly number[]>): LoraImport {
  const pairs = new Map<string, { A?: [string, F32Tensor]; B?: [string, F32Tensor]; embedding: boolean }>();
  const replacements = new Map<string, F32Tensor>();
  if (config.target_modules !== undefined && config.target_modules !== null) {
    const baseModules = [...baseShapes.keys()].filter((n) => n.endsWith('.weight')).map((n) => n.slice(0, -'.weight'.length));
    const targets = typeof config.target_modules === 'string' ? [config.target_modules] : config.target_modules;
    for (const t of targets) {
      if (!baseModules.some((m) => isTargeted(typeof config.target_modules === 'string' ? t : [t], m)))
        throw new PeftError('unknown_module', `target_modules: ${t}`, 'matches no weight of the base model');
    }
  }
  for (const [key, t] of tensors) {
    if (/\.lora_magnitude_vector\b/.test(key)) throw new PeftError('unsupported', key, 'DoRA magnitude vectors are not supported');
    const m = LORA_KEY.exec(key);
    if (m) {
      const module = strip(m[1]!);
      const kind = m[2]!;
      const p = pairs.get(module) ?? { embedding: kind.startsWith('lora_embedding') };
      if (kind.endsWith('A')) p.A = [key, t];
      else p.B = [key, t];
      pairs.set(module, p);
      continue;
    }
    // Not a LoRA factor: a full tensor the adapter saves (modules_to_save, or a trained bias).
    const name = strip(key).replace(/\.modules_to_save(?:\.default)?(?=\.)/, '');
    const shape = baseShapes.get(name);
    if (!shape) throw new PeftError('unknown_tensor', key, `is neither a LoRA factor nor a weight of the base (looked for ${name})`);
    if (shape.length !== t.shape.length || shape.some((d, i) => d !== t.shape[i]))
      throw new PeftError('shape_mismatch', key, `shape ${shapeString(t.shape)} does not match the base's ${name} ${shapeString(shape)}`);
    checkFinite(key, t);
    replacements.set(name, { shape: [...t.shape], data: t.data });
  }
  const modules: LoraModule[] = [];
  for (const [module, p] of pairs) {
    if (!p.A) throw new PeftError('missing_pair', p.B![0], 'has no matching lora_A');
    if (!p.B) throw new PeftError('missing_pair', p.A[0], 'has no matching lora_B');
    const [aKey, A] = p.A;
    const [bKey, B] = p.B;
    if (A.shape.length !== 2 || B.shape.length !== 2) throw new PeftError('shape_mismatch', aKey, `lora_A ${shapeString(A.shape)} and lora_B ${shapeString(B.shape)} must be 2-D`);
    checkFinite(aKey, A);
    checkFinite(bKey, B);
    const [ra, inA] = A.shape as [number, number];
    const [outB, rb] = B.shape as [number, number];
    if (ra !== rb) throw new PeftError('rank_mismatch', aKey, `lora_A ${shapeString(A.shape)} has rank ${ra}, lora_B ${shapeString(B.shape)} has rank ${rb}`);
    const { rank, scale } = moduleScaling(config, module);
    if (ra !== rank) throw new PeftError('rank_mismatch', aKey, `rank ${ra}, but adapter_config.json says ${rank} for ${module} (r / rank_pattern)`);
    const weight = `${module}.weight`;
    const base = baseShapes.get(weight);
    if (!base) throw new PeftError('unknown_module', aKey, `targets ${weight}, which the base model does not have`);
    if (base.length !== 2) throw new PeftError('shape_mismatch', aKey, `base weight ${weight} is ${shapeString(base)}, not 2-D`);
    const [rows, cols] = base as [number, number];
    // Orientation: Linear: Delta = B A is [out, in] = base, whatever fan_in_fan_out says (PEFT sets it to
    // false for nn.Linear; only GPT-2's Conv1D, base [in, out], would need (B A)^T, and Llama/Qwen2 have
    // none). Embeddings (lora_embedding_A [r, vocab], B [dim, r], base [vocab, dim]): Delta = (B A)^T.
    const transposed = p.embedding;
    const want = transposed ? [inA, outB] : [outB, inA];
    if (want[0] !== rows || want[1] !== cols) {
      const hint = !transposed && config.fan_in_fan_out ? ' (fan_in_fan_out is ignored: the targets of a Llama/Qwen2 model are nn.Linear, [out, in])' : '';
      throw new PeftError('shape_mismatch', aKey, `B A gives ${shapeString(want)}${transposed ? ' (transposed)' : ''}, base ${weight} is ${shapeString(base)}${hint}`);
    }
    let Bf: Float32Array, Af: Float32Array;
    if (!transposed) {
      Bf = new Float32Array(B.data.length);
      for (let i = 0; i < Bf.length; i++) Bf[i] = B.data[i]! * scale;
      Af = A.data;
    } else {
      // (B A)^T = A^T B^T: new B = scale * A^T [in, r], new A = B^T [r, out]
      Bf = new Float32Array(inA * ra);
      for (let k = 0; k < ra; k++) for (let j = 0; j < inA; j++) Bf[j * ra + k] = A.data[k * inA + j]! * scale;
      Af = new Float32Array(ra * outB);
      for (let i = 0; i < outB; i++) for (let k = 0; k < ra; k++) Af[k * outB + i] = B.data[i * ra + k]!;
    }
    if (config.target_modules != null && !isTargeted(config.target_modules, module)) {
      throw new PeftError('unknown_module', aKey, `module ${module} is not in adapter_config.json target_modules`);
    }
    modules.push({ module, weight, rows, cols, rank: ra, scale, B: Bf, A: Af });
  }
  modules.sort((x, y) => (x.weight < y.weight ? -1 : x.weight > y.weight ? 1 : 0));
  const warnings: string[] = [];
  const linear = modules.filter((m) => !pairs.get(m.module)!.embedding);
  if (config.fan_in_fan_out && linear.length) {
    warnings.push(
      `adapter_config.json: fan_in_fan_out is true, but its ${linear.length} target module${linear.length === 1 ? ' is an' : 's are'} nn.Linear ` +
        `(e.g. ${linear[0]!.module}); as PEFT does, the flag is ignored for them (it applies only to GPT-2 style Conv1D layers) and B A is not transposed`,
    );
  }
  return { modules, replacements, warnings };
}

/** Dense Delta W = B A (scale already in B), [rows, cols] float32 (accumulated in float64). */
export function foldLoraDense(m: Pick<LoraModule, 'rows' | 'cols' | 'rank' | 'A' | 'B'>): Float32Array {
  const { rows, cols, rank, A, B } = m;
  const out = new Float32Array(rows * cols);
  const acc = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    acc.fill(0);
    for (let k = 0; k < rank; k++) {
      const b = B[i * rank + k]!;
      if (b === 0) continue;
      const o = k * cols;
      for (let j = 0; j < cols; j++) acc[j] = acc[j]! + b * A[o + j]!;
    }
    out.set(acc, i * cols);
  }
  return out;
}

/** A factored base delta D = D_B D_A (the bundle's base_delta file: W.B [rows, rd], W.A [rd, cols]). */
export interface Factors {
  readonly rows: number;
  readonly cols: number;
  readonly rank: number;
  readonly B: Float32Array;
  readonly A: Float32Array;
}

/**
 * An adapter trained on the base joins a bundle whose shared weights are theta_0 + D: its exclusive
 * module is E = B A - D (B already scaled), exactly, as the concatenated factors
 * B' = [B, -D_B] ([rows, r + rd]) and A' = [A; D_A] ([r + rd, cols]).
 */
export function subtractBaseDelta(m: Factors, d: Factors | undefined, name = '<weight>'): Factors {
  if (!d || d.rank === 0) return { rows: m.rows, cols: m.cols, rank: m.rank, B: m.B, A: m.A };
  if (d.rows !== m.rows || d.cols !== m.cols) throw new PeftError('shape_mismatch', name, `base delta is [${d.rows}, ${d.cols}], adapter delta [${m.rows}, ${m.cols}]`);
  const r = m.rank + d.rank;
  const B = new Float32Array(m.rows * r);
  for (let i = 0; i < m.rows; i++) {
    for (let k = 0; k < m.rank; k++) B[i * r + k] = m.B[i * m.rank + k]!;
    for (let k = 0; k < d.rank; k++) B[i * r + m.rank + k] = -d.B[i * d.rank + k]!;
  }
  const A = new Float32Array(r * m.cols);
  A.set(m.A.subarray(0, m.rank * m.cols), 0);
  A.set(d.A.subarray(0, d.rank * d.cols), m.rank * m.cols);
  return { rows: m.rows, cols: m.cols, rank: r, B, A };
}
