// Checks that transformers.js (offline, local folder) tokenizes exactly like the Python recipe.
// Usage (repo root): node models/recipe/check_tokenizer.mjs [zooDir=models] [checkpoint=base]
// Reads <zooDir>/fixtures/tokenizer_cases.json written by make_zoo.py.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';

const zoo = path.resolve(process.argv[2] ?? 'models');
const ckpt = process.argv[3] ?? 'base';
env.allowRemoteModels = false;
env.allowLocalModels = true;
env.localModelPath = zoo + path.sep;

const cases = JSON.parse(readFileSync(path.join(zoo, 'fixtures', 'tokenizer_cases.json'), 'utf8'));
const tokenizer = await AutoTokenizer.from_pretrained(ckpt);
let failures = 0;
// transformers.js 4.x returns { input_ids, attention_mask } from a tokenizing apply_chat_template
const idsOf = (r) => Array.from(Array.isArray(r) ? r : r.input_ids, Number);
const eq = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
function check(label, got, want) {
  if (!eq(got, want)) {
    failures++;
    console.error(`FAIL ${label}\n  got  ${JSON.stringify(got)}\n  want ${JSON.stringify(want)}`);
  }
}

for (const [i, c] of cases.encode.entries()) {
  const ids = Array.from(tokenizer.encode(c.text), Number);
  check(`encode[${i}]`, ids, c.ids);
  const text = tokenizer.decode(c.ids, { skip_special_tokens: false });
  if (text !== c.text) {
    failures++;
    console.error(`FAIL decode[${i}]: ${JSON.stringify(text)} != ${JSON.stringify(c.text)}`);
  }
}
// every single byte id decodes to its own character (ASCII) / every id has a token
for (let b = 0; b < 128; b++) {
  const s = tokenizer.decode([b]);
  if (s !== String.fromCharCode(b)) { failures++; console.error(`FAIL byte ${b} -> ${JSON.stringify(s)}`); }
}
for (let id = 0; id < cases.vocab_size; id++) {
  const s = tokenizer.decode([id], { skip_special_tokens: false });
  if (typeof s !== 'string' || s.length === 0) { failures++; console.error(`FAIL id ${id} decodes to ${JSON.stringify(s)}`); }
}
// a high byte split across ids still reassembles (UTF-8 of U+2603 is e2 98 83)
if (tokenizer.decode([0xe2, 0x98, 0x83]) !== '\u2603') { failures++; console.error('FAIL multi-byte reassembly'); }
for (const [name, id] of Object.entries(cases.special_tokens)) {
  check(`special ${name}`, Array.from(tokenizer.encode(name), Number), [id]);
  if (tokenizer.decode([id]) !== name) { failures++; console.error(`FAIL decode special ${id}`); }
}
for (const [i, c] of cases.chat.entries()) {
  const user = [{ role: 'user', content: c.user }];
  const p = tokenizer.apply_chat_template(user, { add_generation_prompt: true, tokenize: true, return_tensor: false });
  check(`chat prompt[${i}]`, idsOf(p), c.prompt_ids);
  const conv = tokenizer.apply_chat_template([...user, { role: 'assistant', content: c.assistant }],
    { tokenize: true, return_tensor: false });
  check(`chat conversation[${i}]`, idsOf(conv), c.conversation_ids);
  // the training sequence is the conversation without its final "\n"
  check(`chat train[${i}]`, idsOf(conv).slice(0, -1), c.train_ids);
}
console.log(`tokenizer check (${ckpt} in ${path.relative(process.cwd(), zoo) || '.'}): ` +
  `${cases.encode.length} encode cases, ${cases.chat.length} chat cases, ${failures} failures`);
process.exit(failures ? 1 : 0);
