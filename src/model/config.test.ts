import { describe, expect, it } from 'vitest';
import { parseModelConfig, ropeInvFreq, specToHFConfig } from './config.ts';
import { InvalidConfigError, UnsupportedModelError, WeightValidationError } from './errors.ts';
import { checkWeights, expectedTensors, parameterCount, validateWeights } from './llama.ts';
import { tinyConfig } from '../testing/tinyModel.ts';
import { SMOLLM2_135M_CONFIG } from './knownConfigs.ts';

const SMOLLM2_135M = SMOLLM2_135M_CONFIG;

describe('parseModelConfig', () => {
  it('reads a SmolLM2-135M config', () => {
    const s = parseModelConfig(SMOLLM2_135M);
    expect(s).toMatchObject({ family: 'llama', headDim: 64, numKvHeads: 3, tieWordEmbeddings: true, qkvBias: false, eosTokenIds: [0] });
    expect(parameterCount(s)).toBe(134515008); // SmolLM2-135M's published count
  });
  it('reads Qwen2 with biases and defaults', () => {
    const s = parseModelConfig({ ...tinyConfig({ model_type: 'qwen2', eos_token_id: [1, 2] }), rope_theta: undefined });
    expect(s).toMatchObject({ family: 'qwen2', qkvBias: true, oBias: false, ropeTheta: 10000, eosTokenIds: [1, 2] });
    expect(expectedTensors(s).filter((w) => w.role === 'bias')).toHaveLength(3 * 2);
  });
  it('round-trips through specToHFConfig', () => {
    const s = parseModelConfig(SMOLLM2_135M);
    expect(parseModelConfig(specToHFConfig(s))).toEqual(s);
  });
  it('rejects unknown architectures, listing the supported ones', () => {
    expect(() => parseModelConfig({ ...SMOLLM2_135M, model_type: 'gpt2' })).toThrow(UnsupportedModelError);
    expect(() => parseModelConfig({ ...SMOLLM2_135M, model_type: 'gpt2' })).toThrow(/supported: llama, qwen2/);
  });
  it('rejects unsupported options', () => {
    expect(() => parseModelConfig({ ...SMOLLM2_135M, hidden_act: 'gelu' })).toThrow(/hidden_act "gelu".*supported: silu/);
    expect(() => parseModelConfig({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'yarn', factor: 4 } })).toThrow(/rope_scaling type "yarn".*llama3/);
    expect(() => parseModelConfig({ ...SMOLLM2_135M, mlp_bias: true })).toThrow(UnsupportedModelError);
    expect(() => parseModelConfig({ ...tinyConfig({ model_type: 'qwen2' }), use_sliding_window: true })).toThrow(/sliding/);
  });
  it('rejects malformed configs with the field named', () => {
    expect(() => parseModelConfig({ ...SMOLLM2_135M, hidden_size: 'big' })).toThrow(InvalidConfigError);
    expect(() => parseModelConfig({ ...SMOLLM2_135M, hidden_size: 'big' })).toThrow(/hidden_size/);
    expect(() => parseModelConfig({ ...SMOLLM2_135M, num_key_value_heads: 4 })).toThrow(/not a multiple of num_key_value_heads/);
    expect(() => parseModelConfig(null)).toThrow(InvalidConfigError);
  });
  it('llama3 rope scaling keeps high frequencies and divides low ones', () => {
    const base = ropeInvFreq(parseModelConfig(SMOLLM2_135M));
    const scaled = ropeInvFreq(parseModelConfig({ ...SMOLLM2_135M, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }));
    expect(scaled[0]).toBe(base[0]);
    expect(scaled[31]).toBeCloseTo(base[31]! / 8, 12);
  });
});

describe('validateWeights', () => {
  const spec = parseModelConfig(tinyConfig({ tie_word_embeddings: false }));
  const good = () => new Map(expectedTensors(spec).map((w) => [w.name, { dtype: 'F32', shape: w.shape }]));

  it('accepts a matching checkpoint and ignores rotary inv_freq buffers', () => {
    const m = good();
    m.set('model.layers.0.self_attn.rotary_emb.inv_freq', { dtype: 'F32', shape: [8] });
    expect(validateWeights(spec, m)).toHaveLength(expectedTensors(spec).length);
  });
  it('names missing, extra, mis-shaped and unusable-dtype tensors', () => {
    const m = good();
    m.delete('model.layers.1.mlp.up_proj.weight');
    m.set('model.layers.0.self_attn.k_proj.weight', { dtype: 'F32', shape: [64, 64] });
    m.set('model.layers.0.mlp.gate_proj.weight', { dtype: 'I8', shape: [96, 64] });
    m.set('model.layers.2.mlp.up_proj.weight', { dtype: 'F32', shape: [96, 64] });
    const problems = checkWeights(spec, m);
    expect(problems).toEqual(
      expect.arrayContaining([
        { kind: 'missing', tensor: 'model.layers.1.mlp.up_proj.weight', expectedShape: [96, 64] },
        { kind: 'shape', tensor: 'model.layers.0.self_attn.k_proj.weight', expectedShape: [32, 64], foundShape: [64, 64] },
        { kind: 'dtype', tensor: 'model.layers.0.mlp.gate_proj.weight', foundDtype: 'I8', supportedDtypes: ['F32', 'F16', 'BF16'] },
        { kind: 'extra', tensor: 'model.layers.2.mlp.up_proj.weight', foundShape: [96, 64] },
      ]),
    );
    expect(problems).toHaveLength(4);
    let err: unknown;
    try {
      validateWeights(spec, m);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WeightValidationError);
    expect((err as Error).message).toMatch(/model\.layers\.0\.self_attn\.k_proj\.weight: expected shape \[32, 64\], found \[64, 64\]/);
  });
  it('a tied checkpoint may carry lm_head.weight; an untied one must', () => {
    const tied = parseModelConfig(tinyConfig());
    const m = new Map(expectedTensors(tied).map((w) => [w.name, { dtype: 'BF16', shape: w.shape }]));
    m.set('lm_head.weight', { dtype: 'BF16', shape: [61, 64] });
    expect(checkWeights(tied, m)).toEqual([]);
    const g = good();
    g.delete('lm_head.weight');
    expect(checkWeights(spec, g)).toEqual([{ kind: 'missing', tensor: 'lm_head.weight', expectedShape: [61, 64] }]);
  });
  it('mergeable = every 2-D weight; norms are not', () => {
    const ws = expectedTensors(spec);
    expect(ws.filter((w) => w.mergeable).every((w) => w.shape.length === 2)).toBe(true);
    expect(ws.filter((w) => !w.mergeable).every((w) => w.shape.length === 1)).toBe(true);
  });
});
