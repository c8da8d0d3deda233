// Public architectures the tests and benchmarks build random-weight models of (nothing is downloaded).

/** SmolLM2-135M's config.json: 30 layers, hidden 576, 9 heads / 3 KV heads, ffn 1536, vocab 49152, tied. */
export const SMOLLM2_135M_CONFIG = {
  model_type: 'llama',
  hidden_size: 576,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  intermediate_size: 1536,
  vocab_size: 49152,
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  rope_scaling: null,
  bos_token_id: 0,
  eos_token_id: 0,
} as const;

/** SmolLM2-360M's config.json: 32 layers, hidden 960, 15 heads / 5 KV heads, ffn 2560, vocab 49152, tied. */
export const SMOLLM2_360M_CONFIG = {
  ...SMOLLM2_135M_CONFIG,
  hidden_size: 960,
  num_hidden_layers: 32,
  num_attention_heads: 15,
  num_key_value_heads: 5,
  intermediate_size: 2560,
} as const;

/** Qwen2.5-0.5B's config.json: 24 layers, hidden 896, 14 heads / 2 KV heads, ffn 4864, vocab 151936, q/k/v biases, tied. */
export const QWEN2_5_0_5B_CONFIG = {
  model_type: 'qwen2',
  hidden_size: 896,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  intermediate_size: 4864,
  vocab_size: 151936,
  max_position_embeddings: 32768,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  hidden_act: 'silu',
  rope_scaling: null,
  bos_token_id: 151643,
  eos_token_id: 151643,
} as const;

/** The real shapes `twinmerge synth` makes random checkpoints of. */
export const KNOWN_SHAPES = {
  'smollm2-135m': SMOLLM2_135M_CONFIG,
  'smollm2-360m': SMOLLM2_360M_CONFIG,
  'qwen2.5-0.5b': QWEN2_5_0_5B_CONFIG,
} as const;
export type KnownShape = keyof typeof KNOWN_SHAPES;
