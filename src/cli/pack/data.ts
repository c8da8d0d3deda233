// pack.yaml's data files: JSONL {prompt, answer, history?} splits and example-prompt JSON. Errors
// name the file and line. `history` holds earlier turns of a multi-turn chat (the prompt is the last
// user turn; the router sees only the prompt, the model the whole chat).
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { PackInputError, readJson } from './sources.ts';

const Turn = z.object({ role: z.enum(['user', 'assistant']), content: z.string() }).strict();
const ExampleSchema = z.object({ prompt: z.string(), answer: z.string(), history: z.array(Turn).optional() });

export type ChatTurn = z.infer<typeof Turn>;
export type Example = z.infer<typeof ExampleSchema>;

function readLines(text: string, file: string): Example[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      let raw: unknown;
      try {
        raw = JSON.parse(l);
      } catch (e) {
        throw new PackInputError(file, undefined, `line ${i + 1}: not JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      const r = ExampleSchema.safeParse(raw);
      if (!r.success) throw new PackInputError(file, undefined, `line ${i + 1}: needs string "prompt" and "answer" (and optional "history" of {role, content} turns): ${r.error.issues.map((x) => `${x.path.join('.') || '(line)'}: ${x.message}`).join('; ')}`);
      const h = r.data.history;
      return { prompt: r.data.prompt, answer: r.data.answer, ...(h && h.length ? { history: h } : {}) };
    });
}

export async function readSplit(file: string): Promise<Example[]> {
  return readLines(await readFile(file, 'utf8').catch(() => { throw new PackInputError(file, undefined, 'cannot be read'); }), file);
}

export interface ExampleFile {
  prompts: string[];
  name?: string;
  description?: string;
}

export async function readExamples(file: string): Promise<ExampleFile> {
  const v = await readJson(file);
  const arr = Array.isArray(v) ? v : (v as { prompts?: unknown }).prompts;
  if (!Array.isArray(arr) || arr.length === 0 || arr.some((p) => typeof p !== 'string' || !p)) throw new PackInputError(file, undefined, 'needs a non-empty list of prompt strings (or { prompts: [...] })');
  const o = Array.isArray(v) ? {} : (v as { name?: unknown; description?: unknown });
  return { prompts: arr as string[], ...(typeof o.name === 'string' ? { name: o.name } : {}), ...(typeof o.description === 'string' ? { description: o.description } : {}) };
}
