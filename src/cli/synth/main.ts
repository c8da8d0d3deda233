// `twinmerge synth --shape smollm2-135m|smollm2-360m|qwen2.5-0.5b [--out dir] [--experts 4] [--layers N] [--seed 0]`
import { parseArgs } from 'node:util';
import { KNOWN_SHAPES, type KnownShape } from '../../model/knownConfigs.ts';
import { Progress } from '../progress.ts';
import { cachedSynth, synthesize, SYNTH_CACHE } from './synth.ts';

export async function synthMain(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { shape: { type: 'string' }, out: { type: 'string' }, experts: { type: 'string' }, layers: { type: 'string' }, seed: { type: 'string' }, force: { type: 'boolean' } } });
  const shapes = Object.keys(KNOWN_SHAPES);
  if (!values.shape || !shapes.includes(values.shape)) {
    console.error(`usage: twinmerge synth --shape ${shapes.join('|')} [--out dir] [--experts 4] [--layers N] [--seed 0] [--force]`);
    return 2;
  }
  const shape = values.shape as KnownShape;
  const num = (v: string | undefined, what: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${what} must be a whole number, got "${v}"`);
    return n;
  };
  const layers = num(values.layers, 'layers');
  const opts = { shape, out: values.out ?? `${SYNTH_CACHE}/${shape}${layers ? `-${layers}l` : ''}`, tokenizerDir: 'models/bundle', ...(layers ? { layers } : {}), ...(values.experts ? { experts: num(values.experts, 'experts')! } : {}), ...(values.seed ? { seed: num(values.seed, 'seed')! } : {}) };
  const cached = values.force ? undefined : await cachedSynth(opts);
  if (cached) {
    console.log(`synth: ${opts.out} already holds ${shape} (${cached.layers} layers, ${cached.experts} experts): nothing to do (--force makes it again)`);
    return 0;
  }
  let bar: Progress | undefined;
  const r = await synthesize({ ...opts, onProgress: (done, total, name) => (bar ??= new Progress('synth', total)).tick(1, name) });
  bar?.finish();
  console.log(`synth: ${shape}, ${r.layers} layers, ${(r.params / 1e6).toFixed(1)} M parameters, base + ${r.experts} experts in ${r.shards} bf16 shards each, a LoRA adapter → ${opts.out} (${r.seconds.toFixed(1)} s)`);
  console.log(`  ||tau|| / ||theta_0||: ${r.tauOverTheta.map((x) => x.toFixed(4)).join(', ')}`);
  console.log(`  pack it: npm run twinmerge -- pack --config ${opts.out}/pack.yaml`);
  return 0;
}
