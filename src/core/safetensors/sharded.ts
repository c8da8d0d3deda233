// Sharded checkpoints: model.safetensors.index.json = {metadata?, weight_map: tensor -> file}.
// The index is validated with zod; openSharded opens every shard's header (lazily: no tensor
// data is read) and presents one combined TensorReader.
import { z } from 'zod';
import { SafetensorsError } from './errors.ts';
import type { TensorInfo } from './header.ts';
import { findDuplicateKey } from './jsonDuplicates.ts';
import { type OpenOptions, openSafetensors, type SafetensorsFile, type TensorReader } from './reader.ts';
import type { ByteSource } from './source.ts';

export const DEFAULT_INDEX_NAME = 'model.safetensors.index.json';

export interface ShardIndex {
  /** Free-form (HF writes {"total_size": <number>}). */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly weightMap: ReadonlyMap<string, string>;
  /** Distinct shard files, in order of first appearance. */
  readonly files: readonly string[];
}

const IndexSchema = z.object({
  metadata: z.record(z.string(), z.unknown()).optional(),
  weight_map: z.record(z.string(), z.string()),
});

// Shard names are plain file names next to the index: no directories, no "..".
function isPlainFileName(f: string): boolean {
  return f.length > 0 && f !== '.' && f !== '..' && !/[/\\\0]/.test(f);
}

/** Parses and validates index JSON (text or UTF-8 bytes). */
export function parseShardIndex(input: string | Uint8Array, name = DEFAULT_INDEX_NAME): ShardIndex {
  let text: string;
  let json: unknown;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError('BAD_INDEX', name, 'index is not valid UTF-8 JSON', { cause: e });
  }
  const parsed = IndexSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SafetensorsError('BAD_INDEX', name, `index must be {metadata?, weight_map: {tensor: file}} (${issue?.message ?? ''} at ${issue?.path.join('.') ?? ''})`);
  }
  const dup = findDuplicateKey(text);
  if (dup) {
    if (dup.depth === 2 && dup.topKey === 'weight_map') {
      throw new SafetensorsError('DUPLICATE_NAME', name, 'tensor listed twice in weight_map', { tensor: dup.key });
    }
    throw new SafetensorsError('DUPLICATE_KEY', name, `key ${JSON.stringify(dup.key)} appears twice`);
  }
  // Entries of the parsed JSON, not zod's copy, so "__proto__" stays an ordinary name.
  const raw = json as { metadata?: object; weight_map: object };
  const weightMap = new Map(Object.entries(raw.weight_map) as [string, string][]);
  const files: string[] = [];
  for (const [tensor, file] of weightMap) {
    if (!isPlainFileName(file)) {
      throw new SafetensorsError('BAD_INDEX', name, `shard ${JSON.stringify(file)} is not a plain file name`, { tensor });
    }
    if (!files.includes(file)) files.push(file);
  }
  return { metadata: Object.fromEntries(Object.entries(raw.metadata ?? {})), weightMap, files };
}

export interface ShardedCheckpoint extends TensorReader {
  readonly index: ShardIndex;
  /** Each shard's parsed header, by file name (its own __metadata__ is there). */
  readonly shards: ReadonlyMap<string, SafetensorsFile>;
  /** The shard holding a tensor. */
  fileOf(name: string): string;
}

/** Opens a shard by its file name; undefined means "no such file" (MISSING_SHARD). */
export type OpenShard = (file: string) => Promise<ByteSource | undefined>;

/**
 * Opens every shard named by the index and checks that the shards and the index agree
 * exactly: each tensor in one shard only, and in the shard the index says.
 */
export async function openSharded(
  index: ShardIndex,
  open: OpenShard,
  options: Omit<OpenOptions, 'name'> & { name?: string } = {},
): Promise<ShardedCheckpoint> {
  const indexName = options.name ?? DEFAULT_INDEX_NAME;
  const shards = new Map<string, SafetensorsFile>();
  const owner = new Map<string, string>();
  const tensors = new Map<string, TensorInfo>();
  for (const file of index.files) {
    const source = await open(file);
    if (!source) throw new SafetensorsError('MISSING_SHARD', file, `shard named in ${indexName} not found`);
    const shard = await openSafetensors(source, { ...options, name: file });
    shards.set(file, shard);
    for (const [name, info] of shard.tensors) {
      const prev = owner.get(name);
      if (prev !== undefined) {
        throw new SafetensorsError('DUPLICATE_NAME', file, `tensor also present in shard ${JSON.stringify(prev)}`, { tensor: name });
      }
      const mapped = index.weightMap.get(name);
      if (mapped !== file) {
        const says = mapped === undefined ? 'does not list it' : `maps it to ${JSON.stringify(mapped)}`;
        throw new SafetensorsError('INDEX_MISMATCH', file, `tensor is in this shard but ${indexName} ${says}`, { tensor: name });
      }
      owner.set(name, file);
      tensors.set(name, info);
    }
  }
  for (const [name, file] of index.weightMap) {
    if (!owner.has(name)) {
      throw new SafetensorsError('INDEX_MISMATCH', file, `${indexName} maps the tensor to this shard, which lacks it`, { tensor: name });
    }
  }
  const shardOf = (name: string): SafetensorsFile => {
    const file = owner.get(name);
    if (file === undefined) throw new SafetensorsError('NOT_FOUND', indexName, 'no such tensor', { tensor: name });
    return shards.get(file)!;
  };
  return {
    index,
    shards,
    tensors,
    metadata: index.metadata,
    fileOf: (name) => shardOf(name).file,
    info: (name) => shardOf(name).info(name),
    readBytes: (name) => Promise.resolve().then(() => shardOf(name).readBytes(name)),
    read: (name) => Promise.resolve().then(() => shardOf(name).read(name)),
  };
}
