// Our tokenizer (@huggingface/tokenizers + @huggingface/jinja, what the worker bundles) against
// transformers.js's AutoTokenizer (the reference, Node only) on every tokenizer of the zoo: the same
// ids, the same decoded text, the same rendered chat template.
import { readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AutoTokenizer, env, type PreTrainedTokenizer } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { Tokenizer, type ChatMessage } from './tokenizer.ts';
import { loadTokenizerDir } from './node/tokenizer.ts';

const MODELS = resolve('models');
const DIRS = [
  join(MODELS, 'base'),
  join(MODELS, 'bundle'),
  ...readdirSync(join(MODELS, 'experts')).map((d) => join(MODELS, 'experts', d)),
].filter((d) => existsSync(join(d, 'tokenizer.json')));

const TEXTS = [
  '',
  'hello world',
  'add 12 34',
  'reverse: strawberry',
  '  leading and trailing  ',
  'Ünïcödé — ½ · 日本語 🙂',
  'tabs\tand\nnewlines\r\n',
  '<|im_start|>user\nsort bca<|im_end|>\n<|im_start|>assistant\n',
  '<|endoftext|><|im_end|>x<|im_start|>',
];

const CHATS: ChatMessage[][] = [
  [{ role: 'user', content: 'upper abc' }],
  [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: 'add 2 3' },
    { role: 'assistant', content: '5' },
    { role: 'user', content: 'reverse: ünï 🙂' },
  ],
];

async function reference(dir: string): Promise<PreTrainedTokenizer> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = `${resolve(dir, '..')}/`;
  return AutoTokenizer.from_pretrained(dir.split('/').pop()!);
}

describe('tokenizer matches transformers.js', () => {
  it('finds the zoo tokenizers', () => {
    expect(DIRS.length).toBeGreaterThanOrEqual(2);
  });

  for (const dir of DIRS) {
    it(`${dir.slice(MODELS.length + 1)}: encode, decode, chat template, special ids`, async () => {
      const ours = await loadTokenizerDir(dir);
      const ref = await reference(dir);
      for (const text of TEXTS) {
        for (const special of [false, true]) {
          const ids = ours.encode(text, special);
          expect(ids, JSON.stringify(text)).toEqual(ref.encode(text, { add_special_tokens: special }));
          if (ids.length === 0) continue;
          for (const skip of [false, true]) {
            expect(ours.decode(ids, skip)).toBe(ref.decode(ids, { skip_special_tokens: skip }));
          }
        }
      }
      for (const chat of CHATS) {
        for (const gen of [false, true]) {
          const want = ref.apply_chat_template(chat.map((m) => ({ ...m })), { tokenize: false, add_generation_prompt: gen }) as string;
          expect(ours.renderChat(chat, gen)).toBe(want);
          expect(ours.encodeChat(chat, gen)).toEqual(ref.encode(want, { add_special_tokens: false }));
        }
      }
      for (const t of ['<|im_end|>', '<|endoftext|>', '<|im_start|>']) {
        const refIds = ref.encode(t, { add_special_tokens: false });
        expect(ours.tokenId(t)).toBe(refIds.length === 1 ? refIds[0] : undefined);
      }
    });
  }

  it('fromJson takes an AddedToken object as a special token and a named default template', () => {
    const tokenizerJson = {
      version: '1.0',
      added_tokens: [{ id: 3, content: '<s>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
      model: { type: 'WordLevel', vocab: { a: 0, b: 1, '[UNK]': 2, '<s>': 3 }, unk_token: '[UNK]' },
    };
    const tok = Tokenizer.fromJson(tokenizerJson, {
      bos_token: { __type: 'AddedToken', content: '<s>' },
      chat_template: [{ name: 'default', template: '{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}' }],
    });
    expect(tok.renderChat([{ role: 'user', content: 'ab' }])).toBe('<s>ab');
    expect(tok.tokenId('<s>')).toBe(3);
    expect(() => Tokenizer.fromJson(tokenizerJson, {}).renderChat([])).toThrow(/no chat_template/);
  });
});
