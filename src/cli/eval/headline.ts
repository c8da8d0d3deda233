// The headline of docs/results/eval.json: the figures the project tracks, taken from this run's
// variants (test split unless named; the Twin figures are the val choice with learned routing).
import type { EvalResults, Headline, VariantResult } from './results.ts';

export function computeHeadline(r: Omit<EvalResults, 'headline'>, bundleMatchesChoice: boolean): Headline | null {
  const rec = r.recommended;
  if (!rec) return null;
  const v = (id: string): VariantResult | undefined => r.variants.find((x) => x.id === id);
  const staticNorm = (name: string): number | null => v(`static:${name}`)?.normalizedAverage ?? null;
  const lam = (l: number): string => String(Math.round(l * 1000) / 1000);
  const twin = v(`twin:${rec.group}:${lam(rec.lambda)}:learned`);
  const routedOnly = v(`twin:${rec.group}:0:learned`);
  const experts = v('experts');
  const router = r.routers.find((x) => x.lambda === rec.lambda);
  const wordingEm = experts?.splits?.wording?.scores;
  const ems = wordingEm ? Object.values(wordingEm).map((s) => s.em) : [];
  return {
    taskVectorMeanCosine: r.taskVectors.meanCosine,
    taNormalized: staticNorm('Task Arithmetic'),
    tiesNormalized: staticNorm('TIES'),
    dareTiesNormalized: staticNorm('DARE-TIES'),
    twin: { normalized: twin?.normalizedAverage ?? null, exclusiveShare: twin?.bytes.exclusiveShare ?? rec.exclusiveShare, lambda: rec.lambda, rank: twin?.ranks?.max ?? 0 },
    routedOnlySameBytes: { normalized: routedOnly?.normalizedAverage ?? null, exclusiveShare: routedOnly?.bytes.exclusiveShare ?? 0 },
    routerTestAccuracy: router?.accuracy.test ?? null,
    routerTestWordingAccuracy: router?.accuracy.wording ?? null,
    expertsTestWordingEm: ems.length ? ems.reduce((a, b) => a + b, 0) / ems.length : null,
    twinTestWordingNormalized: twin?.splits?.wording?.normalizedAverage ?? null,
    twinTestMultiturnNormalized: twin?.splits?.multiturn?.normalizedAverage ?? null,
    shippedBundleIsValChoice: bundleMatchesChoice,
  };
}
