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
const weights = expectedTensors(parseModelConfig(JSON.parse(readFileSync(join(ZOO, 'base', 'config.json'), 'utf8'))));
const noDelta = new Map();
const file = (name: string, content: string | Uint8Array): DroppedFileData => ({ name, bytes: typeof content === 'string' ? new TextEncoder().encode(content) : content });
const zooFile = (...p: string[]) => file(p[p.length - 1]!, new Uint8Array(readFileSync(join(ZOO, ...p))));
const adapterFolder = () => [zooFile('adapters', 'caesar', 'adapter_config.json'), zooFile('adapters', 'caesar', 'adapter_model.safetensors'), zooFile('adapters', 'caesar', 'train_stats.json')];

function problem(files: DroppedFileData[]): { summary: string; detail: string | undefined; file: string } {
  try {
    inspectExpertFiles(files, weights, noDelta);
  } catch (e) {
    if (!(e instanceof ExpertFileError)) throw e;
    const [summary, ...rest] = e.message.split('\n');
    expect(summary).toBe(e.summary);
    return { summary: summary!, detail: rest.length ? rest.join('\n') : undefined, file: e.file };
  }
  throw new Error('no error');
}

describe('dropped files', () => {
  it('accepts a whole adapter folder with its examples, and says which files it did not use', () => {
    const got = inspectExpertFiles([...adapterFolder(), file('README.md', '# caesar'), file('tokenizer.json', '{"model": {}}'), file('.DS_Store', new Uint8Array([0, 0, 0, 1])), zooFile('data', 'caesar', 'examples.json')], weights, noDelta);
    expect(got.format).toBe('peft');
    expect(got.suggestions.name).toBe('Caesar shift');
    expect(got.suggestions.examplePrompts.length).toBeGreaterThanOrEqual(32);
    expect(got.warnings).toEqual([expect.stringMatching(/^Not used: train_stats\.json, README\.md, tokenizer\.json \(/)]);
  });

  it('decides an examples file by its content, not its name', () => {
    const got = inspectExpertFiles([...adapterFolder(), file('my-task.json', JSON.stringify({ prompts: ['a', 'b'], name: 'Mine' }))], weights, noDelta);
    expect(got.suggestions.name).toBe('Mine');
    expect(got.suggestions.examplePrompts).toEqual(['a', 'b']);
    const list = inspectExpertFiles([...adapterFolder(), file('whatever.json', '["x", "y"]'), file('prompts.txt', 'one\ntwo\n')], weights, noDelta);
    expect(list.suggestions.examplePrompts).toEqual(['one', 'two']); // named like an examples file: it wins
    expect(list.warnings.join(' ')).toMatch(/whatever\.json/);
    // A file named like examples that holds no prompts is a mistake worth saying.
    expect(problem([...adapterFolder(), file('examples.json', '{"steps": 3}')]).summary).toBe('examples.json does not hold example prompts: it should be a JSON list of prompt strings, or { "prompts": [...] }.');
  });

  it('sets a pickle aside when the safetensors weights are there, and refuses it alone', () => {
    const got = inspectExpertFiles([...adapterFolder(), file('adapter_model.bin', new Uint8Array([0x80, 2]))], weights, noDelta);
    expect(got.warnings.join(' ')).toMatch(/adapter_model\.bin/);
    expect(problem([zooFile('adapters', 'caesar', 'adapter_config.json'), file('adapter_model.bin', new Uint8Array([0x80, 2]))]).summary).toMatch(/^adapter_model\.bin is a PyTorch pickle file; pickle files are never loaded/);
    expect(problem([file('README.md', 'hi'), file('notes.txt', 'hello')]).summary).toMatch(/^None of the dropped files is an expert/);
  });

  it('words a bad file for a user first, the codec detail second', () => {
    const textFile = problem([file('x.safetensors', 'This is a README that someone renamed to .safetensors.\n')]);
    expect(textFile.summary).toBe('x.safetensors is not a safetensors file (it looks like text).');
    expect(textFile.detail).toMatch(/HEADER_TOO_LARGE/);
    expect(problem([file('x.safetensors', new Uint8Array(0))]).summary).toBe('x.safetensors is empty (0 bytes).');
    expect(problem([file('x.safetensors', new Uint8Array([1, 0, 0]))]).summary).toBe('x.safetensors is not a safetensors file: it is only 3 bytes long.');
    expect(problem([file('x.safetensors', '<!DOCTYPE html><html><body>Hugging Face</body></html>')]).summary).toMatch(/looks like a web page/);
    expect(problem([file('x.safetensors', new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0]))]).summary).toMatch(/zip archive/);
    const full = encodeSafetensors([{ name: 'model.layers.0.self_attn.q_proj.weight.A', dtype: 'F32', shape: [2, 64], data: new Float32Array(128) }]);
    const cut = problem([file('cut.safetensors', full.subarray(0, full.length - 100))]);
    expect(cut.summary).toBe('cut.safetensors is incomplete: the file ends before the data it describes (an interrupted download or copy?).');
    expect(cut.detail).toMatch(/\[(TRUNCATED|OUT_OF_BOUNDS)\]/);
    const headerCut = problem([file('cut.safetensors', full.subarray(0, 20))]);
    expect(headerCut.summary).toMatch(/is incomplete/);
    // Another architecture: the summary says so, the detail names the tensor and the shapes.
    const other = problem([file('other.safetensors', encodeSafetensors([{ name: 'model.layers.0.self_attn.q_proj.weight.delta', dtype: 'F32', shape: [3], data: new Float32Array(3) }]))]);
    expect(other.summary).toBe("other.safetensors was made for a different model: its weights do not fit this model's shapes.");
    expect(other.detail).toMatch(/model\.layers\.0\.self_attn\.q_proj\.weight/);
  });
});
