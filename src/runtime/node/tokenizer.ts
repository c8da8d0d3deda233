/** Node-only: load the tokenizer of a model directory (tokenizer.json + tokenizer_config.json). */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Tokenizer } from '../tokenizer.ts';

export function loadTokenizerDir(dir: string): Promise<Tokenizer> {
  const abs = resolve(dir);
  return Tokenizer.fromFiles((name) => readFile(join(abs, name), 'utf8'));
}
