// A PEFT adapter folder (adapter_config.json + adapter_model.safetensors) folded onto the base:
// dense per-weight deltas for pack (src/core/peft does the math and the checks).
import { join } from 'node:path';
import { toFloat32 } from '../../core/safetensors/index.ts';
import { foldLoraDense, importLora, parseAdapterConfig } from '../../core/peft/index.ts';
import type { F32Tensor } from '../../core/tensor/tensor.ts';
import { openSafetensorsFile } from '../../node/fileSource.ts';
import { PackInputError, readJson, type LoraFolder } from './sources.ts';

export const foldLoraAdapter: LoraFolder = async (dir, base) => {
  const config = parseAdapterConfig(await readJson(join(dir, 'adapter_config.json')), join(dir, 'adapter_config.json'));
  const file = join(dir, 'adapter_model.safetensors');
  const st = await openSafetensorsFile(file).catch((e: unknown) => {
    throw new PackInputError(file, undefined, e instanceof Error ? e.message : String(e));
  });
  try {
    const tensors = new Map<string, F32Tensor>();
    for (const name of st.tensors.keys()) {
      const t = await st.read(name);
      tensors.set(name, { shape: t.shape, data: toFloat32(t) });
    }
    const imported = importLora(config, tensors, new Map(base.weights.map((w) => [w.name, w.shape])));
    for (const w of imported.warnings) console.warn(`${dir}: ${w}`);
    const modules = new Map(imported.modules.map((m) => [m.weight, m]));
    return {
      async delta(name) {
        const m = modules.get(name);
        if (m) return foldLoraDense(m);
        const r = imported.replacements.get(name);
        if (!r) return undefined;
        // A replaced tensor (modules_to_save): its delta from the base.
        const b = await base.read(name);
        return r.data.map((v, i) => v - b[i]!);
      },
      warnings: imported.warnings,
      close: () => st.close(),
    };
  } catch (e) {
    await st.close();
    throw e;
  }
};
