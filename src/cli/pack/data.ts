// pack.yaml's data files: JSONL {prompt, answer} splits and example-prompt JSON. Errors name the file and line.
import { readFile } from 'node:fs/promises';
import { PackInputError, readJson } from './sources.ts';

export interface Example {
  prompt: string;
  answer: string;
}

function readLines(text: string, file: string): Example[] {
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        const v = JSON.parse(l) as { prompt?: unknown; answer?: unknown };
        if (typeof v.prompt !== 'string' || typeof v.answer !== 'string') throw new Error('needs string "prompt" and "answer"');
        return { prompt: v.prompt, answer: v.answer };
      } catch (e) {
        throw new PackInputError(file, undefined, `line ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
      }
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
