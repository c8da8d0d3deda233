// twinmerge synth at the SmolLM2-135M shape (one layer, the full [49152, 576] embedding): the HF
// layout (config, bf16 shards + index, PEFT adapter) as our readers and pack see it.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../core/bundle/manifest.ts';
import { importLora, parseAdapterConfig } from '../../core/peft/index.ts';
import { decodeSafetensors, toFloat32 } from '../../core/safetensors/index.ts';
import type { F32Tensor } from '../../core/tensor/tensor.ts';
import { openCheckpointDir } from '../../runtime/node/checkpoint.ts';
import { loadPackConfig } from '../pack/config.ts';
import { pack } from '../pack/pack.ts';
import { synthesize } from './synth.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('twinmerge synth', () => {
  it('SmolLM2-135M shape: sharded bf16 checkpoints with ||tau||/||theta|| ≈ 2%, a PEFT adapter, and pack packs them', async () => {
    const out = await mkdtemp(join(tmpdir(), 'tm-synth-'));
    dirs.push(out);
    const r = await synthesize({ shape: 'smollm2-135m', out, layers: 1, experts: 2, shardBytes: 40e6, tokenizerDir: 'models/bundle' });
    expect(r.params).toBe(49152 * 576 + 576 + (576 * 576 * 2 + 192 * 576 * 2 + 1536 * 576 * 3 + 2 * 576));
    expect(r.shards).toBeGreaterThan(1);
    for (const x of r.tauOverTheta) expect(x).toBeCloseTo(0.02, 3);

    // The expert folder reads as a sharded HF checkpoint of the right shape, bf16 on disk.
    const dir = join(out, 'experts', 'e1');
    const files = await readdir(dir);
    expect(files.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f))).toHaveLength(r.shards);
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    expect(Object.keys(index.weight_map)).toHaveLength(2 + 9); // embed, final norm; one layer: 2 norms, 7 projections
    const ck = await openCheckpointDir(dir);
    const base = await openCheckpointDir(join(out, 'base'));
    try {
      expect([ck.spec.hiddenSize, ck.spec.numHeads, ck.spec.numKvHeads, ck.spec.vocabSize, ck.spec.tieWordEmbeddings]).toEqual([576, 9, 3, 49152, true]);
      const first = decodeSafetensors(new Uint8Array(await readFile(join(dir, files.find((f) => f.startsWith('model-00001'))!))));
      expect([...first.tensors.values()].every((t) => t.dtype === 'BF16')).toBe(true);
      // tau of a projection: a low-rank task part over a small dense shared part.
      const name = 'model.layers.0.self_attn.o_proj.weight';
      const [e, b] = [await ck.read(name), await base.read(name)];
      const tau = e.map((x, i) => x - b[i]!);
      const rel = Math.sqrt(tau.reduce((s, v) => s + v * v, 0) / b.reduce((s, v) => s + v * v, 0));
      expect(rel).toBeGreaterThan(0.015);
      expect(rel).toBeLessThan(0.025);
    } finally {
      await ck.close();
      await base.close();
    }

    // The adapter is a valid PEFT LoRA of the base's shapes.
    const ad = join(out, 'adapters', 'lora');
    const cfg = parseAdapterConfig(await readFile(join(ad, 'adapter_config.json'), 'utf8'));
    const st = decodeSafetensors(new Uint8Array(await readFile(join(ad, 'adapter_model.safetensors'))));
    const tensors = new Map([...st.tensors].map(([n, t]) => [n, { shape: t.shape, data: toFloat32(t) } as F32Tensor]));
    const shapes = new Map([...(await openCheckpointDir(join(out, 'base')).then(async (c) => (await c.close(), c.weights)))].map((w) => [w.name, w.shape]));
    const lora = importLora(cfg, tensors, shapes);
    expect(lora.modules).toHaveLength(7);
    expect(lora.modules.every((m) => m.rank === 8)).toBe(true);

    // pack reads the sharded bf16 folders.
    const config = await loadPackConfig(join(out, 'pack.yaml'));
    const { manifest, report } = await pack(config, () => undefined);
    expect(parseManifest(JSON.stringify(manifest)).experts.map((x) => x.id)).toEqual(['e0', 'e1']);
    expect(report.router.accuracy.test).toBe(1);
  }, 180_000);
});
