// `twinmerge export` and `pack` refuse the same non-finite checkpoint with the same check (core
// firstNonFinite), naming the tensor, and export writes nothing. The checkpoint is a tiny random one.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../core/safetensors/index.ts';
import { parseModelConfig } from '../model/config.ts';
import { expectedTensors } from '../model/llama.ts';
import { randomCheckpoint } from '../model/random.ts';
import { tinyConfig } from '../testing/tinyModel.ts';
import { exportCheckpoint } from './export.ts';
import { openBase, PackInputError, readFinite } from './pack/sources.ts';

const BAD = 'model.layers.1.self_attn.k_proj.weight';
const tmp = mkdtempSync(join(tmpdir(), 'tm-export-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A tiny Llama checkpoint folder; `poison` sets one element of one tensor. */
function tinyCheckpoint(name: string, poison?: { tensor: string; index: number; value: number }): string {
  const cfg = tinyConfig();
  const spec = parseModelConfig(cfg);
  const ck = randomCheckpoint(spec, 1);
  if (poison) ck.get(poison.tensor)![poison.index] = poison.value;
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  writeFileSync(join(dir, 'model.safetensors'), encodeSafetensors(expectedTensors(spec).map((w) => ({ name: w.name, dtype: 'F32' as const, shape: w.shape, data: ck.get(w.name)! }))));
  return dir;
}

describe('non-finite weights', () => {
  const nan = tinyCheckpoint('nan', { tensor: BAD, index: 5, value: NaN });

  it('export refuses a NaN weight, naming the tensor, and writes nothing', async () => {
    const out = join(tmp, 'out-nan');
    await expect(exportCheckpoint(nan, out)).rejects.toThrow(`${nan} (${BAD}): non-finite value NaN at index 5`);
    expect(existsSync(out)).toBe(false);
  });

  it('export refuses +Inf too; a finite checkpoint still exports', async () => {
    const inf = tinyCheckpoint('inf', { tensor: 'model.norm.weight', index: 0, value: Infinity });
    await expect(exportCheckpoint(inf, join(tmp, 'out-inf'))).rejects.toThrow(/\(model\.norm\.weight\): non-finite value Infinity at index 0/);
    const ok = await exportCheckpoint(tinyCheckpoint('ok'), join(tmp, 'out-ok'));
    expect(ok.files).toContain('onnx/model.onnx');
  });

  it('pack refuses the same file with the same message (readFinite)', async () => {
    const base = await openBase(nan);
    try {
      const err = await readFinite(base, BAD).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PackInputError);
      expect((err as PackInputError).tensor).toBe(BAD);
      expect((err as Error).message).toBe(`${nan} (${BAD}): non-finite value NaN at index 5`);
    } finally {
      await base.close();
    }
  });

  it('the CLI exits non-zero and names the tensor', () => {
    const out = join(tmp, 'out-cli');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'export', nan, out], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain(`(${BAD}): non-finite value NaN at index 5`);
    expect(existsSync(out)).toBe(false);
  }, 130_000);
});
