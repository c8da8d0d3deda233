// pack's PEFT adapter folder on the zoo's caesar adapter: an adapter_config.json that says
// fan_in_fan_out: true (wrong for Llama's nn.Linear targets, which PEFT ignores with a warning) folds
// to exactly the same deltas as the shipped one (flag false), and the warning is reported.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { foldLoraAdapter } from './lora.ts';
import { openBase } from './sources.ts';

const ROOT = resolve(process.env.TWINMERGE_ZOO_DIR ?? 'models');
const ADAPTER = join(ROOT, 'adapters', 'caesar');
const tmp = mkdtempSync(join(tmpdir(), 'tm-lora-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('foldLoraAdapter (models/adapters/caesar)', () => {
  it('fan_in_fan_out: true folds to the same deltas as false, with a warning', async () => {
    expect(existsSync(join(ADAPTER, 'adapter_model.safetensors')), `${ADAPTER} is part of the repository`).toBe(true);
    const flagged = join(tmp, 'caesar-fan-in-fan-out');
    cpSync(ADAPTER, flagged, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(ADAPTER, 'adapter_config.json'), 'utf8')) as Record<string, unknown>;
    expect(cfg.fan_in_fan_out).toBe(false);
    writeFileSync(join(flagged, 'adapter_config.json'), JSON.stringify({ ...cfg, fan_in_fan_out: true }));

    const base = await openBase(join(ROOT, 'base'));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const plain = await foldLoraAdapter(ADAPTER, base);
      const withFlag = await foldLoraAdapter(flagged, base);
      expect(plain.warnings).toEqual([]);
      expect(withFlag.warnings).toHaveLength(1);
      expect(withFlag.warnings![0]).toMatch(/fan_in_fan_out is true, but its 28 target modules are nn\.Linear.*ignored/);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`${flagged}: adapter_config.json: fan_in_fan_out is true`));
      let compared = 0;
      for (const w of base.weights) {
        const a = await plain.delta(w.name);
        const b = await withFlag.delta(w.name);
        expect(b === undefined, w.name).toBe(a === undefined);
        if (!a) continue;
        expect(b, w.name).toEqual(a);
        compared++;
      }
      expect(compared).toBe(28); // 7 targets x 4 layers, q_proj/o_proj square [128, 128]
      await plain.close();
      await withFlag.close();
    } finally {
      warn.mockRestore();
      await base.close();
    }
  });
});
