// `twinmerge extract --bundle <dir> --checkpoint <dir> --out <file> [--id <id>]`: the exclusive
// module of a fine-tuned checkpoint that was not in the merge, against a built bundle's shared
// weights, at the bundle's rank policy and SVD seed: the same core code the app runs on a dropped
// checkpoint (src/core/twin/extract.ts), so the two modules agree. The output is a twinmerge expert
// file (drop it into the app, or compare it with the app's).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseManifest } from '../core/bundle/manifest.ts';
import { encodeSafetensors } from '../core/safetensors/index.ts';
import { dequantShared, readShared } from '../core/twin/index.ts';
import { extractExpert, extractSettings } from '../core/twin/extract.ts';
import { architectureDifferences } from '../model/compatible.ts';
import { parseModelConfig } from '../model/config.ts';
import { openCheckpointDir } from '../runtime/node/checkpoint.ts';
import { createNodeMatrixProducts } from '../runtime/node/matrixProducts.ts';
import { Progress } from './progress.ts';

export async function extractMain(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { bundle: { type: 'string' }, checkpoint: { type: 'string' }, out: { type: 'string' }, id: { type: 'string' } } });
  if (!values.bundle || !values.checkpoint || !values.out) {
    console.error('usage: twinmerge extract --bundle <bundle dir> --checkpoint <HF checkpoint dir> --out <expert.safetensors> [--id <id>]');
    return 2;
  }
  const manifest = parseManifest(await readFile(join(values.bundle, 'manifest.json'), 'utf8'), join(values.bundle, 'manifest.json'));
  const ckpt = await openCheckpointDir(values.checkpoint);
  const products = await createNodeMatrixProducts();
  try {
    const diff = architectureDifferences(ckpt.spec, parseModelConfig(manifest.architecture));
    if (diff.length) throw new Error(`${values.checkpoint} is not the bundle's architecture: ${diff.join('; ')}`);
    const shared = readShared(manifest.shared.file, new Uint8Array(await readFile(join(values.bundle, manifest.shared.file))), ckpt.weights);
    const byName = new Map(ckpt.weights.map((w) => [w.name, w]));
    const id = values.id ?? values.checkpoint.replace(/\/+$/, '').split('/').pop()!;
    const bar = new Progress('extract', ckpt.weights.length);
    const t0 = Date.now();
    const built = await extractExpert(
      id,
      { weights: ckpt.weights, readShared: async (name) => dequantShared(byName.get(name)!, shared.get(name)!), readExpert: (name) => ckpt.read(name) },
      { ...extractSettings(manifest), products },
      { onWeight: (_d, _t, w) => bar.tick(1, w.name) },
    );
    bar.finish();
    await writeFile(values.out, encodeSafetensors(built.tensors, built.metadata));
    console.log(`extract: ${id} → ${values.out}: ${built.bytes} bytes, rank ≤ ${built.maxRank} (mean ${built.meanRank.toFixed(1)}), ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return 0;
  } finally {
    await ckpt.close();
    await products.release();
  }
}
