// `twinmerge eval`: exact match per task on the zoo's test splits for the base, each fine-tuned
// expert, static merges, and Twin-Merging at several ranks/budgets and lambdas with oracle and
// learned routing; lambda (and the budget allocation's objective) chosen on the val split only;
// plus the shipped bundle, evaluated from its files. See docs/eval.md.
import { relative } from 'node:path';
import { createMerger, type Merger } from '../../core/merge/index.ts';
import { buildTwin, composeTensorCpu, dequantShared, fullExpertBytes, policyFromConfig, policyId, policyLabel, readBundle, sharedBytes, type BuiltExpert, type ExclusiveModule, type RankPolicy, type TwinBuild, type TwinSource } from '../../core/twin/index.ts';
import { argmax, chooseRouterLayer, routerLayerCandidates, evaluateRouter, routeWeights, trainRouter, type LabeledFeatures, type RouterModel, type TrainResult } from '../../core/router/index.ts';
import { parseModelConfig } from '../../model/config.ts';
import { buildDecoderGraph, type DecoderGraph } from '../../model/onnx/decoder.ts';
import { createNodeMatrixProducts } from '../../runtime/node/matrixProducts.ts';
import { loadTokenizerDir } from '../../runtime/node/tokenizer.ts';
import { loadBundle } from '../../runtime/bundleLoader.ts';
import { fileFetch, folderUrl } from '../../node/fileFetch.ts';
import type { Tokenizer } from '../../runtime/tokenizer.ts';
import { routerLayerOf } from '../../runtime/routerFeatures.ts';
import { timeRouterLayers } from './routerTiming.ts';
import { loadPackConfig } from '../pack/config.ts';
import { readSplit } from '../pack/data.ts';
import { routerJobs, routerTrainOptions } from '../pack/router.ts';
import type { EvalConfig } from './config.ts';
import { Runner, type Example, type Job, type Split, type Weights } from './runner.ts';
import { chooseBest, normalizedScores, quantizeRouting, selectionScore, taskScore, type TaskScore } from './score.ts';

import { EXTRA_SPLITS, type EvalResults, type ExtraSplit, type SelectionRow, type SplitResult, type VariantBytes, type VariantResult } from './results.ts';
import { computeHeadline } from './headline.ts';
import { shipChoice } from './ship.ts';
import { taskVectorStats } from './taskVectors.ts';
import { eosIds, loadZoo } from './zoo.ts';

export const EVAL_VERSION = 'twinmerge eval 0.1.0';

export type { EvalResults, SelectionRow, VariantBytes, VariantKind, VariantResult } from './results.ts';

function oneHot(t: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === t ? 1 : 0));
}

const fmtLambda = (l: number): string => String(Math.round(l * 1000) / 1000);

/** Every combination of a grid's values (one empty point for an empty grid), in the grid's order. */
export function gridPoints(grid: Readonly<Record<string, readonly unknown[]>>): Record<string, unknown>[] {
  let pts: Record<string, unknown>[] = [{}];
  for (const [k, vs] of Object.entries(grid)) pts = pts.flatMap((p) => vs.map((v) => ({ ...p, [k]: v })));
  return pts;
}

export async function runEval(cfg: EvalConfig, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): Promise<EvalResults> {
  const t0 = Date.now();
  const pack = await loadPackConfig(cfg.pack);
  const tasks = pack.experts.map((e) => e.id);
  const T = tasks.length;
  for (const e of pack.experts) if (!e.test) throw new Error(`${cfg.pack}: expert "${e.id}" has no test split (eval needs one per task)`);
  const zoo = await loadZoo(pack);
  const { spec, weights } = zoo;
  const sharedDtype = pack.shared.dtype;
  const exDtype = pack.exclusive.dtype;
  let featureMs = 0;
  let svdMs = 0;
  const fullBytes = fullExpertBytes(weights, exDtype);
  const shBytes = sharedBytes(weights, sharedDtype);
  const seed = cfg.seed ?? pack.svd.seed;
  // The zoo in memory, read through the same pipeline pack runs (src/core/twin/build.ts).
  const source: TwinSource = {
    weights,
    expertIds: tasks,
    readBase: async (n) => zoo.base.get(n)!.slice(),
    readExpert: async (t, n) => zoo.experts[t]!.get(n)!.slice(),
  };
  const builds = new Map<string, Promise<TwinBuild>>();
  /** What pack would ship for this merge and rank policy (null: the shared model only). */
  const twin = (merger: Merger, policy: RankPolicy | null): Promise<TwinBuild> => {
    const key = `${JSON.stringify(merger.manifest)}|${policy ? policyId(policy) : 'shared'}`;
    let b = builds.get(key);
    if (!b) {
      const ts = Date.now();
      b = buildTwin(source, { merger, sharedDtype, exclusiveDtype: exDtype, policy, svdSeed: seed, products }).then((r) => ((svdMs += Date.now() - ts), r));
      builds.set(key, b);
    }
    return b;
  };
  /** W = W_s + sum_t w_t B_t A_t for every weight, with the app's CPU composition kernel. */
  const composeWeights = (shared: Weights, modules: readonly ExclusiveModule[], routing: readonly number[]): Weights => {
    const out: Weights = new Map();
    for (const w of weights) {
      const s = shared.get(w.name)!;
      const entries = modules.map((m) => m.get(w.name));
      out.set(w.name, entries.some((e, t) => e && routing[t] !== 0) ? composeTensorCpu(w.name, w.shape, s, entries, routing) : s);
    }
    return out;
  };
  log(`eval: ${spec.family} hidden ${spec.hiddenSize} × ${spec.numLayers} layers, ${T} tasks (${tasks.join(', ')}), shared ${sharedDtype}, exclusive ${exDtype}, backend ${cfg.backend}`);

  const tokenizer: Tokenizer = await loadTokenizerDir(pack.base);
  const eos = await eosIds(pack.base, spec, tokenizer);
  // Every layer's hidden state too: the router's layer is chosen on val as pack chooses it.
  const graph: DecoderGraph = buildDecoderGraph(spec, { weights: 'inputs', hiddenStateOutput: true, logits: 'last', layerHiddenStates: true });
  const runner = await Runner.create(spec, graph, tokenizer, eos, cfg.backend, cfg.threads);
  // pack's engine for the randomized SVD's products (twin() builds with it), so eval scores the factors pack ships.
  const products = await createNodeMatrixProducts().catch(async (e: unknown) => {
    await runner.dispose();
    throw e;
  });
  try {
    const data: Record<Split, Example[][]> = { val: [], test: [], wording: [], multiturn: [], long: [] };
    for (const [t, e] of pack.experts.entries()) {
      const test = await readSplit(e.test!);
      const val = await readSplit(e.val);
      data.test.push(runner.examples(e.id, t, 'test', cfg.limit ? test.slice(0, cfg.limit) : test));
      data.val.push(runner.examples(e.id, t, 'val', cfg.valLimit ? val.slice(0, cfg.valLimit) : val));
      for (const k of EXTRA_SPLITS) {
        const f = e.tests?.[k];
        const items = f ? await readSplit(f) : [];
        data[k].push(runner.examples(e.id, t, k, cfg.extraLimit ? items.slice(0, cfg.extraLimit) : items));
      }
    }
    const extras = EXTRA_SPLITS.filter((k) => data[k].some((x) => x.length > 0));
    const all = (split: Split, only?: number): Example[] => (only === undefined ? data[split].flat() : data[split][only]!);

    /** EM per task from outcomes of the given examples. */
    const tally = (exs: readonly Example[], ok: readonly boolean[]): Record<string, TaskScore> => {
      const c: Record<string, number> = {};
      const n: Record<string, number> = {};
      exs.forEach((ex, i) => {
        n[ex.task] = (n[ex.task] ?? 0) + 1;
        c[ex.task] = (c[ex.task] ?? 0) + (ok[i] ? 1 : 0);
      });
      return Object.fromEntries(Object.keys(n).map((t) => [t, taskScore(c[t]!, n[t]!)]));
    };

    /** A fixed set of weights on examples. */
    const runFixed = async (label: string, key: string, exs: readonly Example[], w: () => Weights): Promise<Record<string, TaskScore>> => {
      const out = await runner.run(label, exs.map((ex) => ({ ex, key })), () => w());
      return tally(exs, out.map((o) => o.ok));
    };

    /** Twin composition: shared + routed modules; `route` gives each example's routing weights. */
    const runRouted = async (label: string, ns: string, exs: readonly Example[], shared: Weights, modules: readonly ExclusiveModule[], route: (ex: Example) => ArrayLike<number>): Promise<Record<string, TaskScore>> => {
      const byKey = new Map<string, number[]>();
      const jobs: Job[] = exs.map((ex) => {
        const q = quantizeRouting(route(ex), cfg.skipBelow, cfg.routingRound);
        const key = `${ns}|${q.key}`;
        byKey.set(key, q.weights);
        return { ex, key };
      });
      const out = await runner.run(label, jobs, (key) => composeWeights(shared, modules, byKey.get(key)!));
      return tally(exs, out.map((o) => o.ok));
    };
    const oracle = (ex: Example): number[] => oneHot(ex.taskIndex, T);

    // ---- 1. base, 2. experts
    const variants: VariantResult[] = [];
    const emOf = (s: Record<string, TaskScore>): Record<string, number> => Object.fromEntries(tasks.map((t) => [t, s[t]?.em ?? 0]));
    const upperVal: Record<string, number> = {};
    const upperTest: Record<string, number> = {};
    const upperExtra: Partial<Record<ExtraSplit, Record<string, number>>> = Object.fromEntries(extras.map((k) => [k, {}]));
    const expertExtra: Partial<Record<ExtraSplit, Record<string, TaskScore>>> = Object.fromEntries(extras.map((k) => [k, {}]));
    const diagonal: Record<string, TaskScore> = {};
    const expertMatrix: Record<string, Record<string, number>> = {};
    for (let t = 0; t < T; t++) {
      const exs = cfg.crossTask ? all('test') : all('test', t);
      const s = await runFixed(`expert ${tasks[t]} (test)`, `expert:${tasks[t]}`, exs, () => zoo.experts[t]!);
      expertMatrix[tasks[t]!] = emOf(s);
      upperTest[tasks[t]!] = s[tasks[t]!]!.em;
      diagonal[tasks[t]!] = s[tasks[t]!]!;
      const v = await runFixed(`expert ${tasks[t]} (val)`, `expert:${tasks[t]}`, all('val', t), () => zoo.experts[t]!);
      upperVal[tasks[t]!] = v[tasks[t]!]!.em;
      for (const k of extras) {
        if (!data[k][t]!.length) continue;
        const x = await runFixed(`expert ${tasks[t]} (${k})`, `expert:${tasks[t]}`, all(k, t), () => zoo.experts[t]!);
        upperExtra[k]![tasks[t]!] = x[tasks[t]!]!.em;
        expertExtra[k]![tasks[t]!] = x[tasks[t]!]!;
      }
    }
    /** A variant's scores on the further splits, normalized by the experts' EM there. */
    const splitResults = (per: Partial<Record<ExtraSplit, Record<string, TaskScore>>>, acc?: Partial<Record<ExtraSplit, number>>): Partial<Record<ExtraSplit, SplitResult>> =>
      Object.fromEntries(
        Object.entries(per).map(([k, sc]) => {
          const split = k as ExtraSplit;
          const present = tasks.filter((t) => sc[t] !== undefined);
          const ns = normalizedScores(present, emOf(sc), upperExtra[split] ?? {});
          return [split, { scores: sc, normalized: ns.perTask, normalizedAverage: ns.average, ...(acc?.[split] !== undefined ? { routerAccuracy: acc[split] } : {}) }];
        }),
      );
    /** Fixed weights on every further split. */
    const extraFixed = async (label: string, key: string, w: () => Weights): Promise<Partial<Record<ExtraSplit, Record<string, TaskScore>>>> => {
      const out: Partial<Record<ExtraSplit, Record<string, TaskScore>>> = {};
      for (const k of extras) out[k] = await runFixed(`${label} (${k})`, key, all(k), w);
      return out;
    };
    const makeVariant = (v: Omit<VariantResult, 'emAverage' | 'normalized' | 'normalizedAverage'>): VariantResult => {
      const em = emOf(v.scores);
      const ns = normalizedScores(tasks, em, upperTest);
      const r: VariantResult = { ...v, emAverage: tasks.reduce((s, t) => s + em[t]!, 0) / T, normalized: ns.perTask, normalizedAverage: ns.average };
      variants.push(r);
      log(`  ${v.label.padEnd(44)} EM ${tasks.map((t) => `${t} ${(100 * em[t]!).toFixed(1)}`).join(', ')}; normalized ${ns.average === null ? 'n/a' : ns.average.toFixed(1)}`);
      return r;
    };
    makeVariant({
      id: 'experts',
      kind: 'expert',
      label: 'Fine-tuned experts (expert t on task t)',
      scores: diagonal,
      bytes: { shared: 0, exclusivePerExpert: fullBytes, exclusiveShare: 1, total: T * fullBytes },
      splits: splitResults(expertExtra),
    });
    const baseScores = await runFixed('base (test)', 'base', all('test'), () => zoo.base);
    makeVariant({ id: 'base', kind: 'base', label: 'Base model', scores: baseScores, bytes: { shared: shBytes, exclusivePerExpert: 0, exclusiveShare: 0, total: shBytes }, splits: splitResults(await extraFixed('base', 'base', () => zoo.base)) });

    // ---- 3. static merges: every grid point on val, the best on test (tuned as fairly as Twin's λ)
    const staticSelection: EvalResults['staticSelection'] = [];
    for (const s of cfg.static) {
      const name = s.name ?? s.method;
      const cands: { value: Record<string, unknown>; score: number }[] = [];
      for (const point of gridPoints(s.grid)) {
        const params = { ...s.params, ...point };
        const merger = createMerger(s.method, params);
        const { shared } = await twin(merger, null);
        const v = await runFixed(`val ${name} ${JSON.stringify(point)}`, `static:${JSON.stringify(merger.manifest)}`, all('val'), () => shared);
        const score = selectionScore(tasks, emOf(v), upperVal);
        cands.push({ value: params, score });
        staticSelection.push({ name, method: s.method, params, score, chosen: false });
      }
      const best = chooseBest(cands);
      staticSelection.find((r) => r.name === name && r.params === best.value)!.chosen = true;
      const merger = createMerger(s.method, best.value);
      const { shared } = await twin(merger, null);
      const key = `static:${JSON.stringify(merger.manifest)}`;
      const scores = await runFixed(`${name} (test)`, key, all('test'), () => shared);
      const shown = Object.entries(best.value).filter(([k]) => k !== 'seed').map(([k, v]) => `${k === 'lambda' ? 'λ' : k} ${typeof v === 'number' ? fmtLambda(v) : String(v)}`).join(', ');
      makeVariant({
        id: `static:${name}`,
        kind: 'static',
        label: `${name} (${shown}, chosen on val)`,
        lambda: merger.params.lambda,
        params: best.value,
        chosen: 'val',
        scores,
        bytes: { shared: shBytes, exclusivePerExpert: 0, exclusiveShare: 0, total: shBytes },
        splits: splitResults(await extraFixed(name, key, () => shared)),
      });
    }

    // ---- Twin-Merging: exactly what pack would ship for each lambda and rank policy
    const twinMerger = (lambda: number): Merger => createMerger(pack.merge.method, { ...pack.merge.params, lambda });
    const factory = async (lambda: number): Promise<{ shared: Weights }> => twin(twinMerger(lambda), null);
    const bytesOf = (mods: readonly BuiltExpert[]): VariantBytes => {
      const per = mods.reduce((s, m) => s + m.bytes, 0) / mods.length;
      return { shared: shBytes, exclusivePerExpert: per, exclusiveShare: per / fullBytes, total: shBytes + T * per };
    };

    // Groups: one per fixed rank (choose lambda) and one per budget (choose lambda and the objective).
    const groups: { id: string; policies: RankPolicy[] }[] = [
      ...cfg.ranks.map((r) => ({ id: `r${r}`, policies: [{ kind: 'fixed', rank: r } as RankPolicy] })),
      ...cfg.budgets.map((b) => ({ id: `budget${Math.round(b * 1000) / 10}%`, policies: cfg.budgetObjectives.map((o) => ({ kind: 'budget', share: b, objective: o }) as RankPolicy) })),
    ];
    const selRows: SelectionRow[] = [];
    const valScore = new Map<string, SelectionRow>();
    for (const lambda of cfg.lambdas) {
      for (const g of groups) {
        for (const p of g.policies) {
          const b = await twin(twinMerger(lambda), p);
          const mods = b.experts;
          const s = await runRouted(`val ${policyId(p)} λ=${fmtLambda(lambda)}`, `twin:${fmtLambda(lambda)}:${policyId(p)}`, all('val'), b.shared, mods.map((m) => m.module), oracle);
          const em = emOf(s);
          const row: SelectionRow = { group: g.id, policy: policyId(p), lambda, valEm: em, score: selectionScore(tasks, em, upperVal), exclusiveShare: bytesOf(mods).exclusiveShare };
          selRows.push(row);
          valScore.set(`${policyId(p)}@${lambda}`, row);
        }
      }
    }
    const chosen = groups.map((g) => {
      const cands = cfg.lambdas.flatMap((lambda) => g.policies.map((p) => ({ value: { policy: p, lambda }, score: valScore.get(`${policyId(p)}@${lambda}`)!.score })));
      const best = chooseBest(cands);
      // Also on test: the fixed lambdas (e.g. 0 = no shared part, 0.3 = the paper's), each with its best policy on val.
      const fixed = cfg.testLambdas.filter((l) => l !== best.value.lambda).map((l) => chooseBest(cands.filter((c) => c.value.lambda === l)));
      return { group: g.id, best, fixed };
    });

    // ---- learned routing: the router trained exactly as pack trains it, on the shared model of that lambda
    const routerInfo: EvalResults['routers'] = [];
    const routerJobList = (await routerJobs(pack)).filter((j) => j.split !== 'test');
    const routes = new Map<number, Map<Example, Float64Array>>();
    type RouterAccuracy = EvalResults['routers'][number]['accuracy'];
    const learnedRoutes = async (sharedW: Weights, label: string, temperature: number): Promise<{ routes: Map<Example, Float64Array>; model: RouterModel; accuracy: RouterAccuracy; bestEpoch: number; layer: number; layers: EvalResults['routers'][number]['layers'] }> => {
      const tf = Date.now();
      const feeds = await runner.feeds(sharedW);
      // A router per candidate layer, trained exactly as pack trains it; the layer chosen on val as pack chooses it.
      const feats = await runner.features(routerJobList.map((j) => j.prompt), feeds, `router features ${label}`);
      const setOf = (split: 'train' | 'val', l: number): LabeledFeatures => {
        const idx = routerJobList.flatMap((j, i) => (j.split === split ? [i] : []));
        return { features: idx.map((i) => feats[l - 1]![i]!), labels: idx.map((i) => routerJobList[i]!.label) };
      };
      const L = spec.numLayers;
      const policy = pack.router.layer;
      const candidates = routerLayerCandidates(policy, L);
      const trained = new Map<number, TrainResult>();
      const accs = new Map<number, RouterAccuracy>();
      for (const l of candidates) {
        const r = trainRouter(setOf('train', l), setOf('val', l), routerTrainOptions(pack));
        trained.set(l, r);
        accs.set(l, { train: evaluateRouter(r.model, setOf('train', l)).accuracy, val: evaluateRouter(r.model, setOf('val', l)).accuracy, test: NaN });
      }
      const layer = chooseRouterLayer(candidates.map((l) => ({ layer: l, val: accs.get(l)!.val })), typeof policy === 'number' ? Math.min(policy, L) : policy);
      const { model, bestEpoch } = trained.get(layer)!;
      // The router sees the last user turn only (as in the app), so multi-turn chats route on their prompt.
      const exs = [...all('test'), ...extras.flatMap((k) => all(k))];
      const exFeats = await runner.features(exs.map((e) => e.prompt), feeds, `test features ${label}`);
      const out = new Map<Example, Float64Array>();
      for (const l of candidates) {
        const m = trained.get(l)!.model;
        const correct: Partial<Record<Split, [number, number]>> = {};
        exs.forEach((ex, i) => {
          const w = routeWeights(m, exFeats[l - 1]![i]!, { temperature });
          if (l === layer) out.set(ex, w);
          const c = (correct[ex.split] ??= [0, 0]);
          c[1]++;
          if (argmax(w) === ex.taskIndex) c[0]++;
        });
        const acc = accs.get(l)!;
        acc.test = correct.test ? correct.test[0] / correct.test[1] : NaN;
        for (const k of extras) if (correct[k]) acc[k] = correct[k][0] / correct[k][1];
      }
      featureMs += Date.now() - tf;
      return { routes: out, model, accuracy: accs.get(layer)!, bestEpoch, layer, layers: candidates.map((l) => ({ layer: l, accuracy: accs.get(l)! })) };
    };
    const routesFor = async (lambda: number): Promise<Map<Example, Float64Array>> => {
      let r = routes.get(lambda);
      if (!r) {
        const lr = await learnedRoutes((await factory(lambda)).shared, `λ=${fmtLambda(lambda)}`, pack.router.temperature);
        r = lr.routes;
        routes.set(lambda, r);
        routerInfo.push({ lambda, accuracy: lr.accuracy, bestEpoch: lr.bestEpoch, layer: lr.layer, layers: lr.layers });
        log(`  router λ=${fmtLambda(lambda)} (layer ${lr.layer} of ${spec.numLayers}; val ${lr.layers.map((x) => `${x.layer}: ${(100 * x.accuracy.val).toFixed(1)}`).join(', ')}): train ${(100 * lr.accuracy.train).toFixed(1)}%, val ${(100 * lr.accuracy.val).toFixed(1)}%, test ${(100 * lr.accuracy.test).toFixed(2)}%${extras.map((k) => `, ${k} ${(100 * (lr.accuracy[k] ?? NaN)).toFixed(2)}%`).join('')}`);
      }
      return r;
    };

    // ---- 4./5. Twin on test: the val-chosen setting per group, and lambda = 0 (routed experts, no shared part)
    const twinTest = async (g: string, policy: RankPolicy, lambda: number, how: 'val' | 'fixed'): Promise<void> => {
      const b = await twin(twinMerger(lambda), policy);
      const mods = b.experts;
      const f = b;
      const ns = `twin:${fmtLambda(lambda)}:${policyId(policy)}`;
      const kindLabel = `${lambda === 0 ? 'Routed experts, no shared part' : 'Twin-Merging'}${how === 'val' ? ' (λ chosen on val)' : ''}`;
      const ranks = { max: Math.max(...mods.map((m) => m.maxRank)), mean: mods.reduce((s, m) => s + m.meanRank, 0) / mods.length };
      const base = { kind: 'twin' as const, lambda, policy: policyId(policy), chosen: how, bytes: bytesOf(mods), ranks };
      const modules = mods.map((m) => m.module);
      const routedExtras = async (how: string, route: (ex: Example) => ArrayLike<number>): Promise<Partial<Record<ExtraSplit, Record<string, TaskScore>>>> => {
        const out: Partial<Record<ExtraSplit, Record<string, TaskScore>>> = {};
        for (const k of extras) out[k] = await runRouted(`${g} λ=${fmtLambda(lambda)} ${how} (${k})`, ns, all(k), f.shared, modules, route);
        return out;
      };
      const so = await runRouted(`${g} λ=${fmtLambda(lambda)} oracle`, ns, all('test'), f.shared, modules, oracle);
      makeVariant({ ...base, id: `twin:${g}:${fmtLambda(lambda)}:oracle`, label: `${kindLabel}, ${policyLabel(policy)}, λ ${fmtLambda(lambda)}, oracle`, routing: 'oracle', scores: so, splits: splitResults(await routedExtras('oracle', oracle)) });
      const r = await routesFor(lambda);
      const sl = await runRouted(`${g} λ=${fmtLambda(lambda)} learned`, ns, all('test'), f.shared, modules, (ex) => r.get(ex)!);
      const info = routerInfo.find((x) => x.lambda === lambda)?.accuracy;
      makeVariant({ ...base, id: `twin:${g}:${fmtLambda(lambda)}:learned`, label: `${kindLabel}, ${policyLabel(policy)}, λ ${fmtLambda(lambda)}, learned`, routing: 'learned', scores: sl, ...(info ? { routerTestAccuracy: info.test } : {}), splits: splitResults(await routedExtras('learned', (ex) => r.get(ex)!), info) });
    };
    for (const c of chosen) {
      await twinTest(c.group, c.best.value.policy, c.best.value.lambda, 'val');
      for (const f of c.fixed) await twinTest(c.group, f.value.policy, f.value.lambda, 'fixed');
    }

    // The recommended setting: the best val score among those within the byte limit.
    const within = chosen.filter((c) => valScore.get(`${policyId(c.best.value.policy)}@${c.best.value.lambda}`)!.exclusiveShare <= cfg.maxShare);
    const rec = within.length ? chooseBest(within.map((c) => ({ value: c, score: c.best.score }))).value : null;

    // ---- routing time per candidate layer, on the recommended λ's shared model (16 val prompts)
    const timingLambda = rec?.best.value.lambda ?? routerInfo[0]?.lambda;
    const routingMs =
      timingLambda === undefined
        ? []
        : await timeRouterLayers(spec, (await factory(timingLambda)).shared, tokenizer, routerJobList.filter((j) => j.split === 'val').filter((_, i, a) => i % Math.max(1, Math.floor(a.length / 16)) === 0).slice(0, 16).map((j) => j.prompt), routerInfo.find((r) => r.lambda === timingLambda)?.layers.map((l) => l.layer) ?? [], cfg.backend);
    if (routingMs.length) log(`  routing ms per layer (λ ${fmtLambda(timingLambda!)}): ${routingMs.map((r) => `${r.layer}: ${r.ms.toFixed(1)}`).join(', ')}`);

    // ---- ship the val choice: into the pack config, then pack (the bundle below is then what val chose)
    let shipped: EvalResults['shipped'] = null;
    if (cfg.ship) {
      if (!rec) throw new Error(`eval: nothing to ship: no setting within maxShare ${cfg.maxShare}`);
      const s = await shipChoice(cfg.pack, cfg.bundle, rec.best.value.policy, rec.best.value.lambda, log);
      shipped = { ...s, packConfig: relative(process.cwd(), s.packConfig) };
    }

    // ---- the shipped bundle, from its files
    let bundleOut: EvalResults['bundle'] = null;
    let bundleManifestChoice: { lambda: number; policy: string } | null = null;
    if (cfg.bundle) {
      // Read exactly as the app reads it: loadBundle (sizes and sha256 against the manifest) + readBundle.
      const loaded = await loadBundle(folderUrl(cfg.bundle), { fetch: fileFetch, only: (f) => !f.path.endsWith('.full.safetensors') });
      const tb = readBundle(loaded.manifest, (p) => loaded.files.get(p)!, weights);
      const labels = tb.router.labels;
      const byId = new Map(tb.experts.map((e) => [e.entry.id, e]));
      const b = {
        manifest: tb.manifest,
        spec: parseModelConfig(tb.manifest.architecture),
        graphBytes: loaded.files.get(tb.manifest.graph)!,
        shared: new Map(weights.map((w) => [w.name, dequantShared(w, tb.shared.get(w.name)!)])) as Weights,
        labels,
        modules: labels.map((id) => byId.get(id)!.module),
        router: tb.router.model,
        temperature: tb.manifest.router.temperature,
        sharedFileBytes: tb.manifest.files.find((f) => f.path === tb.manifest.shared.file)?.bytes ?? 0,
        expertBytes: labels.map((id) => byId.get(id)!.entry.bytes),
        exclusiveDtype: tb.experts.some((e) => e.factorDtype === 'f16') ? ('f16' as const) : ('f32' as const),
      };
      const missing = tasks.filter((t) => !b.labels.includes(t));
      if (missing.length) throw new Error(`${cfg.bundle}: the bundle has no expert for task(s) ${missing.join(', ')}`);
      // eval's own graph of the bundle's architecture: the bundle's model.onnx plus every layer's hidden state (its router may read an early one).
      const bRunner = await Runner.create(b.spec, buildDecoderGraph(b.spec, { weights: 'inputs', hiddenStateOutput: true, logits: 'last', layerHiddenStates: true }), await loadTokenizerDir(cfg.bundle), eos, cfg.backend, cfg.threads);
      try {
        const remake = (split: Split): Example[] => tasks.flatMap((t, i) => bRunner.examples(t, i, split, data[split][i]!.map((e) => ({ prompt: e.prompt, answer: e.answer, ...(e.history ? { history: e.history } : {}) }))));
        const exs = remake('test');
        const extraExs = Object.fromEntries(extras.map((k) => [k, remake(k)])) as Partial<Record<ExtraSplit, Example[]>>;
        const order = tasks.map((t) => b.labels.indexOf(t));
        const run = async (label: string, route: (ex: Example) => ArrayLike<number>, exs: Example[]): Promise<Record<string, TaskScore>> => {
          const byKey = new Map<string, number[]>();
          const jobs = exs.map((ex) => {
            const q = quantizeRouting(route(ex), cfg.skipBelow, cfg.routingRound);
            byKey.set(`bundle|${q.key}`, q.weights);
            return { ex, key: `bundle|${q.key}` };
          });
          const out = await bRunner.run(label, jobs, (key) => composeWeights(b.shared, b.modules, byKey.get(key)!));
          return tally(exs, out.map((o) => o.ok));
        };
        const tf = Date.now();
        const feeds = await bRunner.feeds(b.shared);
        const everyEx = [...exs, ...extras.flatMap((k) => extraExs[k]!)];
        const feats = (await bRunner.features(everyEx.map((e) => e.prompt), feeds, 'bundle test features'))[routerLayerOf(b.manifest.router.feature, spec) - 1]!;
        featureMs += Date.now() - tf;
        const lr = new Map<Example, Float64Array>();
        const correct: Partial<Record<Split, [number, number]>> = {};
        everyEx.forEach((ex, i) => {
          const w = routeWeights(b.router, feats[i]!, { temperature: b.temperature });
          lr.set(ex, w);
          const c = (correct[ex.split] ??= [0, 0]);
          c[1]++;
          if (argmax(w) === order[ex.taskIndex]) c[0]++;
        });
        const routerAcc = correct.test ? correct.test[0] / correct.test[1] : NaN;
        const extraAcc = Object.fromEntries(extras.filter((k) => correct[k]).map((k) => [k, correct[k]![0] / correct[k]![1]])) as Partial<Record<ExtraSplit, number>>;
        const per = b.expertBytes.reduce((s, x) => s + x, 0) / b.expertBytes.length;
        const bFull = fullExpertBytes(weights, b.exclusiveDtype);
        const bytes: VariantBytes = { shared: b.sharedFileBytes, exclusivePerExpert: per, exclusiveShare: per / bFull, total: b.sharedFileBytes + T * per };
        const policyDesc = `${b.manifest.experts[0]?.rankPolicy ?? '?'} (rank ≤ ${Math.max(...b.manifest.experts.map((e) => e.rank))})`;
        const common = { kind: 'bundle' as const, lambda: b.manifest.merge.lambda, policy: policyDesc, chosen: 'manifest' as const, bytes };
        const learned = (ex: Example): ArrayLike<number> => lr.get(ex)!;
        const oracleB = (ex: Example): number[] => oneHot(order[ex.taskIndex]!, b.labels.length);
        const extrasOf = async (how: string, route: (ex: Example) => ArrayLike<number>): Promise<Partial<Record<ExtraSplit, Record<string, TaskScore>>>> => {
          const out: Partial<Record<ExtraSplit, Record<string, TaskScore>>> = {};
          for (const k of extras) out[k] = await run(`bundle ${how} (${k})`, route, extraExs[k]!);
          return out;
        };
        const sl = await run('bundle learned', learned, exs);
        const vl = makeVariant({ ...common, id: 'bundle:learned', label: `Shipped bundle (${b.manifest.merge.method} λ ${fmtLambda(b.manifest.merge.lambda)}), learned`, routing: 'learned', scores: sl, routerTestAccuracy: routerAcc, splits: splitResults(await extrasOf('learned', learned), extraAcc) });
        const so = await run('bundle oracle', oracleB, exs);
        makeVariant({ ...common, id: 'bundle:oracle', label: `Shipped bundle (${b.manifest.merge.method} λ ${fmtLambda(b.manifest.merge.lambda)}), oracle`, routing: 'oracle', scores: so, splits: splitResults(await extrasOf('oracle', oracleB)) });
        bundleManifestChoice = { lambda: b.manifest.merge.lambda, policy: b.manifest.experts[0]?.rankPolicy ?? '' };
        bundleOut = {
          path: relative(process.cwd(), cfg.bundle) || '.',
          merge: b.manifest.merge,
          rankPolicy: b.manifest.experts[0]?.rankPolicy ?? 'fixed',
          maxRank: Math.max(...b.manifest.experts.map((e) => e.rank)),
          exclusiveShare: bytes.exclusiveShare,
          routerTestAccuracy: routerAcc,
          acceptance: {
            normalizedAverage: vl.normalizedAverage,
            exclusiveShare: bytes.exclusiveShare,
            routerTestAccuracy: routerAcc,
            pass: { score95: (vl.normalizedAverage ?? 0) >= 95, share25: bytes.exclusiveShare <= 0.25, router99: routerAcc >= 0.99 },
          },
        };
        runner.generated += bRunner.generated;
        runner.generateMs += bRunner.generateMs;
        runner.composeMs += bRunner.composeMs;
      } finally {
        await bRunner.dispose();
      }
    }

    const seconds = (Date.now() - t0) / 1000;
    // The shipped bundle is the val choice when pack.yaml holds it and the bundle was packed with it.
    const packNow = await loadPackConfig(cfg.pack);
    const recPolicy = rec ? policyId(rec.best.value.policy) : null;
    const bundleMatchesChoice =
      rec !== null &&
      bundleManifestChoice !== null &&
      policyId(policyFromConfig(packNow.exclusive.rank)) === recPolicy &&
      packNow.merge.params.lambda === rec.best.value.lambda &&
      bundleManifestChoice.lambda === rec.best.value.lambda &&
      bundleManifestChoice.policy === rec.best.value.policy.kind;
    const out: Omit<EvalResults, 'headline'> = {
      createdBy: EVAL_VERSION,
      config: {
        ...cfg,
        pack: relative(process.cwd(), cfg.pack),
        output: relative(process.cwd(), cfg.output),
        ...(cfg.bundle ? { bundle: relative(process.cwd(), cfg.bundle) } : {}),
        merge: pack.merge,
        sharedDtype,
        exclusiveDtype: exDtype,
        router: pack.router,
      },
      tasks,
      examples: Object.fromEntries((['test', 'val', ...extras] as const).map((k) => [k, Object.fromEntries(tasks.map((t, i) => [t, data[k][i]!.length]))])),
      fullExpertBytes: fullBytes,
      expertMatrix,
      upperBound: { test: upperTest, val: upperVal, ...upperExtra },
      staticSelection,
      taskVectors: taskVectorStats(tasks, zoo.base, zoo.experts),
      variants,
      selection: {
        rows: selRows,
        chosen: chosen.map((c) => ({ group: c.group, policy: policyId(c.best.value.policy), lambda: c.best.value.lambda, score: c.best.score })),
        criterion: 'mean over tasks of val EM / the expert’s own val EM, oracle routing; ties to the earlier grid point',
      },
      recommended: rec
        ? { group: rec.group, policy: policyId(rec.best.value.policy), lambda: rec.best.value.lambda, valScore: rec.best.score, exclusiveShare: valScore.get(`${policyId(rec.best.value.policy)}@${rec.best.value.lambda}`)!.exclusiveShare }
        : null,
      routers: routerInfo,
      routingMs,
      shipped,
      bundle: bundleOut,
      timing: {
        seconds,
        generations: runner.generated,
        msPerGeneration: runner.generated ? runner.generateMs / runner.generated : 0,
        composeSeconds: runner.composeMs / 1000,
        featureSeconds: featureMs / 1000,
        svdSeconds: svdMs / 1000,
      },
    };
    return { ...out, headline: computeHeadline(out, bundleMatchesChoice) };
  } finally {
    await runner.dispose();
    await products.release();
  }
}
