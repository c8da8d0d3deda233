// Only the EngineClient facade (engineClient.ts) talks to the engine worker: no other file in src/ui
// builds a protocol request or calls postMessage. (Which files src/ui may import is checked by
// dependency-cruiser: .dependency-cruiser.cjs, src/layering.test.ts.)
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const UI = resolve(import.meta.dirname, '.');
const SRC = resolve(UI, '..');
const FACADE = 'engineClient.ts';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return /\.tsx?$/.test(d.name) && !/\.test\.tsx?$/.test(d.name) ? [p] : [];
  });
}

const files = sources(UI).map((p) => ({ path: relative(UI, p), text: readFileSync(p, 'utf8') }));

/** The request types of the protocol, read from protocol.ts's WorkerRequestBody union. */
function requestTypes(): string[] {
  const text = readFileSync(join(SRC, 'worker', 'protocol.ts'), 'utf8');
  const body = /export type WorkerRequestBody =([\s\S]*?);\n/.exec(text)?.[1] ?? '';
  return [...body.matchAll(/type: '([a-z-]+)'/g)].map((m) => m[1]!);
}

describe('src/ui reaches the worker only through EngineClient', () => {
  it('finds the UI sources and the protocol requests', () => {
    expect(files.map((f) => f.path)).toContain(FACADE);
    expect(files.map((f) => f.path)).toContain(join('components', 'StatusBar.tsx'));
    expect(requestTypes()).toEqual(expect.arrayContaining(['generate', 'cancel', 'memory', 'router-parameters']));
  });

  it('only the facade builds worker requests or posts to the worker', () => {
    const types = requestTypes();
    const bad: string[] = [];
    for (const f of files) {
      if (f.path === FACADE) continue;
      for (const t of types) if (new RegExp(`type:\\s*'${t}'`).test(f.text)) bad.push(`${f.path} builds a '${t}' request`);
      // offline.ts posts to the service worker (its own cache-urls message), not to the engine worker.
      if (f.path !== 'offline.ts' && /\.postMessage\(/.test(f.text)) bad.push(`${f.path} calls postMessage`);
      if (/engine\.worker/.test(f.text)) bad.push(`${f.path} refers to the engine worker`);
    }
    expect(bad).toEqual([]);
  });
});
