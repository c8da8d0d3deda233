// MOVED to src/testing/tinyModel.ts (test helpers live in src/testing/, see docs/architecture.md).
// This re-export only keeps src/cli/eval/eval.test.ts compiling until it imports from
// '../../testing/tinyModel.ts'; `npm run lint:deps` reports it (production code importing a test
// helper) until then. Delete this file afterwards.
export { maxAbsDiff, tinyConfig, tinyEngine, type TinyModel } from '../../testing/tinyModel.ts';
