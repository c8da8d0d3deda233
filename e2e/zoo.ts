// What the e2e tests ask and expect, read from the zoo (models/): for every task, a test prompt
// that the fine-tuned expert answers correctly in the PyTorch reference fixtures.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ZOO = resolve(process.env.TWINMERGE_ZOO_DIR ?? 'models');

interface Generation {
  task: string;
  prompt: string;
  reference_answer: string;
  text: string;
  exact_match: boolean;
}

function generations(file: string): Generation[] {
  return (JSON.parse(readFileSync(join(ZOO, 'fixtures', file), 'utf8')) as { generations: Generation[] }).generations;
}

/** A prompt of `task` the given checkpoint answers correctly (shortest first: quicker on SwiftShader). */
export function solvedPrompt(task: string, fixture: string): { prompt: string; answer: string } {
  const ok = generations(fixture)
    .filter((g) => g.task === task && g.exact_match)
    .sort((a, b) => a.prompt.length - b.prompt.length);
  const g = ok[0];
  if (!g) throw new Error(`${fixture} has no correctly answered ${task} prompt`);
  return { prompt: g.prompt, answer: g.reference_answer };
}

export const BUNDLE_TASKS = ['add', 'reverse', 'sort', 'upper'] as const;

/** The demo "custom expert": the zoo's PEFT adapter, trained on the base. */
export function adapterFiles(task: string): { name: string; mimeType: string; buffer: Buffer }[] {
  const dir = join(ZOO, 'adapters', task);
  return [
    { name: 'adapter_config.json', mimeType: 'application/json', buffer: readFileSync(join(dir, 'adapter_config.json')) },
    { name: 'adapter_model.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(join(dir, 'adapter_model.safetensors')) },
    { name: 'examples.json', mimeType: 'application/json', buffer: readFileSync(join(ZOO, 'data', task, 'examples.json')) },
  ];
}

export function bundleFile(path: string): Buffer {
  return readFileSync(join(ZOO, 'bundle', path));
}
