// The real-size bundle the e2e tests open: a SmolLM2-135M-shaped checkpoint folder (sharded bf16, HF
// layout) made by `twinmerge synth` and packed by `twinmerge pack`, both run as a user runs them.
// Cached under .cache/synth (outside git): a second run reuses it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { synthDir } from '../src/cli/bench/realsize.ts';

export const REALSIZE_SHAPE = 'smollm2-135m' as const;
/**
 * The width, heads, vocabulary and tied head are SmolLM2-135M's; the depth is TWINMERGE_REALSIZE_LAYERS
 * (default 4 of its 30 layers, so the suite stays within its time on SwiftShader; `npm run bench --
 * --only=browser-135m` runs all 30). Every per-layer tensor has the real model's shape.
 */
export const REALSIZE_LAYERS = Number(process.env.TWINMERGE_REALSIZE_LAYERS ?? 4);
export const REALSIZE_DIR = synthDir(REALSIZE_SHAPE, REALSIZE_LAYERS);
export const REALSIZE_BUNDLE = join(REALSIZE_DIR, 'bundle');

function twinmerge(args: string[]): void {
  execFileSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'src/cli/main.ts', ...args], { stdio: 'inherit' });
}

/** Makes the checkpoints and packs them, unless already there (about a minute at 4 layers). */
export function ensureRealsizeBundle(): string {
  twinmerge(['synth', '--shape', REALSIZE_SHAPE, '--layers', String(REALSIZE_LAYERS), '--out', REALSIZE_DIR]);
  if (!existsSync(join(REALSIZE_BUNDLE, 'manifest.json'))) twinmerge(['pack', '--config', join(REALSIZE_DIR, 'pack.yaml')]);
  return REALSIZE_BUNDLE;
}
