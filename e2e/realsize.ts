// The real-size bundle the e2e tests open: a SmolLM2-135M-shaped (or another shape's) checkpoint folder (sharded bf16, HF
// layout) made by `twinmerge synth` and packed by `twinmerge pack`, both run as a user runs them.
// Cached under .cache/synth (outside git): a second run reuses it.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { synthDir } from '../src/cli/bench/realsize.ts';
import { KNOWN_SHAPES, type KnownShape } from '../src/model/knownConfigs.ts';

/** TWINMERGE_REALSIZE_SHAPE: another of synth's shapes (e.g. qwen2.5-0.5b; tens of minutes on SwiftShader). */
export const REALSIZE_SHAPE = knownShape(process.env.TWINMERGE_REALSIZE_SHAPE ?? 'smollm2-135m');
/**
 * The width, heads, vocabulary and head are the real model's; the depth is TWINMERGE_REALSIZE_LAYERS
 * (default 4 of SmolLM2-135M's 30 layers, so the suite stays within its time on SwiftShader; `npm run
 * bench -- --only=browser-135m` runs all 30). Every per-layer tensor has the real model's shape.
 */
export const REALSIZE_LAYERS = Number(process.env.TWINMERGE_REALSIZE_LAYERS ?? 4);

function knownShape(s: string): KnownShape {
  if (!(s in KNOWN_SHAPES)) throw new Error(`TWINMERGE_REALSIZE_SHAPE=${s}: not one of ${Object.keys(KNOWN_SHAPES).join(', ')}`);
  return s as KnownShape;
}
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
