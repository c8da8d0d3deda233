// The router's input, defined once for pack (Node) and the app (worker): the user's message alone,
// in the chat template without the generation prompt, run through the SHARED model; the feature is
// the mean over its tokens of the final-norm hidden state.
import { meanPool, type DecoderEngine } from './engine.ts';
import type { OrtTensor } from './ort.ts';
import type { Tokenizer } from './tokenizer.ts';

export function routerPromptIds(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encodeChat([{ role: 'user', content: text }], false);
}

/** Features of one message; `sharedWeights` are the shared model's feeds when the engine's current weights are not. */
export async function routerFeatures(engine: DecoderEngine, tokenizer: Tokenizer, text: string, sharedWeights?: Record<string, OrtTensor>): Promise<Float32Array> {
  const ids = routerPromptIds(tokenizer, text);
  return meanPool(await engine.hiddenStates(ids, sharedWeights), engine.spec.hiddenSize);
}
