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
