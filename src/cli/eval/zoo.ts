// The zoo `twinmerge eval` scores, read into memory from pack.yaml's checkpoints (PEFT adapters folded
// onto the base as pack does), and its EOS ids.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mergeEosIds } from '../../core/twin/index.ts';
import type { ModelSpec } from '../../model/config.ts';
import type { WeightInfo } from '../../model/llama.ts';
import type { Tokenizer } from '../../runtime/tokenizer.ts';
import type { PackConfig } from '../pack/config.ts';
import { foldLoraAdapter } from '../pack/lora.ts';
import { openBase, openExpert, readFinite, type WeightSource } from '../pack/sources.ts';
import type { Weights } from './runner.ts';

export interface Zoo {
  spec: ModelSpec;
  weights: WeightInfo[];
  base: Weights;
  experts: Weights[];
}

async function readAllWeights(src: WeightSource, weights: readonly WeightInfo[]): Promise<Weights> {
  const m: Weights = new Map();
  for (const w of weights) m.set(w.name, await readFinite(src, w.name));
  return m;
}

export async function loadZoo(pack: PackConfig): Promise<Zoo> {
  const base = await openBase(pack.base);
  const opened: WeightSource[] = [];
  try {
    const experts: Weights[] = [];
    for (const e of pack.experts) {
      const src = await openExpert(e.id, e.path, base, foldLoraAdapter);
      opened.push(src);
      experts.push(await readAllWeights(src, base.weights));
    }
    return { spec: base.spec, weights: base.weights, base: await readAllWeights(base, base.weights), experts };
  } finally {
    for (const s of opened) await s.close();
    await base.close();
  }
}

/** EOS ids as the app merges them: config.json's, generation_config.json's and the tokenizer's <|im_end|>. */
export async function eosIds(dir: string, spec: ModelSpec, tokenizer: Tokenizer): Promise<number[]> {
  const gen = await readFile(join(dir, 'generation_config.json'), 'utf8').then((t) => JSON.parse(t) as unknown, () => undefined);
  return mergeEosIds(spec.eosTokenIds, gen, [tokenizer.tokenId('<|im_end|>')]);
}
