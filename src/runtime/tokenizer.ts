/**
 * Tokenizer and chat template through transformers.js (AutoTokenizer), offline: models are read
 * from `localModelPath/<modelId>/` (a URL path in the browser, a directory in Node) and the hub
 * is never contacted.
 */
import { AutoTokenizer, env, PreTrainedTokenizer } from '@huggingface/transformers';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface TokenizerLocation {
  /** Folder (Node) or URL path (browser) that holds the model folder. */
  localModelPath: string;
  /** The model folder's name (no '+' in it: transformers.js lookup breaks). */
  modelId: string;
}

export class Tokenizer {
  private constructor(readonly inner: PreTrainedTokenizer) {}

  static async load(loc: TokenizerLocation): Promise<Tokenizer> {
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = loc.localModelPath.endsWith('/') ? loc.localModelPath : `${loc.localModelPath}/`;
    return new Tokenizer(await AutoTokenizer.from_pretrained(loc.modelId));
  }

  /**
   * From the parsed tokenizer.json and tokenizer_config.json (e.g. bundle files already fetched and
   * checksummed): no file lookup at all, which is what the browser worker wants.
   */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown): Tokenizer {
    return new Tokenizer(new PreTrainedTokenizer(tokenizerJson, tokenizerConfig));
  }

  /** Text → ids (no special tokens added unless asked). */
  encode(text: string, addSpecialTokens = false): number[] {
    return this.inner.encode(text, { add_special_tokens: addSpecialTokens });
  }

  decode(ids: readonly number[], skipSpecialTokens = true): string {
    return this.inner.decode([...ids], { skip_special_tokens: skipSpecialTokens });
  }

  /** The chat template (tokenizer_config.json's chat_template) rendered to text. */
  renderChat(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
    return this.inner.apply_chat_template(messages.map((m) => ({ ...m })), {
      tokenize: false,
      add_generation_prompt: addGenerationPrompt,
    }) as string;
  }

  /** The chat template rendered and tokenized (special tokens come from the template). */
  encodeChat(messages: readonly ChatMessage[], addGenerationPrompt = true): number[] {
    return this.encode(this.renderChat(messages, addGenerationPrompt), false);
  }

  /** Id of a special token such as <|im_end|>, or undefined. */
  tokenId(token: string): number | undefined {
    const ids = this.inner.encode(token, { add_special_tokens: false });
    return ids.length === 1 ? ids[0] : undefined;
  }
}
