/**
 * HF config.json → a typed, validated {@link ModelSpec} for the Llama / Qwen2 decoder family.
 *
 * Supported: model_type "llama" (also SmolLM, TinyLlama, Llama-3 style) and "qwen2"
 * (q/k/v biases), grouped-query attention, tied or untied LM head, head_dim given or derived,
 * rope_scaling none / "default" / "linear" / "llama3", hidden_act "silu".
 * Anything else is rejected with an {@link UnsupportedModelError} that lists what is supported.
 */
import { z } from 'zod';
import { InvalidConfigError, UnsupportedModelError } from './errors.ts';

export const SUPPORTED_MODEL_TYPES = ['llama', 'qwen2'] as const;
export type ModelFamily = (typeof SUPPORTED_MODEL_TYPES)[number];
export const SUPPORTED_ROPE_SCALING = ['none', 'default', 'linear', 'llama3'] as const;

/** How rotary inverse frequencies are scaled (everything here only changes inv_freq). */
export type RopeScaling =
  | { type: 'default' }
  | { type: 'linear'; factor: number }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

/** The architecture, everything the graph builder, the reference and the runtime need. */
export interface ModelSpec {
  family: ModelFamily;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  ropeTheta: number;
  rope: RopeScaling;
  rmsNormEps: number;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** q/k/v projections have biases (always for Qwen2; `attention_bias` for Llama). */
  qkvBias: boolean;
  /** o_proj has a bias (Llama with attention_bias=true). */
  oBias: boolean;
  bosTokenId: number | null;
  eosTokenIds: number[];
}

const tokenIds = z.union([z.number().int(), z.array(z.number().int())]).nullish();

const ropeScalingSchema = z
  .object({
    rope_type: z.string().optional(),
    type: z.string().optional(),
    factor: z.number().positive().optional(),
    low_freq_factor: z.number().optional(),
    high_freq_factor: z.number().optional(),
    original_max_position_embeddings: z.number().int().optional(),
  })
  .loose()
  .nullish();

const configSchema = z
  .object({
    model_type: z.string(),
    hidden_size: z.number().int().positive(),
    num_hidden_layers: z.number().int().positive(),
    num_attention_heads: z.number().int().positive(),
    num_key_value_heads: z.number().int().positive().nullish(),
    head_dim: z.number().int().positive().nullish(),
    intermediate_size: z.number().int().positive(),
    vocab_size: z.number().int().positive(),
    rope_theta: z.number().positive().optional(),
    rms_norm_eps: z.number().positive().optional(),
    max_position_embeddings: z.number().int().positive().optional(),
    tie_word_embeddings: z.boolean().optional(),
    attention_bias: z.boolean().optional(),
    mlp_bias: z.boolean().optional(),
    hidden_act: z.string().optional(),
    rope_scaling: ropeScalingSchema,
    use_sliding_window: z.boolean().optional(),
    partial_rotary_factor: z.number().optional(),
    bos_token_id: z.number().int().nullish(),
    eos_token_id: tokenIds,
  })
  .loose();

export type HFConfig = z.infer<typeof configSchema>;

function parseRopeScaling(raw: HFConfig['rope_scaling'], maxPos: number): RopeScaling {
  if (raw == null) return { type: 'default' };
  const kind = raw.rope_type ?? raw.type ?? 'default';
  switch (kind) {
    case 'default':
      return { type: 'default' };
    case 'linear':
      if (raw.factor === undefined) throw new InvalidConfigError('rope_scaling "linear" needs a factor');
      return { type: 'linear', factor: raw.factor };
    case 'llama3':
      return {
        type: 'llama3',
        factor: raw.factor ?? 8,
        lowFreqFactor: raw.low_freq_factor ?? 1,
        highFreqFactor: raw.high_freq_factor ?? 4,
        originalMaxPositionEmbeddings: raw.original_max_position_embeddings ?? maxPos,
      };
    default:
      throw new UnsupportedModelError(`rope_scaling type "${kind}" is not implemented`, [
        ...SUPPORTED_ROPE_SCALING,
      ]);
  }
}

/**
 * Validate a parsed config.json object and turn it into a {@link ModelSpec}.
 * @throws InvalidConfigError for malformed configs, UnsupportedModelError for valid configs of
 *   architectures/options this engine does not implement.
 */
export function parseModelConfig(json: unknown): ModelSpec {
  if (typeof json !== 'object' || json === null) {
    throw new InvalidConfigError('config.json must be a JSON object');
  }
  const mt = (json as { model_type?: unknown }).model_type;
  if (typeof mt === 'string' && !(SUPPORTED_MODEL_TYPES as readonly string[]).includes(mt)) {
    throw new UnsupportedModelError(`model_type "${mt}" is not supported`, [...SUPPORTED_MODEL_TYPES]);
  }
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) {
    throw new InvalidConfigError(
      'invalid config.json',
      parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
    );
  }
  const c = parsed.data;
  const family = c.model_type as ModelFamily;

  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') {
    throw new UnsupportedModelError(`hidden_act "${act}" is not supported`, ['silu']);
  }
  if (c.mlp_bias === true) {
    throw new UnsupportedModelError('mlp_bias=true is not supported', ['mlp_bias=false']);
  }
  if (family === 'qwen2' && c.use_sliding_window === true) {
    throw new UnsupportedModelError('Qwen2 use_sliding_window=true is not supported', [
      'use_sliding_window=false',
    ]);
  }
  if (c.partial_rotary_factor !== undefined && c.partial_rotary_factor !== 1) {
    throw new UnsupportedModelError('partial_rotary_factor != 1 is not supported', [
      'partial_rotary_factor=1',
    ]);
  }

  const numHeads = c.num_attention_heads;
  const numKvHeads = c.num_key_value_heads ?? numHeads;
  const issues: string[] = [];
  if (c.head_dim == null && c.hidden_size % numHeads !== 0) {
    issues.push(`hidden_size ${c.hidden_size} is not divisible by num_attention_heads ${numHeads}`);
  }
  const headDim = c.head_dim ?? Math.floor(c.hidden_size / numHeads);
  if (numHeads % numKvHeads !== 0) {
    issues.push(
      `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}`,
    );
  }
  if (headDim % 2 !== 0) issues.push(`head_dim ${headDim} must be even for rotary embeddings`);
  if (issues.length > 0) throw new InvalidConfigError('inconsistent config.json', issues);

  const maxPos = c.max_position_embeddings ?? (family === 'qwen2' ? 32768 : 2048);
  const eos = c.eos_token_id;
  return {
    family,
    hiddenSize: c.hidden_size,
    numLayers: c.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: c.intermediate_size,
    vocabSize: c.vocab_size,
    ropeTheta: c.rope_theta ?? 10000,
    rope: parseRopeScaling(c.rope_scaling, maxPos),
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    maxPositionEmbeddings: maxPos,
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    qkvBias: family === 'qwen2' ? true : (c.attention_bias ?? false),
    oBias: family === 'qwen2' ? false : (c.attention_bias ?? false),
    bosTokenId: c.bos_token_id ?? null,
    eosTokenIds: eos == null ? [] : Array.isArray(eos) ? eos : [eos],
  };
}

/** Rotary inverse frequencies (length headDim/2), float64, with the spec's scaling applied. */
export function ropeInvFreq(spec: ModelSpec): Float64Array {
  const half = spec.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(spec.ropeTheta, (2 * i) / spec.headDim);
  const r = spec.rope;
  if (r.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = inv[i]! / r.factor;
  } else if (r.type === 'llama3') {
    const lowWavelen = r.originalMaxPositionEmbeddings / r.lowFreqFactor;
    const highWavelen = r.originalMaxPositionEmbeddings / r.highFreqFactor;
    for (let i = 0; i < half; i++) {
      const f = inv[i]!;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) continue;
      if (wavelen > lowWavelen) {
        inv[i] = f / r.factor;
      } else {
        const smooth =
          (r.originalMaxPositionEmbeddings / wavelen - r.lowFreqFactor) /
          (r.highFreqFactor - r.lowFreqFactor);
        inv[i] = (1 - smooth) * (f / r.factor) + smooth * f;
      }
    }
  }
  return inv;
}

/** A config.json for a spec (the inverse of parseModelConfig, for exports and tests). */
export function specToHFConfig(spec: ModelSpec): Record<string, unknown> {
  const rope =
    spec.rope.type === 'default'
      ? null
      : spec.rope.type === 'linear'
        ? { rope_type: 'linear', factor: spec.rope.factor }
        : {
            rope_type: 'llama3',
            factor: spec.rope.factor,
            low_freq_factor: spec.rope.lowFreqFactor,
            high_freq_factor: spec.rope.highFreqFactor,
            original_max_position_embeddings: spec.rope.originalMaxPositionEmbeddings,
          };
  const eos = spec.eosTokenIds.length === 1 ? spec.eosTokenIds[0] : spec.eosTokenIds;
  return {
    architectures: [spec.family === 'qwen2' ? 'Qwen2ForCausalLM' : 'LlamaForCausalLM'],
    model_type: spec.family,
    hidden_size: spec.hiddenSize,
    num_hidden_layers: spec.numLayers,
    num_attention_heads: spec.numHeads,
    num_key_value_heads: spec.numKvHeads,
    head_dim: spec.headDim,
    intermediate_size: spec.intermediateSize,
    vocab_size: spec.vocabSize,
    rope_theta: spec.ropeTheta,
    rope_scaling: rope,
    rms_norm_eps: spec.rmsNormEps,
    max_position_embeddings: spec.maxPositionEmbeddings,
    tie_word_embeddings: spec.tieWordEmbeddings,
    ...(spec.family === 'llama' ? { attention_bias: spec.qkvBias, mlp_bias: false } : {}),
    hidden_act: 'silu',
    bos_token_id: spec.bosTokenId,
    eos_token_id: spec.eosTokenIds.length === 0 ? null : eos,
    torch_dtype: 'float32',
  };
}
