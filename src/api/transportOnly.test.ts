// Only the worker transport (src/api/engineClient.ts) talks to the engine worker: no other file of the
// API or the React app builds a protocol request or calls postMessage. (That src/ui imports the engine
// API and not the transport is checked by dependency-cruiser: .dependency-cruiser.cjs,
// src/layering.test.ts.)
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..');
const TRANSPORT = join('api', 'engineClient.ts');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sources(p);
    return /\.tsx?$/.test(d.name) && !/\.test\.tsx?$/.test(d.name) ? [p] : [];
  });
}

const files = [...sources(join(SRC, 'ui')), ...sources(join(SRC, 'api'))].map((p) => ({ path: relative(SRC, p), text: readFileSync(p, 'utf8') }));

/** The request types of the protocol, read from protocol.ts's WorkerRequestBody union. */
function requestTypes(): string[] {
  const text = readFileSync(join(SRC, 'worker', 'protocol.ts'), 'utf8');
  const body = /export type WorkerRequestBody =([\s\S]*?);\n/.exec(text)?.[1] ?? '';
  return [...body.matchAll(/type: '([a-z-]+)'/g)].map((m) => m[1]!);
}

describe('src/ui and src/api reach the worker only through the transport', () => {
  it('finds the UI sources and the protocol requests', () => {
    expect(files.map((f) => f.path)).toContain(TRANSPORT);
    expect(files.map((f) => f.path)).toContain(join('ui', 'components', 'StatusBar.tsx'));
    expect(files.map((f) => f.path)).toContain(join('api', 'engine.ts'));
    expect(requestTypes()).toEqual(expect.arrayContaining(['generate', 'cancel', 'memory', 'router-parameters']));
  });

  it('only the transport builds worker requests or posts to the worker', () => {
    const types = requestTypes();
    const bad: string[] = [];
    for (const f of files) {
      if (f.path === TRANSPORT) continue;
      for (const t of types) if (new RegExp(`type:\\s*'${t}'`).test(f.text)) bad.push(`${f.path} builds a '${t}' request`);
      // offline.ts posts to the service worker (its own cache-urls message), not to the engine worker.
      if (f.path !== join('ui', 'offline.ts') && /\.postMessage\(/.test(f.text)) bad.push(`${f.path} calls postMessage`);
      if (/engine\.worker/.test(f.text)) bad.push(`${f.path} refers to the engine worker`);
    }
    expect(bad).toEqual([]);
  });
});
