import { describe, expect, it } from 'vitest';
import { Rng } from '../tensor/random.ts';
import type { F32Tensor } from '../tensor/tensor.ts';
import { foldLoraDense, importLora, isTargeted, matchPattern, moduleScaling, parseAdapterConfig, PeftError, subtractBaseDelta } from './index.ts';

const rng = new Rng(77);
const T = (shape: number[]): F32Tensor => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()) });
const P = 'base_model.model.';
const q = 'model.layers.0.self_attn.q_proj';
const v = 'model.layers.0.self_attn.v_proj';
const base = new Map<string, number[]>([
  [`${q}.weight`, [8, 6]],
  [`${v}.weight`, [4, 6]],
  ['model.layers.0.input_layernorm.weight', [6]],
  ['model.embed_tokens.weight', [10, 6]],
  ['lm_head.weight', [10, 6]],
]);

/** Dense reference: scale * B A (float64). */
function dense(B: F32Tensor, A: F32Tensor, scale: number): number[] {
  const [out, r] = B.shape as [number, number];
  const inn = A.shape[1]!;
  const o: number[] = [];
  for (let i = 0; i < out; i++) for (let j = 0; j < inn; j++) {
    let s = 0;
    for (let k = 0; k < r; k++) s += B.data[i * r + k]! * A.data[k * inn + j]!;
    o.push(scale * s);
  }
  return o;
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(tol);
}

describe('adapter_config.json', () => {
  it('parses with defaults and keeps unknown fields', () => {
    const c = parseAdapterConfig(JSON.stringify({ peft_type: 'LORA', r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], task_type: 'CAUSAL_LM' }));
    expect(c.use_rslora).toBe(false);
    expect(c.fan_in_fan_out).toBe(false);
    expect(c.rank_pattern).toEqual({});
    expect(c.bias).toBe('none');
    expect((c as Record<string, unknown>).task_type).toBe('CAUSAL_LM');
  });
  it('errors name the field; non-LoRA and DoRA refused', () => {
    expect(() => parseAdapterConfig({ peft_type: 'LORA', r: 0 })).toThrow(/adapter_config.json: r:/);
    expect(() => parseAdapterConfig({ peft_type: 'IA3', r: 8 })).toThrow(/only LORA/);
    expect(() => parseAdapterConfig({ peft_type: 'LORA', r: 8, use_dora: true })).toThrow(/DoRA/);
    expect(() => parseAdapterConfig('{nope')).toThrow(/not valid JSON/);
    try {
      parseAdapterConfig({ peft_type: 'LORA', r: 'x' });
    } catch (e) {
      expect(e).toBeInstanceOf(PeftError);
      expect((e as PeftError).code).toBe('bad_config');
    }
  });
  it("PEFT's pattern rule: regex matched at the end of the module name on a dot boundary; first key wins", () => {
    const pats = { q_proj: 4, 'layers\\.1\\..*': 2, 'self_attn.v_proj': 3 };
    expect(matchPattern(pats, q)).toBe(4);
    expect(matchPattern(pats, 'model.layers.1.self_attn.q_proj')).toBe(4); // first key in order
    expect(matchPattern(pats, 'model.layers.1.mlp.up_proj')).toBe(2);
    expect(matchPattern(pats, v)).toBe(3);
    expect(matchPattern(pats, 'model.layers.0.self_attn.xq_proj')).toBeUndefined(); // not on a dot boundary
    expect(matchPattern({ proj: 1 }, q)).toBeUndefined();
  });
  it('scaling: alpha/r, rsLoRA alpha/sqrt(r), rank_pattern and alpha_pattern', () => {
    const c = parseAdapterConfig({ peft_type: 'LORA', r: 8, lora_alpha: 16, rank_pattern: { v_proj: 4 }, alpha_pattern: { v_proj: 32 } });
    expect(moduleScaling(c, q)).toEqual({ rank: 8, alpha: 16, scale: 2 });
    expect(moduleScaling(c, v)).toEqual({ rank: 4, alpha: 32, scale: 8 });
    const rs = parseAdapterConfig({ peft_type: 'LORA', r: 16, lora_alpha: 8, use_rslora: true });
    expect(moduleScaling(rs, q).scale).toBe(2);
  });
  it('target_modules: list matches name or dotted suffix; string is a full-match regex', () => {
    expect(isTargeted(['q_proj'], q)).toBe(true);
    expect(isTargeted(['self_attn.q_proj'], q)).toBe(true);
    expect(isTargeted(['_proj'], q)).toBe(false);
    expect(isTargeted('.*\\.(q|v)_proj', v)).toBe(true);
    expect(isTargeted('(q|v)_proj', v)).toBe(false);
  });
});

describe('importLora', () => {
  const cfg = parseAdapterConfig({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'], rank_pattern: { v_proj: 3 } });
  const qA = T([2, 6]), qB = T([8, 2]), vA = T([3, 6]), vB = T([4, 3]);
  const tensors = new Map([
    [`${P}${q}.lora_A.weight`, qA],
    [`${P}${q}.lora_B.weight`, qB],
    [`${P}${v}.lora_A.default.weight`, vA],
    [`${P}${v}.lora_B.default.weight`, vB],
  ]);
  it('maps PEFT keys to HF names and folds scale * B A (per-module rank and scale)', () => {
    const { modules, replacements } = importLora(cfg, tensors, base);
    expect(replacements.size).toBe(0);
    expect(modules.map((m) => [m.weight, m.rank, m.scale])).toEqual([
      [`${q}.weight`, 2, 2],
      [`${v}.weight`, 3, 4 / 3],
    ]);
    expectClose(foldLoraDense(modules[0]!), dense(qB, qA, 2));
    expectClose(foldLoraDense(modules[1]!), dense(vB, vA, 4 / 3));
  });
  it('fan_in_fan_out: true is ignored for nn.Linear targets (as PEFT does), with a warning; never transposes', () => {
    const flagged = parseAdapterConfig({ peft_type: 'LORA', r: 2, lora_alpha: 4, target_modules: ['q_proj', 'v_proj'], rank_pattern: { v_proj: 3 }, fan_in_fan_out: true });
    expect(flagged.fan_in_fan_out).toBe(true);
    const plain = importLora(cfg, tensors, base);
    const withFlag = importLora(flagged, tensors, base);
    expect(plain.warnings).toEqual([]);
    expect(withFlag.warnings).toHaveLength(1);
    expect(withFlag.warnings[0]).toMatch(/fan_in_fan_out is true.*2 target modules are nn\.Linear.*ignored/);
    expect(withFlag.modules.map((m) => [m.weight, m.rows, m.cols, m.rank, m.scale])).toEqual(plain.modules.map((m) => [m.weight, m.rows, m.cols, m.rank, m.scale]));
    for (let k = 0; k < plain.modules.length; k++) expect(foldLoraDense(withFlag.modules[k]!)).toEqual(foldLoraDense(plain.modules[k]!));
    expectClose(foldLoraDense(withFlag.modules[0]!), dense(qB, qA, 2));
    // A square target (the case that used to be silently transposed): the delta is B A, not (B A)^T.
    const sq = 'model.layers.0.self_attn.o_proj';
    const sA = T([2, 6]), sB = T([6, 2]);
    const sqBase = new Map([[`${sq}.weight`, [6, 6]]]);
    const sqFlag = importLora(parseAdapterConfig({ peft_type: 'LORA', r: 2, lora_alpha: 2, fan_in_fan_out: true }), new Map([[`${P}${sq}.lora_A.weight`, sA], [`${P}${sq}.lora_B.weight`, sB]]), sqBase);
    expectClose(foldLoraDense(sqFlag.modules[0]!), dense(sB, sA, 1));
    expect(sqFlag.warnings[0]).toMatch(/1 target module is an nn\.Linear \(e\.g\. model\.layers\.0\.self_attn\.o_proj\)/);
    // A GPT-2 Conv1D-shaped base ([in, out]) is not this project's architecture: a shape error that says why.
    const conv = new Map([['h.0.attn.c_attn.weight', [6, 8]]]);
    const c1 = parseAdapterConfig({ peft_type: 'LORA', r: 2, lora_alpha: 2, fan_in_fan_out: true });
    expect(() => importLora(c1, new Map([[`${P}h.0.attn.c_attn.lora_A.weight`, qA], [`${P}h.0.attn.c_attn.lora_B.weight`, qB]]), conv)).toThrow(/base h\.0\.attn\.c_attn\.weight is \[6, 8\] \(fan_in_fan_out is ignored/);
  });
  it('embeddings transpose (lora_embedding_A [r, vocab], B [dim, r]); fan_in_fan_out does not warn for them', () => {
    const eA = T([2, 10]), eB = T([6, 2]);
    const emb = new Map([[`${P}model.embed_tokens.lora_embedding_A`, eA], [`${P}model.embed_tokens.lora_embedding_B`, eB]]);
    const ce = parseAdapterConfig({ peft_type: 'LORA', r: 2, lora_alpha: 2 });
    const em = importLora(ce, emb, base).modules[0]!;
    expect([em.rows, em.cols]).toEqual([10, 6]);
    const de = dense(eB, eA, 1); // [6, 10]
    const det: number[] = [];
    for (let j = 0; j < 10; j++) for (let i = 0; i < 6; i++) det.push(de[i * 10 + j]!);
    expectClose(foldLoraDense(em), det);
    const flagged = importLora(parseAdapterConfig({ peft_type: 'LORA', r: 2, lora_alpha: 2, fan_in_fan_out: true }), emb, base);
    expect(foldLoraDense(flagged.modules[0]!)).toEqual(foldLoraDense(em));
    expect(flagged.warnings).toEqual([]);
  });
  it('modules_to_save and trained biases come back as full replacement tensors', () => {
    const head = T([10, 6]);
    const { replacements } = importLora(cfg, new Map([...tensors, [`${P}lm_head.modules_to_save.default.weight`, head]]), base);
    expect(replacements.get('lm_head.weight')).toEqual(head);
  });
  it('typed errors naming the key', () => {
    const code = (f: () => unknown): [string, string] => {
      try {
        f();
      } catch (e) {
        return [(e as PeftError).code, (e as PeftError).key];
      }
      return ['none', ''];
    };
    const noB = new Map(tensors);
    noB.delete(`${P}${q}.lora_B.weight`);
    expect(code(() => importLora(cfg, noB, base))).toEqual(['missing_pair', `${P}${q}.lora_A.weight`]);
    const badRank = new Map(tensors);
    badRank.set(`${P}${q}.lora_B.weight`, T([8, 3]));
    expect(code(() => importLora(cfg, badRank, base))).toEqual(['rank_mismatch', `${P}${q}.lora_A.weight`]);
    const cfgRank = new Map(tensors);
    cfgRank.set(`${P}${q}.lora_A.weight`, T([3, 6]));
    cfgRank.set(`${P}${q}.lora_B.weight`, T([8, 3]));
    expect(() => importLora(cfg, cfgRank, base)).toThrow(/adapter_config.json says 2/);
    const absent = new Map([...tensors, [`${P}model.layers.0.mlp.gate_proj.lora_A.weight`, qA], [`${P}model.layers.0.mlp.gate_proj.lora_B.weight`, qB]]);
    const cAll = parseAdapterConfig({ peft_type: 'LORA', r: 2, lora_alpha: 4, rank_pattern: { v_proj: 3 } });
    expect(code(() => importLora(cAll, absent, base))).toEqual(['unknown_module', `${P}model.layers.0.mlp.gate_proj.lora_A.weight`]);
    const shape = new Map(tensors);
    shape.set(`${P}${q}.lora_A.weight`, T([2, 7]));
    expect(code(() => importLora(cfg, shape, base))).toEqual(['shape_mismatch', `${P}${q}.lora_A.weight`]);
    const tgt = parseAdapterConfig({ peft_type: 'LORA', r: 2, target_modules: ['q_proj', 'o_proj'] });
    expect(code(() => importLora(tgt, new Map(), base))).toEqual(['unknown_module', 'target_modules: o_proj']);
    expect(code(() => importLora(cfg, new Map([['base_model.model.foo.bar', T([1])]]), base))[0]).toBe('unknown_tensor');
    expect(code(() => importLora(cfg, new Map([[`${P}${q}.lora_magnitude_vector`, T([8])]]), base))[0]).toBe('unsupported');
  });
});

describe('adapter trained on the base joins a bundle: E = scale B A - D', () => {
  it('concatenated factors are exact', () => {
    const cfg = parseAdapterConfig({ peft_type: 'LORA', r: 2, lora_alpha: 4 });
    const A = T([2, 6]), B = T([8, 2]);
    const m = importLora(cfg, new Map([[`${P}${q}.lora_A.weight`, A], [`${P}${q}.lora_B.weight`, B]]), base).modules[0]!;
    const D = { rows: 8, cols: 6, rank: 3, B: T([8, 3]).data, A: T([3, 6]).data };
    const e = subtractBaseDelta(m, D);
    expect(e.rank).toBe(5);
    const want = foldLoraDense(m).map((x, i) => x - foldLoraDense(D)[i]!);
    expectClose(foldLoraDense(e), want);
    expect(subtractBaseDelta(m, undefined).rank).toBe(2);
    expect(() => subtractBaseDelta(m, { ...D, rows: 7 }, 'w')).toThrow(/w: base delta/);
  });
});
