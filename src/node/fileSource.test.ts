import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ByteSource, encodeSafetensors, openSafetensors, SafetensorsError } from '../core/safetensors/index.ts';
import { openFileSource, openSafetensorsFile, openShardedCheckpoint } from './fileSource.ts';

let dir: string;
const big = new Float32Array(1 << 20).map((_, i) => i); // 4 MiB
const small = new Int8Array([1, -2, 3]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'twinmerge-st-'));
  await writeFile(
    join(dir, 'one.safetensors'),
    encodeSafetensors(
      [
        { name: 'big', dtype: 'F32', shape: [1024, 1024], data: big },
        { name: 'small', dtype: 'I8', shape: [3], data: small },
      ],
      { format: 'pt' },
    ),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('openFileSource', () => {
  it('reads lazily: header, then only the tensor asked for', async () => {
    const src = await openFileSource(join(dir, 'one.safetensors'));
    const log: [number, number][] = [];
    const counted: ByteSource = { size: src.size, read: (o, l) => (log.push([o, l]), src.read(o, l)) };
    try {
      const file = await openSafetensors(counted, { name: 'one.safetensors' });
      expect(log).toEqual([
        [0, 8],
        [8, file.header.dataStart - 8],
      ]);
      const t = await file.read('small');
      expect(Array.from(t.data as Int8Array)).toEqual([1, -2, 3]);
      const info = file.info('small');
      expect(log[2]).toEqual([info.byteOffset, 3]);
      const total = log.reduce((a, [, l]) => a + l, 0);
      expect(total).toBe(file.header.dataStart + 3);
      expect(total).toBeLessThan(src.size / 1000);
      // And the big one reads correctly too.
      const b = (await file.read('big')).data as Float32Array;
      expect(b.length === big.length && b.every((v, i) => v === big[i])).toBe(true);
    } finally {
      await src.close();
    }
  });

  it('openSafetensorsFile names the path in errors', async () => {
    const path = join(dir, 'trunc.safetensors');
    await writeFile(path, new Uint8Array([200, 0, 0, 0, 0, 0, 0, 0, 0x7b]));
    const err = await openSafetensorsFile(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SafetensorsError);
    expect((err as SafetensorsError).code).toBe('TRUNCATED');
    expect((err as SafetensorsError).message).toContain('trunc.safetensors');
    const ok = await openSafetensorsFile(join(dir, 'one.safetensors'));
    expect(ok.metadata).toEqual({ format: 'pt' });
    await ok.close();
  });

  it('reports a file truncated after opening as TRUNCATED', async () => {
    const path = join(dir, 'shrinks.safetensors');
    const bytes = encodeSafetensors([{ name: 'x', dtype: 'U8', shape: [16], data: new Uint8Array(16) }]);
    await writeFile(path, bytes);
    const file = await openSafetensorsFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 4));
    await expect(file.read('x')).rejects.toMatchObject({ code: 'TRUNCATED' });
    await file.close();
  });
});

describe('openShardedCheckpoint', () => {
  it('resolves shards next to the index; a missing one is MISSING_SHARD', async () => {
    const sub = join(dir, 'sharded');
    await rm(sub, { recursive: true, force: true });
    await mkdir(sub);
    await writeFile(join(sub, 'model-1.safetensors'), encodeSafetensors([{ name: 'a', dtype: 'U8', shape: [1], data: new Uint8Array([7]) }]));
    await writeFile(join(sub, 'model-2.safetensors'), encodeSafetensors([{ name: 'b', dtype: 'U8', shape: [1], data: new Uint8Array([8]) }]));
    const index = { metadata: { total_size: 2 }, weight_map: { a: 'model-1.safetensors', b: 'model-2.safetensors' } };
    await writeFile(join(sub, 'model.safetensors.index.json'), JSON.stringify(index));
    const ckpt = await openShardedCheckpoint(join(sub, 'model.safetensors.index.json'));
    expect(Array.from((await ckpt.read('b')).data as Uint8Array)).toEqual([8]);
    await ckpt.close();

    await rm(join(sub, 'model-2.safetensors'));
    await expect(openShardedCheckpoint(join(sub, 'model.safetensors.index.json'))).rejects.toMatchObject({
      code: 'MISSING_SHARD',
      file: 'model-2.safetensors',
    });
  });
});
