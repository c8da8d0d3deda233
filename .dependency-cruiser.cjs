// The layering of docs/architecture.md, checked by dependency-cruiser: `npm run lint:deps`, which
// `npm test` runs right after the type check. MAY_IMPORT below is that document's table: a
// production file may import its own folder and the folders listed for it, nothing else in src.
// Tests (*.test.ts) and the test helpers in src/testing/ may import any folder of src (a model test
// runs its graph on runtime's engine); production code never imports them; nothing in src imports
// e2e/; no import cycles anywhere. src/layering.test.ts checks that these rules catch wrong-way
// imports.

/** Each folder (or file) of the table as a path regex. */
const FOLDERS = {
  core: '^src/core/',
  model: '^src/model/',
  runtime: '^src/runtime/(?!node/)', // portable: runs in the worker and in Node
  'runtime/node': '^src/runtime/node/', // Node-only runtime: ORT for Node, checkpoint and tokenizer folders
  worker: '^src/worker/',
  'worker/protocol.ts': '^src/worker/protocol[.]ts$',
  api: '^src/api/',
  ui: '^src/ui/',
  'sw.ts': '^src/sw[.]ts$',
  node: '^src/node/',
  cli: '^src/cli/',
};
const TESTING = '^src/testing/';
const TEST_FILE = '[.]test[.]tsx?$';

/** docs/architecture.md's "may import" column (besides the folder itself). */
const MAY_IMPORT = {
  core: [],
  model: ['core'],
  runtime: ['core', 'model'],
  'runtime/node': ['core', 'model', 'runtime', 'node'],
  worker: ['core', 'model', 'runtime'],
  api: ['worker/protocol.ts'], // which itself imports the rest of src as types only (rule below)
  ui: ['worker/protocol.ts', 'api'],
  'sw.ts': [],
  node: ['core'],
  cli: ['core', 'model', 'runtime', 'runtime/node', 'node'],
};

const layerRules = Object.entries(MAY_IMPORT).map(([layer, allowed]) => ({
  name: `layer-${layer.replace(/[^a-z]+/g, '-')}`,
  severity: 'error',
  comment:
    `src/${layer} may import ${allowed.length ? allowed.map((a) => `src/${a}`).join(', ') : 'nothing else in src'} ` +
    '(docs/architecture.md). Move the code to the layer where it belongs, or pass what it needs in from above.',
  from: { path: FOLDERS[layer], pathNot: TEST_FILE },
  // src/testing/ and *.test.ts are left to not-to-test-helpers (one report per wrong import).
  to: { path: '^src/', pathNot: [FOLDERS[layer], ...allowed.map((a) => FOLDERS[a]), TESTING, TEST_FILE] },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'worker-protocol-types-only',
      severity: 'error',
      comment:
        'src/worker/protocol.ts is the only module the UI imports from the rest of src, so it may ' +
        'import the rest of src as types only (`import type`): no worker or runtime code reaches the UI thread.',
      from: { path: FOLDERS['worker/protocol.ts'] },
      to: { path: '^src/', pathNot: FOLDERS['worker/protocol.ts'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'ui-through-engine-api',
      severity: 'error',
      comment:
        'The React app uses the public engine API (src/api/engine.ts: chat.completions, experts, compare), ' +
        'the same object the library exports; only src/api talks to the worker through its transport ' +
        '(src/api/engineClient.ts). No second path into the worker (docs/api.md).',
      from: { path: FOLDERS.ui, pathNot: TEST_FILE },
      to: { path: '^src/api/engineClient[.]ts$' },
    },
    {
      name: 'examples-use-the-library',
      severity: 'error',
      comment:
        'The example pages (examples/) show how a web page embeds twinmerge: they import the library ' +
        'entry src/api/index.ts (what `import ... from "twinmerge"` gives) and nothing else of src.',
      from: { path: '^examples/' },
      to: { path: '^src/', pathNot: '^src/api/index[.]ts$' },
    },
    {
      name: 'not-to-test-helpers',
      severity: 'error',
      comment:
        'Production code may not import test helpers (src/testing/) or test files: only *.test.ts ' +
        'files, src/testing/ itself and e2e/ may (docs/testing.md).',
      from: { path: '^src/', pathNot: [TESTING, TEST_FILE] },
      to: { path: [TESTING, TEST_FILE] },
    },
    {
      name: 'src-not-to-e2e',
      severity: 'error',
      comment:
        'Nothing under src/ imports from e2e/: the Playwright tests and their harness pages import ' +
        'src/, not the other way round. Move what both need into src/.',
      from: { path: '^src/' },
      to: { path: '^e2e/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: break it (move what both sides need into a module that both import).',
      from: { path: '^(src|e2e|examples)/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // `import type` stays in the graph (dependency type 'type-only'), so type imports obey the layers too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
