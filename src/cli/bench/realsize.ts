// A real-size bundle for the benchmarks and the e2e tests: twinmerge synth's random checkpoints at a
// known shape (sharded bf16, HF layout), packed with the pack.yaml synth writes. Both steps are
// skipped when their output is already in .cache/synth.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeSafetensors } from '../../core/safetensors/index.ts';
import type { KnownShape } from '../../model/knownConfigs.ts';
import { openCheckpointDir } from '../../runtime/node/checkpoint.ts';
import { loadPackConfig } from '../pack/config.ts';
import { pack } from '../pack/pack.ts';
import { cachedSynth, SYNTH_CACHE, synthesize } from '../synth/synth.ts';

/** The folder synth writes `shape` at `layers` layers to (and `twinmerge synth --layers` reads). */
export function synthDir(shape: KnownShape, layers: number): string {
  return `${SYNTH_CACHE}/${shape}-${layers}l`;
}

/** The bundle folder, made when missing (a few minutes at 30 layers of SmolLM2-135M). */
export async function ensureSynthBundle(shape: KnownShape, layers: number, log: (s: string) => void): Promise<string> {
  const out = synthDir(shape, layers);
  const opts = { shape, out, tokenizerDir: 'models/bundle', layers };
  if (!(await cachedSynth(opts))) {
    log(`synth: ${shape}, ${layers} layers → ${out}`);
    await synthesize(opts);
  }
  const bundle = join(out, 'bundle');
  if (!existsSync(join(bundle, 'manifest.json'))) {
    log(`pack: ${out}/pack.yaml`);
    await pack(await loadPackConfig(join(out, 'pack.yaml')), log);
  }
  return bundle;
}

/**
 * A checkpoint folder (sharded or not) rewritten as config.json + one bf16 model.safetensors (and its
 * other JSON files): what
 * the benchmark page's engine reads (one fetch) and `exportCheckpoint` exports for transformers.js.
 */
export async function singleFileCheckpoint(src: string, dst: string): Promise<void> {
  const ck = await openCheckpointDir(src);
  try {
    const tensors = [];
    for (const w of ck.weights) tensors.push({ name: w.name, dtype: 'BF16' as const, shape: w.shape, data: await ck.read(w.name) });
    await mkdir(dst, { recursive: true });
    await writeFile(join(dst, 'config.json'), `${JSON.stringify(ck.config, null, 2)}\n`);
    await writeFile(join(dst, 'model.safetensors'), encodeSafetensors(tensors));
    // The tokenizer and generation config go along (the export and transformers.js read them).
    for (const f of await readdir(src)) if (f.endsWith('.json') && f !== 'config.json' && !f.startsWith('model.safetensors')) await copyFile(join(src, f), join(dst, f));
  } finally {
    await ck.close();
  }
}
