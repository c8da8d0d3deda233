// Ships eval's val choice: writes the chosen lambda and rank policy into the pack config (the YAML
// document is edited in place, so its comments and every other key stay as they are), then packs it.
// What the app loads is then exactly what val chose; eval evaluates that bundle from its files next.
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { RankPolicy } from '../../core/twin/index.ts';
import { loadPackConfig } from '../pack/config.ts';
import { pack } from '../pack/pack.ts';

/** pack.yaml's `exclusive.rank` for a policy. */
export function rankConfigOf(p: RankPolicy): Record<string, unknown> {
  if (p.kind === 'fixed') return { fixed: p.rank };
  if (p.kind === 'budget') return { budget: p.share, ...(p.objective ? { objective: p.objective } : {}) };
  return { energy: p.energy, ...(p.max !== undefined ? { max: p.max } : {}) };
}

/** Writes lambda and the rank policy into a pack config in place (comments and other keys kept). */
export async function writeChoice(packPath: string, policy: RankPolicy, lambda: number): Promise<Record<string, unknown>> {
  const doc = parseDocument(await readFile(packPath, 'utf8'));
  const rank = rankConfigOf(policy);
  doc.setIn(['merge', 'params', 'lambda'], lambda);
  doc.setIn(['exclusive', 'rank'], doc.createNode(rank, { flow: true }));
  await writeFile(packPath, doc.toString({ lineWidth: 0 }));
  return rank;
}

export async function shipChoice(packPath: string, bundle: string | undefined, policy: RankPolicy, lambda: number, log: (s: string) => void): Promise<{ packConfig: string; lambda: number; rank: unknown }> {
  const before = await loadPackConfig(packPath);
  if (bundle && resolve(bundle) !== resolve(before.output)) throw new Error(`eval ship: the bundle to evaluate (${bundle}) is not the pack config's output (${before.output})`);
  const rank = await writeChoice(packPath, policy, lambda);
  log(`ship: ${packPath} now has merge λ ${lambda} and exclusive.rank ${JSON.stringify(rank)}; packing`);
  const { report } = await pack(await loadPackConfig(packPath), log);
  log(`ship: packed ${before.output} in ${report.seconds.toFixed(1)} s`);
  return { packConfig: packPath, lambda, rank };
}
