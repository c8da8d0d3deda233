import { describe, expect, it } from 'vitest';
import { bytesSource, encodeSafetensors, openSharded, parseShardIndex, type TensorInput } from './index.ts';
import { expectCode } from '../../testing/safetensors.ts';

const u8 = (name: string, v: number): TensorInput => ({ name, dtype: 'U8', shape: [1], data: new Uint8Array([v]) });
const shardA = encodeSafetensors([u8('a', 1), u8('b', 2)], { shard: 'A' });
const shardB = encodeSafetensors([u8('c', 3)]);
const files: Record<string, Uint8Array> = { 'm-1.safetensors': shardA, 'm-2.safetensors': shardB };
const opener = (fs: Record<string, Uint8Array>) => async (f: string) => (fs[f] ? bytesSource(fs[f]) : undefined);
const indexText = (map: Record<string, string>, extra = '') =>
  `{"metadata":{"total_size":3}${extra},"weight_map":${JSON.stringify(map)}}`;
const goodMap = { a: 'm-1.safetensors', b: 'm-1.safetensors', c: 'm-2.safetensors' };

describe('parseShardIndex', () => {
  it('parses the HF layout', () => {
    const idx = parseShardIndex(new TextEncoder().encode(indexText(goodMap)));
    expect(idx.metadata).toEqual({ total_size: 3 });
    expect(idx.files).toEqual(['m-1.safetensors', 'm-2.safetensors']);
    expect(idx.weightMap.get('c')).toBe('m-2.safetensors');
  });
  it.each([
    ['not JSON', 'BAD_INDEX', '{'],
    ['no weight_map', 'BAD_INDEX', '{"metadata":{}}'],
    ['weight_map value not a string', 'BAD_INDEX', '{"weight_map":{"a":1}}'],
    ['metadata not an object', 'BAD_INDEX', '{"metadata":3,"weight_map":{}}'],
    ['shard path with a directory', 'BAD_INDEX', '{"weight_map":{"a":"../x.safetensors"}}'],
    ['shard named ".."', 'BAD_INDEX', '{"weight_map":{"a":".."}}'],
    ['tensor listed twice', 'DUPLICATE_NAME', '{"weight_map":{"a":"x","a":"y"}}'],
    ['other duplicate key', 'DUPLICATE_KEY', '{"weight_map":{},"weight_map":{}}'],
  ] as const)('%s -> %s', async (_w, code, text) => {
    const err = await expectCode(() => parseShardIndex(text, 'idx.json'), code);
    expect(err.file).toBe('idx.json');
  });
});

describe('openSharded', () => {
  it('combines shards lazily and reads through to the right file', async () => {
    const reads: string[] = [];
    const ckpt = await openSharded(parseShardIndex(indexText(goodMap)), async (f) => {
      const src = bytesSource(files[f]!);
      return { size: src.size, read: (o, l) => (reads.push(`${f}@${o}`), src.read(o, l)) };
    });
    expect(reads.every((r) => /@(0|8)$/.test(r))).toBe(true); // headers only
    expect([...ckpt.tensors.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(ckpt.metadata).toEqual({ total_size: 3 });
    expect(ckpt.shards.get('m-1.safetensors')!.metadata).toEqual({ shard: 'A' });
    expect(ckpt.fileOf('c')).toBe('m-2.safetensors');
    expect(Array.from((await ckpt.read('c')).data as Uint8Array)).toEqual([3]);
    expect(Array.from(await ckpt.readBytes('b'))).toEqual([2]);
    await expectCode(ckpt.read('zz'), 'NOT_FOUND');
    await expectCode(async () => ckpt.info('zz'), 'NOT_FOUND');
  });

  it('missing shard file -> MISSING_SHARD naming the file', async () => {
    const err = await expectCode(openSharded(parseShardIndex(indexText(goodMap)), opener({ 'm-1.safetensors': shardA })), 'MISSING_SHARD');
    expect(err.file).toBe('m-2.safetensors');
  });

  it('tensor in two shards -> DUPLICATE_NAME', async () => {
    const fs = { ...files, 'm-2.safetensors': encodeSafetensors([u8('c', 3), u8('a', 9)]) };
    const err = await expectCode(openSharded(parseShardIndex(indexText(goodMap)), opener(fs)), 'DUPLICATE_NAME');
    expect(err.tensor).toBe('a');
    expect(err.message).toContain('m-1.safetensors');
  });

  it('index and shards disagree -> INDEX_MISMATCH', async () => {
    // Index lists a tensor the shard lacks.
    await expectCode(openSharded(parseShardIndex(indexText({ ...goodMap, d: 'm-2.safetensors' })), opener(files)), 'INDEX_MISMATCH');
    // Shard holds a tensor the index does not list.
    const { b: _b, ...noB } = goodMap;
    await expectCode(openSharded(parseShardIndex(indexText(noB)), opener(files)), 'INDEX_MISMATCH');
    // Index maps a tensor to the wrong shard.
    await expectCode(openSharded(parseShardIndex(indexText({ ...goodMap, a: 'm-2.safetensors' })), opener(files)), 'INDEX_MISMATCH');
  });

  it('a corrupt shard surfaces its own error, naming the shard', async () => {
    const fs = { ...files, 'm-2.safetensors': shardB.subarray(0, shardB.length - 1) };
    const err = await expectCode(openSharded(parseShardIndex(indexText(goodMap)), opener(fs)), 'OUT_OF_BOUNDS');
    expect(err.file).toBe('m-2.safetensors');
    expect(err.tensor).toBe('c');
  });
});
