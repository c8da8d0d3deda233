// Which dropped files are read, which are set aside, and how a bad file is worded (plain words on
// the first line of the message, the codec's detail after it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors } from '../../core/safetensors/index.ts';
import { parseModelConfig } from '../../model/config.ts';
import { expectedTensors } from '../../model/llama.ts';
import { ExpertFileError, inspectExpertFiles, type DroppedFileData } from './customExpert.ts';

const ZOO = 'models';
const spec = parseModelConfig(JSON.parse(readFileSync(join(ZOO, 'base', 'config.json'), 'utf8')));
const weights = expectedTensors(spec);
const ctx = { weights, baseDelta: new Map(), model: spec, checkpointRank: 16 };
const file = (name: string, content: string | Uint8Array): DroppedFileData => ({ name, bytes: typeof content === 'string' ? new TextEncoder().encode(content) : content });
const zooFile = (...p: string[]) => file(p[p.length - 1]!, new Uint8Array(readFileSync(join(ZOO, ...p))));
const adapterFolder = () => [zooFile('adapters', 'caesar', 'adapter_config.json'), zooFile('adapters', 'caesar', 'adapter_model.safetensors'), zooFile('adapters', 'caesar', 'train_stats.json')];

async function problem(files: DroppedFileData[]): Promise<{ summary: string; detail: string | undefined; file: string; tensor: string | undefined }> {
  try {
    await inspectExpertFiles(files, ctx);
  } catch (e) {
    if (!(e instanceof ExpertFileError)) throw e;
    const [summary, ...rest] = e.message.split('\n');
    expect(summary).toBe(e.summary);
    return { summary: summary!, detail: rest.length ? rest.join('\n') : undefined, file: e.file, tensor: e.tensor };
  }
  throw new Error('no error');
}

describe('dropped files', async () => {
  it('accepts a whole adapter folder with its examples, and says which files it did not use', async () => {
    const got = await inspectExpertFiles([...adapterFolder(), file('README.md', '# caesar'), file('tokenizer.json', '{"model": {}}'), file('.DS_Store', new Uint8Array([0, 0, 0, 1])), zooFile('data', 'caesar', 'examples.json')], ctx);
    expect(got.format).toBe('peft');
    expect(got.suggestions.name).toBe('Caesar shift');
    expect(got.suggestions.examplePrompts.length).toBeGreaterThanOrEqual(32);
    expect(got.warnings).toEqual([expect.stringMatching(/^Not used: train_stats\.json, README\.md, tokenizer\.json \(/)]);
  });

  it('decides an examples file by its content, not its name', async () => {
    const got = await inspectExpertFiles([...adapterFolder(), file('my-task.json', JSON.stringify({ prompts: ['a', 'b'], name: 'Mine' }))], ctx);
    expect(got.suggestions.name).toBe('Mine');
    expect(got.suggestions.examplePrompts).toEqual(['a', 'b']);
    const list = await inspectExpertFiles([...adapterFolder(), file('whatever.json', '["x", "y"]'), file('prompts.txt', 'one\ntwo\n')], ctx);
    expect(list.suggestions.examplePrompts).toEqual(['one', 'two']); // named like an examples file: it wins
    expect(list.warnings.join(' ')).toMatch(/whatever\.json/);
    // A file named like examples that holds no prompts is a mistake worth saying.
    expect((await problem([...adapterFolder(), file('examples.json', '{"steps": 3}')])).summary).toBe('examples.json does not hold example prompts: it should be a JSON list of prompt strings, or { "prompts": [...] }.');
  });

  it('sets a pickle aside when the safetensors weights are there, and refuses it alone', async () => {
    const got = await inspectExpertFiles([...adapterFolder(), file('adapter_model.bin', new Uint8Array([0x80, 2]))], ctx);
    expect(got.warnings.join(' ')).toMatch(/adapter_model\.bin/);
    expect((await problem([zooFile('adapters', 'caesar', 'adapter_config.json'), file('adapter_model.bin', new Uint8Array([0x80, 2]))])).summary).toMatch(/^adapter_model\.bin is a PyTorch pickle file; pickle files are never loaded/);
    expect((await problem([file('README.md', 'hi'), file('notes.txt', 'hello')])).summary).toMatch(/^None of the dropped files is an expert/);
  });

  it('words a bad file for a user first, the codec detail second', async () => {
    const textFile = await problem([file('x.safetensors', 'This is a README that someone renamed to .safetensors.\n')]);
    expect(textFile.summary).toBe('x.safetensors is not a safetensors file (it looks like text).');
    expect(textFile.detail).toMatch(/HEADER_TOO_LARGE/);
    expect((await problem([file('x.safetensors', new Uint8Array(0))])).summary).toBe('x.safetensors is empty (0 bytes).');
    expect((await problem([file('x.safetensors', new Uint8Array([1, 0, 0]))])).summary).toBe('x.safetensors is not a safetensors file: it is only 3 bytes long.');
    expect((await problem([file('x.safetensors', '<!DOCTYPE html><html><body>Hugging Face</body></html>')])).summary).toMatch(/looks like a web page/);
    expect((await problem([file('x.safetensors', new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0]))])).summary).toMatch(/zip archive/);
    const full = encodeSafetensors([{ name: 'model.layers.0.self_attn.q_proj.weight.A', dtype: 'F32', shape: [2, 64], data: new Float32Array(128) }]);
    const cut = await problem([file('cut.safetensors', full.subarray(0, full.length - 100))]);
    expect(cut.summary).toBe('cut.safetensors is incomplete: the file ends before the data it describes (an interrupted download or copy?).');
    expect(cut.detail).toMatch(/\[(TRUNCATED|OUT_OF_BOUNDS)\]/);
    const headerCut = await problem([file('cut.safetensors', full.subarray(0, 20))]);
    expect(headerCut.summary).toMatch(/is incomplete/);
    // Another architecture: the summary says so, the detail names the tensor and the shapes.
    const other = await problem([file('other.safetensors', encodeSafetensors([{ name: 'model.layers.0.self_attn.q_proj.weight.delta', dtype: 'F32', shape: [3], data: new Float32Array(3) }]))]);
    expect(other.summary).toBe("other.safetensors was made for a different model: its weights do not fit this model's shapes.");
    expect(other.detail).toMatch(/model\.layers\.0\.self_attn\.q_proj\.weight/);
  });

  // A fully fine-tuned checkpoint: the zoo's `double` (config.json + model.safetensors + its tokenizer and logs).
  const ckptFolder = () => ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'train_stats.json'].map((f) => zooFile('checkpoints', 'double', f));
  const ckptBytes = () => new Uint8Array(readFileSync(join(ZOO, 'checkpoints', 'double', 'model.safetensors')));
  const config = () => JSON.parse(readFileSync(join(ZOO, 'checkpoints', 'double', 'config.json'), 'utf8')) as Record<string, unknown>;

  it('a whole checkpoint folder is a checkpoint, checked against the model; its unrelated files are named', async () => {
    const got = await inspectExpertFiles([...ckptFolder(), zooFile('data', 'double', 'examples.json')], ctx);
    expect(got.format).toBe('checkpoint');
    expect(got.rank).toBe(16);
    expect(got.tensors).toBe(weights.length);
    expect(got.suggestions.examplePrompts.length).toBeGreaterThanOrEqual(16);
    expect(got.warnings[0]).toMatch(/extracted when you add it/);
    expect(got.warnings[1]).toMatch(/^Not used: generation_config\.json, tokenizer\.json, tokenizer_config\.json, train_stats\.json/);
  });

  it('a checkpoint of another architecture, a wrong shape, a truncated file, a missing shard: worded, naming file and tensor', async () => {
    const wider = await problem([file('config.json', JSON.stringify({ ...config(), hidden_size: 256, head_dim: 64 })), zooFile('checkpoints', 'double', 'model.safetensors')]);
    expect(wider).toMatchObject({ file: 'config.json', summary: 'config.json describes a different model than the one loaded: the checkpoint was not fine-tuned from it.' });
    expect(wider.detail).toMatch(/hidden size 256, the model's 128/);
    const qwen = await problem([file('config.json', JSON.stringify({ ...config(), model_type: 'gpt2' })), zooFile('checkpoints', 'double', 'model.safetensors')]);
    expect(qwen.summary).toBe('config.json describes a model this app cannot run.');

    // One tensor of the right name with the wrong shape.
    const { decodeSafetensors } = await import('../../core/safetensors/index.ts');
    const { tensors } = decodeSafetensors(ckptBytes());
    const bad = [...tensors.values()].map((t) => ({ name: t.name, dtype: t.dtype, shape: t.name === 'model.layers.1.mlp.up_proj.weight' ? [t.shape[1]!, t.shape[0]!] : t.shape, data: t.data }));
    const shape = await problem([zooFile('checkpoints', 'double', 'config.json'), file('model.safetensors', encodeSafetensors(bad as never))]);
    expect(shape).toMatchObject({ file: 'model.safetensors', tensor: 'model.layers.1.mlp.up_proj.weight' });
    expect(shape.summary).toMatch(/^model\.safetensors does not fit the model its config\.json describes: model\.layers\.1\.mlp\.up_proj\.weight has shape \[128, 352\] where the model needs \[352, 128\]/);

    const cut = await problem([zooFile('checkpoints', 'double', 'config.json'), file('model.safetensors', ckptBytes().subarray(0, 100_000))]);
    expect(cut).toMatchObject({ file: 'model.safetensors', summary: 'model.safetensors is incomplete: the file ends before the data it describes (an interrupted download or copy?).' });

    const index = JSON.stringify({ metadata: {}, weight_map: Object.fromEntries([...tensors.keys()].map((k, i) => [k, i % 2 ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors'])) });
    const shard = await problem([zooFile('checkpoints', 'double', 'config.json'), file('model.safetensors.index.json', index), file('model-00001-of-00002.safetensors', ckptBytes())]);
    expect(shard).toMatchObject({ file: 'model-00002-of-00002.safetensors' });
    expect(shard.summary).toMatch(/names a shard that was not dropped: model-00002-of-00002\.safetensors/);
    expect((await problem([zooFile('checkpoints', 'double', 'config.json')])).summary).toMatch(/without the model's weights/);
  });

  it('a sharded checkpoint (index + shards) is read as one', async () => {
    const { decodeSafetensors } = await import('../../core/safetensors/index.ts');
    const all = [...decodeSafetensors(ckptBytes()).tensors.values()];
    const half = (k: number) => all.filter((_, i) => i % 2 === k).map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: t.data }));
    const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const index = JSON.stringify({ metadata: {}, weight_map: Object.fromEntries(all.map((t, i) => [t.name, names[i % 2]])) });
    const got = await inspectExpertFiles([zooFile('checkpoints', 'double', 'config.json'), file('model.safetensors.index.json', index), file(names[0]!, encodeSafetensors(half(0) as never)), file(names[1]!, encodeSafetensors(half(1) as never))], ctx);
    expect(got.format).toBe('checkpoint');
    expect(got.warnings).toHaveLength(1);
  });
});
