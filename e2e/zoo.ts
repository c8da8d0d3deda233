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

/**
 * A prompt of `task` that the fine-tuned expert answers correctly (its PyTorch fixture) *and* the
 * shipped bundle answers the same way when it runs in Node (TwinSession: CPU composer, onnxruntime
 * WASM, learned routing): Twin-Merging approximates each expert, so not every expert-solved prompt is
 * solved by the bundle (docs/results/eval.md). Shortest first; the app must then give this answer.
 */
export async function bundleSolvedPrompt(task: string, history: ChatTurn[] = [], fixture = `generations_expert_${task}.json`): Promise<{ prompt: string; answer: string }> {
  const key = `${task}|${fixture}|${JSON.stringify(history)}`;
  const hit = solvedCache.get(key);
  if (hit) return hit;
  const ask = await nodeBundle();
  const cands = generations(fixture)
    .filter((g) => g.task === task && g.exact_match)
    .sort((a, b) => a.prompt.length - b.prompt.length);
  for (const g of cands) {
    const r = await ask(g.prompt, history);
    if (r.text.trim() === g.reference_answer && topOf(r.routing) === task) {
      const out = { prompt: g.prompt, answer: g.reference_answer };
      solvedCache.set(key, out);
      return out;
    }
  }
  throw new Error(`the bundle in Node answers none of ${fixture}'s solved ${task} prompts as the expert does`);
}

/**
 * A prompt of the adapter's task that base + adapter answers correctly (its PyTorch fixture) and the
 * bundle with the adapter added (as the app adds a dropped one: example prompts → router) answers the
 * same way in Node. Call before the bundle-only helpers' session is needed elsewhere: it adds the
 * adapter to its own session.
 */
export async function adapterSolvedPrompt(task: string): Promise<{ prompt: string; answer: string }> {
  const key = `adapter|${task}`;
  const hit = solvedCache.get(key);
  if (hit) return hit;
  const session = await openNodeSession();
  const dir = join(ZOO, 'adapters', task);
  const files = ['adapter_config.json', 'adapter_model.safetensors'].map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));
  const ex = JSON.parse(readFileSync(join(ZOO, 'data', task, 'examples.json'), 'utf8')) as { prompts: string[]; name: string };
  await session.addExpert({ id: task, name: ex.name, description: '', examplePrompts: ex.prompts, files }, () => undefined);
  const { DEFAULT_SETTINGS } = await import('../src/worker/protocol.ts');
  try {
    for (const g of generations(`generations_base_adapter_${task}.json`).filter((x) => x.task === task && x.exact_match).sort((a, b) => a.prompt.length - b.prompt.length)) {
      const r = await session.generate([{ role: 'user', content: g.prompt }], DEFAULT_SETTINGS, { kind: 'twin' }, () => undefined, new AbortController().signal);
      if (r.text.trim() === g.reference_answer && topOf(r.routing) === task) {
        const out = { prompt: g.prompt, answer: g.reference_answer };
        solvedCache.set(key, out);
        return out;
      }
    }
  } finally {
    await session.dispose();
  }
  throw new Error(`the bundle + ${task} adapter in Node answers none of the fixture's solved ${task} prompts as base + adapter does`);
}

const solvedCache = new Map<string, { prompt: string; answer: string }>();
const topOf = (routing: Record<string, number>): string | undefined => Object.entries(routing).sort((a, b) => b[1] - a[1])[0]?.[0];
type ChatTurn = { role: 'user' | 'assistant'; content: string };
type Ask = (prompt: string, history: ChatTurn[]) => Promise<{ text: string; routing: Record<string, number> }>;
let bundleAsk: Promise<Ask> | undefined;

async function openNodeSession() {
  const { openNodeSession: open } = await import('../src/testing/nodeSession.ts');
  return open(join(ZOO, 'bundle'), 'e2e reference');
}

function nodeBundle(): Promise<Ask> {
  bundleAsk ??= (async () => {
    const { DEFAULT_SETTINGS } = await import('../src/worker/protocol.ts');
    const session = await openNodeSession();
    return async (prompt: string, history: ChatTurn[]) => {
      const r = await session.generate([...history, { role: 'user', content: prompt }], DEFAULT_SETTINGS, { kind: 'twin' }, () => undefined, new AbortController().signal);
      return { text: r.text, routing: r.routing };
    };
  })();
  return bundleAsk;
}

export const BUNDLE_TASKS = ['add', 'reverse', 'sort', 'upper', 'vowels', 'help'] as const;

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

/** The zoo's fully fine-tuned checkpoint of a task outside the bundle, as a dropped folder: config, weights, tokenizer and logs. */
export function checkpointFiles(task: string): { name: string; mimeType: string; buffer: Buffer }[] {
  const dir = join(ZOO, 'checkpoints', task);
  return ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'train_stats.json']
    .map((name) => ({ name, mimeType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream', buffer: readFileSync(join(dir, name)) }))
    .concat([{ name: 'examples.json', mimeType: 'application/json', buffer: readFileSync(join(ZOO, 'data', task, 'examples.json')) }]);
}

/**
 * What the bundle answers in Node (TwinSession, CPU composer) once the checkpoint is added as the app
 * adds a dropped one (module extracted in the session, router extended from examples.json), and its
 * routing: the reference for the app's answers to `prompts`.
 */
export async function checkpointAnswers(task: string, id: string, prompts: string[]): Promise<{ text: string; routing: Record<string, number> }[]> {
  const session = await openNodeSession();
  const files = checkpointFiles(task).map((f) => ({ name: f.name, bytes: new Uint8Array(f.buffer) }));
  const ex = JSON.parse(readFileSync(join(ZOO, 'data', task, 'examples.json'), 'utf8')) as { prompts: string[]; name: string };
  await session.addExpert({ id, name: ex.name, description: '', examplePrompts: ex.prompts, files }, () => undefined);
  const { DEFAULT_SETTINGS } = await import('../src/worker/protocol.ts');
  try {
    const out = [];
    for (const p of prompts) {
      const r = await session.generate([{ role: 'user', content: p }], DEFAULT_SETTINGS, { kind: 'twin' }, () => undefined, new AbortController().signal);
      out.push({ text: r.text, routing: r.routing });
    }
    return out;
  } finally {
    await session.dispose();
  }
}
