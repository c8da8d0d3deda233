// adapter_config.json of a PEFT LoRA adapter (the fields that change the weights; others pass through).
import { z } from 'zod';

export type PeftErrorCode =
  | 'bad_config'
  | 'unsupported'
  | 'missing_pair'
  | 'rank_mismatch'
  | 'unknown_module'
  | 'shape_mismatch'
  | 'unknown_tensor'
  | 'non_finite';

export class PeftError extends Error {
  constructor(
    readonly code: PeftErrorCode,
    /** The tensor key, config field or module the error is about. */
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'PeftError';
  }
}

export const LoraConfigSchema = z.looseObject({
  peft_type: z.literal('LORA'),
  r: z.number().int().positive(),
  lora_alpha: z.number().finite().positive().default(8),
  /** A list of module names (matched as the whole name or its last dotted part(s)), or one regex (full match). */
  target_modules: z.union([z.array(z.string().min(1)), z.string().min(1)]).nullish(),
  use_rslora: z.boolean().default(false),
  rank_pattern: z.record(z.string(), z.number().int().positive()).nullish().transform((v) => v ?? {}),
  alpha_pattern: z.record(z.string(), z.number().finite().positive()).nullish().transform((v) => v ?? {}),
  fan_in_fan_out: z.boolean().default(false),
  modules_to_save: z.array(z.string().min(1)).nullish(),
  bias: z.enum(['none', 'all', 'lora_only']).default('none'),
  use_dora: z.boolean().default(false),
  base_model_name_or_path: z.string().nullish(),
});

export type LoraConfig = z.infer<typeof LoraConfigSchema>;

/** Parses adapter_config.json (text or parsed JSON); errors name the field. */
export function parseAdapterConfig(input: unknown, file = 'adapter_config.json'): LoraConfig {
  let raw = input;
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input);
    } catch (e) {
      throw new PeftError('bad_config', file, `not valid JSON (${(e as Error).message})`);
    }
  }
  if (raw && typeof raw === 'object' && 'peft_type' in raw && (raw as { peft_type: unknown }).peft_type !== 'LORA') {
    throw new PeftError('unsupported', `${file}: peft_type`, `only LORA adapters are supported, got ${JSON.stringify((raw as { peft_type: unknown }).peft_type)}`);
  }
  const r = LoraConfigSchema.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new PeftError('bad_config', file, msg);
  }
  if (r.data.use_dora) throw new PeftError('unsupported', `${file}: use_dora`, 'DoRA adapters are not supported (their magnitude vector is not a low-rank delta)');
  return r.data;
}

/**
 * PEFT's pattern rule for rank_pattern / alpha_pattern: the first key (in insertion order) that,
 * read as a regular expression, matches the END of the module name at a dot boundary, i.e.
 * /^(.*\.)?(KEY)$/ - so "q_proj" matches "model.layers.0.self_attn.q_proj" and
 * "layers.0.self_attn.q_proj" matches it too, but "proj" does not.
 */
export function matchPattern(patterns: Readonly<Record<string, number>>, moduleName: string): number | undefined {
  for (const key of Object.keys(patterns)) {
    let re: RegExp;
    try {
      re = new RegExp(`^(?:.*\\.)?(?:${key})$`);
    } catch {
      throw new PeftError('bad_config', `pattern ${JSON.stringify(key)}`, 'is not a valid regular expression');
    }
    if (re.test(moduleName)) return patterns[key];
  }
  return undefined;
}

/** Whether PEFT would target this module: list entries match the full name or its suffix after a dot; a string is a full-match regex. */
export function isTargeted(target: LoraConfig['target_modules'], moduleName: string): boolean {
  if (target === undefined || target === null) return true;
  if (typeof target === 'string') {
    if (target === 'all-linear') return true;
    return new RegExp(`^(?:${target})$`).test(moduleName);
  }
  return target.some((t) => moduleName === t || moduleName.endsWith(`.${t}`));
}

/** Rank, alpha and scaling of one module: alpha/r, or alpha/sqrt(r) with rsLoRA. */
export function moduleScaling(config: LoraConfig, moduleName: string): { rank: number; alpha: number; scale: number } {
  const rank = matchPattern(config.rank_pattern, moduleName) ?? config.r;
  const alpha = matchPattern(config.alpha_pattern, moduleName) ?? config.lora_alpha;
  const scale = config.use_rslora ? alpha / Math.sqrt(rank) : alpha / rank;
  return { rank, alpha, scale };
}
