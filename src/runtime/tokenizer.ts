/**
 * Tokenizer and chat template, offline, on the two packages transformers.js builds its own
 * tokenizers from: @huggingface/tokenizers (tokenizer.json: normalizer, pre-tokenizer, model,
 * post-processor, decoder, added tokens) and @huggingface/jinja (the chat template). Not
 * transformers.js itself: that module also imports its own onnxruntime-web (another version,
 * another ~27 MB wasm), which would then ship in the worker bundle next to ours (issue 14).
 *
 * What this does is what transformers.js 4.x's `PreTrainedTokenizer` (the class AutoTokenizer
 * picks for `PreTrainedTokenizerFast`, `LlamaTokenizer`, `Qwen2Tokenizer`) does for encode,
 * decode and apply_chat_template; `tokenizer.test.ts` checks it token for token against
 * transformers.js on the zoo's tokenizers. No Node APIs here (Node reads the files:
 * `node/tokenizer.ts`).
 */
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The special-token names a chat template may use (transformers.js passes the same ones). */
const SPECIAL_TOKEN_KEYS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

type Json = Record<string, unknown>;

function asObject(v: unknown, what: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what}: expected a JSON object`);
  return v as Json;
}

/** A special token of tokenizer_config.json: a string or an AddedToken object (its content). */
function tokenFromConfig(config: Json, key: string): string | undefined {
  const item = config[key];
  if (!item) return undefined;
  if (typeof item === 'string') return item;
  if (typeof item === 'object' && (item as Json).__type === 'AddedToken' && typeof (item as Json).content === 'string') {
    return (item as Json).content as string;
  }
  throw new Error(`tokenizer_config.json: unknown token for ${key}: ${JSON.stringify(item)}`);
}

/** tokenizer_config.json's chat_template: a string, or a list of named templates (then 'default'). */
function chatTemplateFromConfig(config: Json): string | undefined {
  const t = config.chat_template;
  if (t === undefined || t === null) return undefined;
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t.find((x): x is { name: string; template: string } => typeof x?.name === 'string' && x.name === 'default');
    if (named && typeof named.template === 'string') return named.template;
    throw new Error('tokenizer_config.json: several chat templates and none named "default"');
  }
  throw new Error('tokenizer_config.json: chat_template must be a string or a list of {name, template}');
}

export class Tokenizer {
  private template: Template | undefined;
  private readonly specialTokens: Record<string, string> = {};
  private readonly chatTemplate: string | undefined;

  private constructor(
    private readonly inner: HfTokenizer,
    config: Json,
  ) {
    for (const key of SPECIAL_TOKEN_KEYS) {
      const v = tokenFromConfig(config, key);
      if (v) this.specialTokens[key] = v;
    }
    this.chatTemplate = chatTemplateFromConfig(config);
  }

  /**
   * From the parsed tokenizer.json and tokenizer_config.json (e.g. bundle files already fetched and
   * checksummed): no file lookup at all, which is what the browser worker wants.
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown): Tokenizer {
    const json = asObject(tokenizerJson, 'tokenizer.json');
    const config = asObject(tokenizerConfig, 'tokenizer_config.json');
    return new Tokenizer(new HfTokenizer(json, config), config);
  }

  /** From a folder's tokenizer.json and tokenizer_config.json, read by `readText(fileName)`. */
  static async fromFiles(readText: (fileName: string) => Promise<string>): Promise<Tokenizer> {
    const [tok, cfg] = await Promise.all([readText('tokenizer.json'), readText('tokenizer_config.json')]);
    return Tokenizer.fromJson(JSON.parse(tok), JSON.parse(cfg));
  }

  /** Text → ids (no special tokens added unless asked). */
  encode(text: string, addSpecialTokens = false): number[] {
    return this.inner.encode(text, { add_special_tokens: addSpecialTokens }).ids;
  }

  decode(ids: readonly number[], skipSpecialTokens = true): string {
    return this.inner.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  /** The chat template (tokenizer_config.json's chat_template) rendered to text. */
  renderChat(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
    if (this.chatTemplate === undefined) throw new Error('tokenizer_config.json has no chat_template');
    this.template ??= new Template(this.chatTemplate);
    return this.template.render({
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: addGenerationPrompt,
      tools: null,
      documents: null,
      ...this.specialTokens,
    });
  }

  /** The chat template rendered and tokenized (special tokens come from the template). */
  encodeChat(messages: readonly ChatMessage[], addGenerationPrompt = true): number[] {
    return this.encode(this.renderChat(messages, addGenerationPrompt), false);
  }

  /** Id of a special token such as <|im_end|>, or undefined. */
  tokenId(token: string): number | undefined {
    const ids = this.encode(token, false);
    return ids.length === 1 ? ids[0] : undefined;
  }
}
