// The generation side of `twinmerge eval`: one ORT session (weights are graph inputs), greedy
// decoding of each example in the chat template until EOS, exact match against the answer.
// Results are cached by (composition key, example): a routing that rounds to the same weights as
// another variant's (learned routing is usually one-hot) costs nothing the second time.
import type { ModelSpec } from '../../model/config.ts';
import type { DecoderGraph } from '../../model/onnx/decoder.ts';
import type { DecoderEngine } from '../../runtime/engine.ts';
import { generate } from '../../runtime/generate.ts';
import { createNodeEngine, loadNodeOrt, type NodeBackend } from '../../runtime/node/session.ts';
import type { OrtModule, OrtTensor } from '../../runtime/ort.ts';
import { routerFeaturesPerLayer } from '../../runtime/routerFeatures.ts';
import type { Tokenizer } from '../../runtime/tokenizer.ts';
import { cpuWeightFeeds } from '../../runtime/weights.ts';
import { Progress } from '../progress.ts';
import type { ChatTurn } from '../pack/data.ts';
import { canStillMatch, exactMatch } from './score.ts';

export interface ChatExample {
  prompt: string;
  answer: string;
  history?: ChatTurn[];
}


/** HF-layout float32 tensors by name. */
export type Weights = Map<string, Float32Array>;

/** val: choices; test: the report; wording / multiturn / long: unseen phrasings, a task after earlier turns, longer inputs. */
export type Split = 'val' | 'test' | 'wording' | 'multiturn' | 'long';

export interface Example {
  task: string;
  taskIndex: number;
  split: Split;
  index: number;
  /** The last user turn (what the router sees). */
  prompt: string;
  answer: string;
  history?: ChatTurn[];
  /** The whole chat (earlier turns, then the prompt) in the chat template with the generation prompt. */
  ids: number[];
}

export interface Outcome {
  ok: boolean;
  text: string;
}

/** A unit of work: an example generated with the weights named by `key`. */
export interface Job {
  ex: Example;
  key: string;
}

export class Runner {
  private readonly cache = new Map<string, Outcome>();
  private readonly maxNew = new Map<string, number>();
  /** Generations actually run (not served from the cache), and their time. */
  generated = 0;
  generateMs = 0;
  composeMs = 0;

  private constructor(
    readonly ort: OrtModule,
    readonly engine: DecoderEngine,
    readonly graph: DecoderGraph,
    readonly tokenizer: Tokenizer,
    readonly eos: number[],
  ) {}

  static async create(spec: ModelSpec, graph: DecoderGraph, tokenizer: Tokenizer, eos: number[], backend: NodeBackend, threads: number): Promise<Runner> {
    const ort = await loadNodeOrt(backend, threads);
    const engine = await createNodeEngine(spec, graph, { backend, threads });
    return new Runner(ort, engine, graph, tokenizer, eos);
  }

  /** Examples of one split of one task, with their prompt ids; fixes the split's generation length. */
  examples(task: string, taskIndex: number, split: Split, items: readonly ChatExample[]): Example[] {
    const out = items.map((it, index) => ({ task, taskIndex, split, index, prompt: it.prompt, answer: it.answer, ...(it.history ? { history: it.history } : {}), ids: this.tokenizer.encodeChat([...(it.history ?? []), { role: 'user', content: it.prompt }], true) }));
    // As the zoo's own evaluation: the longest answer + 2 tokens (a longer output cannot match).
    const longest = Math.max(0, ...items.map((it) => this.tokenizer.encode(it.answer).length));
    this.maxNew.set(`${split}/${task}`, longest + 2);
    return out;
  }

  async feeds(w: Weights): Promise<Record<string, OrtTensor>> {
    return cpuWeightFeeds(this.ort, this.graph.io, (n) => {
      const d = w.get(n);
      if (!d) throw new Error(`no weight ${n}`);
      return d;
    });
  }

  /**
   * Router features (the app's definition, src/runtime/routerFeatures.ts) of prompts under the given
   * shared weights, after every layer: [layer - 1][prompt].
   */
  async features(prompts: readonly string[], shared: Record<string, OrtTensor>, label: string): Promise<Float32Array[][]> {
    const bar = new Progress(label, prompts.length);
    const out: Float32Array[][] = Array.from({ length: this.graph.io.layerHiddenNames.length }, () => []);
    for (const p of prompts) {
      (await routerFeaturesPerLayer(this.engine, this.tokenizer, p, shared)).forEach((f, l) => out[l]!.push(f));
      bar.tick();
    }
    bar.finish();
    return out;
  }

  private static exKey(key: string, ex: Example): string {
    return `${key}\u0000${ex.split}/${ex.task}/${ex.index}`;
  }

  /**
   * Runs every job (grouped by composition key; `compose(key)` is called once per key that has
   * uncached jobs) and returns the outcomes in job order.
   */
  async run(label: string, jobs: readonly Job[], compose: (key: string) => Weights | Promise<Weights>): Promise<Outcome[]> {
    const groups = new Map<string, number[]>();
    jobs.forEach((j, i) => {
      if (this.cache.has(Runner.exKey(j.key, j.ex))) return;
      const g = groups.get(j.key);
      if (g) g.push(i);
      else groups.set(j.key, [i]);
    });
    const todo = [...groups.values()].reduce((s, g) => s + g.length, 0);
    const bar = todo > 0 ? new Progress(label, todo) : undefined;
    for (const [key, idx] of groups) {
      const t0 = performance.now();
      this.engine.setWeights(await this.feeds(await compose(key)));
      this.composeMs += performance.now() - t0;
      for (const i of idx) {
        const ex = jobs[i]!.ex;
        const t1 = performance.now();
        this.engine.resetCache();
        // Stops as soon as the output can no longer match (EM is unchanged; wrong answers cost a few tokens).
        const stop = new AbortController();
        const toks: number[] = [];
        const r = await generate(this.engine, ex.ids, {
          maxNewTokens: this.maxNew.get(`${ex.split}/${ex.task}`) ?? 32,
          eosTokenIds: this.eos,
          temperature: 0,
          signal: stop.signal,
          onToken: (e) => {
            toks.push(e.token);
            if (!canStillMatch(this.tokenizer.decode(toks), ex.answer)) stop.abort();
          },
        });
        const text = r.tokens.length ? this.tokenizer.decode(r.tokens) : '';
        this.cache.set(Runner.exKey(key, ex), { ok: exactMatch(text, ex.answer, r.finishReason === 'eos'), text });
        this.generateMs += performance.now() - t1;
        this.generated++;
        bar?.tick();
      }
    }
    bar?.finish();
    return jobs.map((j) => this.cache.get(Runner.exKey(j.key, j.ex))!);
  }

  async dispose(): Promise<void> {
    await this.engine.dispose();
  }
}
