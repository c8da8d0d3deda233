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

const solvedCache = new Map<string, { prompt: string; answer: string }>();
const topOf = (routing: Record<string, number>): string | undefined => Object.entries(routing).sort((a, b) => b[1] - a[1])[0]?.[0];
type ChatTurn = { role: 'user' | 'assistant'; content: string };
type Ask = (prompt: string, history: ChatTurn[]) => Promise<{ text: string; routing: Record<string, number> }>;
let bundleAsk: Promise<Ask> | undefined;

function nodeBundle(): Promise<Ask> {
  bundleAsk ??= (async () => {
    const [{ loadBundle }, { fileFetch, folderUrl }, { CpuComposer }, { createNodeEngine, loadNodeOrt }, { TwinSession }, { DEFAULT_SETTINGS }] = await Promise.all([
      import('../src/runtime/bundleLoader.ts'),
      import('../src/node/fileFetch.ts'),
      import('../src/runtime/composer/cpuComposer.ts'),
      import('../src/runtime/node/session.ts'),
      import('../src/runtime/twin/session.ts'),
      import('../src/worker/protocol.ts'),
    ]);
    const url = folderUrl(join(ZOO, 'bundle'));
    const bundle = await loadBundle(url, { fetch: fileFetch, only: (f) => !f.path.endsWith('.full.safetensors') });
    const ort = await loadNodeOrt('wasm');
    const session = await TwinSession.create({
      bundle,
      backend: { kind: 'wasm', reason: 'e2e reference', threads: 1 },
      createComposer: () => new CpuComposer(),
      createEngine: async (spec, graph) => ({ ort, engine: await createNodeEngine(spec, graph, { backend: 'wasm' }) }),
      fetchFile: async (path) => (await loadBundle(url, { fetch: fileFetch, only: (f) => f.path === path })).files.get(path)!,
    });
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
