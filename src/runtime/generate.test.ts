// Generation loop, sampling, streaming, stop conditions, cancellation and KV reuse across turns.
import { describe, expect, it } from 'vitest';
import { referenceForward } from '../model/reference.ts';
import { argmax, makeRng, sampleToken } from './sampling.ts';
import { generate, streamGenerate } from './generate.ts';
import { meanPool } from './engine.ts';
import { tinyConfig, tinyEngine } from '../testing/tinyModel.ts';

describe('sampling', () => {
  const logits = Float32Array.from([0.1, 2.5, -1, 2.4, 0]);
  it('greedy = argmax; top-k 1 and tiny top-p collapse to argmax', () => {
    expect(argmax(logits)).toBe(1);
    expect(sampleToken(logits, {}, makeRng(1))).toBe(1);
    for (let s = 0; s < 20; s++) {
      expect(sampleToken(logits, { temperature: 1, topK: 1 }, makeRng(s))).toBe(1);
      expect(sampleToken(logits, { temperature: 1, topP: 0.01 }, makeRng(s))).toBe(1);
    }
  });
  it('is deterministic for a seed and respects top-k', () => {
    const draw = (seed: number): number[] => {
      const rng = makeRng(seed);
      return Array.from({ length: 50 }, () => sampleToken(logits, { temperature: 2, topK: 2 }, rng));
    };
    const a = draw(7);
    expect(draw(7)).toEqual(a);
    expect(draw(8)).not.toEqual(a);
    expect(new Set(a)).toEqual(new Set([1, 3]));
  });
});

describe('generate (tiny random llama, ORT wasm)', () => {
  const PROMPT = [5, 9, 14, 2, 33];

  it('greedy tokens equal argmax of the float64 reference recomputed from scratch', async () => {
    const m = await tinyEngine(tinyConfig({ eos_token_id: null }), { seed: 11 });
    const r = await generate(m.engine, PROMPT, { maxNewTokens: 8 });
    expect(r.tokens).toHaveLength(8);
    expect(r.finishReason).toBe('length');
    const seq = [...PROMPT];
    for (let i = 0; i < 8; i++) {
      const ref = referenceForward(m.spec, (n) => m.weights.get(n)!, seq);
      const V = m.spec.vocabSize;
      seq.push(argmax(ref.logits.subarray((seq.length - 1) * V)));
    }
    expect(r.tokens).toEqual(seq.slice(PROMPT.length));
    await m.engine.dispose();
  });

  it('stops on EOS, on stop strings, on abort; streams tokens and text', async () => {
    const m = await tinyEngine(tinyConfig({ eos_token_id: null }), { seed: 11 });
    const free = await generate(m.engine, PROMPT, { maxNewTokens: 8 });
    m.engine.resetCache();
    const eos = await generate(m.engine, PROMPT, { maxNewTokens: 8, eosTokenIds: [free.tokens[3]!] });
    expect(eos.finishReason).toBe('eos');
    expect(eos.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(free.tokens[3]!)));

    const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(65 + (i % 26))).join('');
    const full = decode(free.tokens);
    const stop = full.slice(4, 6);
    const events: string[] = [];
    const it = streamGenerate(m.engine, PROMPT, { maxNewTokens: 8, decode, stopStrings: [stop] });
    let res;
    for (;;) {
      const n = await it.next();
      if (n.done) {
        res = n.value;
        break;
      }
      events.push(n.value.textDelta);
    }
    expect(res.finishReason).toBe('stop');
    expect(res.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(events.join('')).toBe(res.text);

    const ac = new AbortController();
    const seen: number[] = [];
    const ab = await generate(m.engine, PROMPT, {
      maxNewTokens: 8,
      signal: ac.signal,
      onToken: (e) => {
        seen.push(e.token);
        if (seen.length === 2) ac.abort();
      },
    });
    expect(ab.finishReason).toBe('aborted');
    expect(ab.tokens).toEqual(free.tokens.slice(0, 2));
    await m.engine.dispose();
  });

  it('reuses the KV cache across chat turns and matches a fresh computation', async () => {
    const m = await tinyEngine(tinyConfig({ eos_token_id: null }), { seed: 12 });
    const turn1 = await generate(m.engine, PROMPT, { maxNewTokens: 6 });
    expect(turn1.promptTokensComputed).toBe(PROMPT.length);
    const prompt2 = [...PROMPT, ...turn1.tokens, 40, 41, 42];
    const turn2 = await generate(m.engine, prompt2, { maxNewTokens: 6 });
    // all but the last generated token (never fed) came from the cache
    expect(turn2.promptTokensComputed).toBe(prompt2.length - (PROMPT.length + turn1.tokens.length - 1));
    m.engine.resetCache();
    const fresh = await generate(m.engine, prompt2, { maxNewTokens: 6 });
    expect(fresh.promptTokensComputed).toBe(prompt2.length);
    expect(turn2.tokens).toEqual(fresh.tokens);
    // an edited earlier turn: the cache is cut back to the common prefix (CPU cache)
    const edited = [...PROMPT.slice(0, 3), 7, 7, 7];
    const turn3 = await generate(m.engine, edited, { maxNewTokens: 4 });
    expect(turn3.promptTokensComputed).toBe(3);
    m.engine.resetCache();
    expect((await generate(m.engine, edited, { maxNewTokens: 4 })).tokens).toEqual(turn3.tokens);
    await m.engine.dispose();
  });

  it('token-by-token continuation (chunkedContinuation=false) gives the same result', async () => {
    const m = await tinyEngine(tinyConfig({ eos_token_id: null }), { seed: 12, chunked: false });
    const turn1 = await generate(m.engine, PROMPT, { maxNewTokens: 6 });
    const turn2 = await generate(m.engine, [...PROMPT, ...turn1.tokens, 40, 41, 42], { maxNewTokens: 6 });
    const ref = await tinyEngine(tinyConfig({ eos_token_id: null }), { seed: 12 });
    expect(turn2.tokens).toEqual((await generate(ref.engine, [...PROMPT, ...turn1.tokens, 40, 41, 42], { maxNewTokens: 6 })).tokens);
    await m.engine.dispose();
    await ref.engine.dispose();
  });

  it('hiddenStates gives the router features without touching the cache', async () => {
    const m = await tinyEngine(tinyConfig(), { seed: 13 });
    await m.engine.prefill(PROMPT);
    const h = await m.engine.hiddenStates([1, 2, 3]);
    expect(m.engine.cachedTokens).toEqual(PROMPT);
    const ref = referenceForward(m.spec, (n) => m.weights.get(n)!, [1, 2, 3]);
    const pooled = meanPool(h, m.spec.hiddenSize);
    for (let i = 0; i < m.spec.hiddenSize; i++) {
      const want = (ref.hidden[i]! + ref.hidden[64 + i]! + ref.hidden[128 + i]!) / 3;
      expect(Math.abs(pooled[i]! - want)).toBeLessThan(1e-4);
    }
    await m.engine.dispose();
  });

  it('rejects wrong weight feeds before running', async () => {
    const m = await tinyEngine(tinyConfig(), { seed: 14 });
    expect(() => m.engine.setWeights({})).toThrow(/missing weight feeds: model\.embed_tokens\.weight/);
    await m.engine.dispose();
  });
});
