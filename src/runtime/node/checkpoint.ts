/**
 * Node-only: open an HF checkpoint directory (config.json + model.safetensors or a sharded
 * model.safetensors.index.json) as a validated {@link Checkpoint}.
 */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openCheckpoint, type Checkpoint } from '../../model/checkpoint.ts';
import { openSafetensorsFile, openShardedCheckpoint } from '../../node/fileSource.ts';

const exists = (p: string): Promise<boolean> => access(p).then(() => true, () => false);

export async function openCheckpointDir(dir: string): Promise<Checkpoint & { close(): Promise<void> }> {
  const config: unknown = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  let reader;
  if (await exists(single)) reader = await openSafetensorsFile(single);
  else if (await exists(index)) reader = await openShardedCheckpoint(index);
  else throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json`);
  try {
    return { ...openCheckpoint(config, reader), close: () => reader.close() };
  } catch (e) {
    await reader.close();
    throw e;
  }
}
