/** Node-only: load the tokenizer of a model directory (tokenizer.json + tokenizer_config.json). */
import { basename, dirname, resolve } from 'node:path';
import { Tokenizer } from '../tokenizer.ts';

export function loadTokenizerDir(dir: string): Promise<Tokenizer> {
  const abs = resolve(dir);
  return Tokenizer.load({ localModelPath: dirname(abs), modelId: basename(abs) });
}
