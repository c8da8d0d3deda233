// The layering rules (.dependency-cruiser.cjs, run on the real tree by `npm run lint:deps`) catch
// wrong-way imports: dependency-cruiser's API with the project's rules on a small fixture tree in a
// temporary folder, where every rule is broken once and a few allowed imports sit next to them.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const config = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as { forbidden: IForbiddenRuleType[] };

/** path → source. Comments say what each import is; "bad" ones must be reported, the rest not. */
const FIXTURE: Record<string, string> = {
  'src/core/a.ts': "import { u } from '../ui/u.ts'; // bad: core imports nothing else in src\nexport const a = u;\n",
  'src/core/c1.ts': "import { c2 } from './c2.ts'; // bad: a cycle\nexport const c1 = () => c2;\n",
  'src/core/c2.ts': "import { c1 } from './c1.ts';\nexport const c2 = () => c1;\n",
  'src/core/ok.ts': 'export const ok = 1;\n',
  'src/model/m.ts': "import { ok } from '../core/ok.ts';\nimport { helper } from '../testing/h.ts'; // bad: production code imports a test helper\nimport { r2 } from '../runtime/r2.ts'; // bad: model imports core only\nexport const m = ok + helper + r2;\n",
  'src/model/m.test.ts': "import { helper } from '../testing/h.ts';\nimport { c } from '../cli/c.ts'; // tests may use any layer\nexport const t = helper + c;\n",
  'src/testing/h.ts': "import { ok } from '../core/ok.ts';\nexport const helper = ok;\n",
  'src/runtime/r.ts': "import { m } from '../model/m.ts';\nimport { n } from './node/n.ts'; // bad: the portable runtime imports Node-only code\nexport type R = number;\nexport const r = m + n;\n",
  'src/runtime/r2.ts': 'export const r2 = 2;\n',
  'src/runtime/node/n.ts': "import { f } from '../../node/f.ts';\nimport { c0 } from '../../cli/c0.ts'; // bad: runtime/node is below cli\nexport const n = f + c0;\n",
  'src/node/f.ts': "import { m } from '../model/m.ts'; // bad: src/node imports core only\nexport const f = m;\n",
  'src/worker/protocol.ts': "import type { R } from '../runtime/r.ts';\nimport { r2 } from '../runtime/r2.ts'; // bad: a value import in the UI's contract\nexport type P = R;\nexport const DEFAULTS = { r2 };\n",
  'src/worker/engine.worker.ts': "import { r } from '../runtime/r.ts';\nimport { u2 } from '../ui/u2.ts'; // bad: the worker is below the UI\nexport type W = number;\nexport const w = r + u2;\n",
  'src/ui/u.ts': "import { DEFAULTS, type P } from '../worker/protocol.ts';\nimport type { W } from '../worker/engine.worker.ts'; // bad: the UI imports only protocol.ts, types included\nexport const u: P | W = DEFAULTS.r2;\n",
  'src/ui/u2.ts': 'export const u2 = 2;\n',
  'src/ui/u3.ts': "import { eng } from '../api/engine.ts';\nimport { t } from '../api/engineClient.ts'; // bad: the UI uses the engine API, not the worker transport\nexport const u3 = eng + t;\n",
  'src/api/engine.ts': "import { DEFAULTS } from '../worker/protocol.ts';\nimport { t } from './engineClient.ts';\nimport { r2 } from '../runtime/r2.ts'; // bad: the API imports protocol.ts only\nexport const eng = DEFAULTS.r2 + t + r2;\n",
  'src/api/engineClient.ts': 'export const t = 1;\n',
  'src/cli/c0.ts': 'export const c0 = 0;\n',
  'src/cli/c.ts': "import { n } from '../runtime/node/n.ts';\nimport { e } from '../../e2e/p.ts'; // bad: src never imports e2e/\nimport { u2 } from '../ui/u2.ts'; // bad: cli is Node-side, the UI is not its layer\nexport const c = n + e + u2;\n",
  'src/sw.ts': "import { ok } from './core/ok.ts'; // bad: the service worker imports nothing from src\nexport const sw = ok;\n",
  'examples/x.ts': "import { eng } from '../src/api/index.ts';\nimport { u2 } from '../src/ui/u2.ts'; // bad: examples use the library entry only\nexport const x = eng + u2;\n",
  'src/api/index.ts': "export { eng } from './engine.ts';\n",
  'e2e/p.ts': "import { ok } from '../src/core/ok.ts';\nexport const e = ok;\n",
};

const root = mkdtempSync(join(tmpdir(), 'tm-layering-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
for (const [path, text] of Object.entries(FIXTURE)) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

describe('layering rules (dependency-cruiser)', () => {
  it('report every wrong-way import of the fixture, and nothing else; every rule fires', async () => {
    const { output } = await cruise(['src', 'e2e', 'examples'], {
      baseDir: root,
      validate: true,
      ruleSet: { forbidden: config.forbidden },
      tsPreCompilationDeps: true,
      doNotFollow: { path: 'node_modules' },
    });
    const found = (output as ICruiseResult).summary.violations;
    expect(found.map((v) => `${v.rule.name}: ${v.from} → ${v.to}`).sort()).toEqual(
      [
        'layer-core: src/core/a.ts → src/ui/u.ts',
        'no-circular: src/core/c1.ts → src/core/c2.ts',
        'not-to-test-helpers: src/model/m.ts → src/testing/h.ts',
        'layer-model: src/model/m.ts → src/runtime/r2.ts',
        'layer-runtime: src/runtime/r.ts → src/runtime/node/n.ts',
        'layer-runtime-node: src/runtime/node/n.ts → src/cli/c0.ts',
        'layer-node: src/node/f.ts → src/model/m.ts',
        'layer-worker: src/worker/engine.worker.ts → src/ui/u2.ts',
        'worker-protocol-types-only: src/worker/protocol.ts → src/runtime/r2.ts',
        'layer-ui: src/ui/u.ts → src/worker/engine.worker.ts',
        'ui-through-engine-api: src/ui/u3.ts → src/api/engineClient.ts',
        'layer-api: src/api/engine.ts → src/runtime/r2.ts',
        'layer-cli: src/cli/c.ts → src/ui/u2.ts',
        'src-not-to-e2e: src/cli/c.ts → e2e/p.ts',
        'layer-sw-ts: src/sw.ts → src/core/ok.ts',
        'examples-use-the-library: examples/x.ts → src/ui/u2.ts',
      ].sort(),
    );
    expect(found.length).toBe(Object.values(FIXTURE).join('').match(/\/\/ bad/g)?.length);
    expect(new Set(found.map((v) => v.rule.name))).toEqual(new Set(config.forbidden.map((r) => r.name)));
  });
});
