// `twinmerge pack --config pack.yaml [--report report.json]`
import { writeFile } from 'node:fs/promises';
import { loadPackConfig } from './config.ts';
import { pack } from './pack.ts';

export async function packMain(args: string[]): Promise<number> {
  const get = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const configPath = get('--config') ?? args.find((a) => !a.startsWith('--'));
  if (!configPath) {
    console.error('usage: twinmerge pack --config pack.yaml [--report report.json]');
    return 2;
  }
  const config = await loadPackConfig(configPath);
  const { manifest, report } = await pack(config);
  const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
  console.log(`bundle: ${config.output} (${mb(report.bundleBytes)}, ${manifest.files.length} files) in ${report.seconds.toFixed(1)} s, peak RSS ${mb(report.peakRssBytes)}`);
  for (const e of report.experts) console.log(`  ${e.id.padEnd(10)} rank ≤ ${e.maxRank}, ${mb(e.bytes)} = ${(100 * e.share).toFixed(1)}% of a full expert, mean rel. error ${e.meanRelErr.toExponential(2)}`);
  console.log(`  base delta: rank ≤ ${report.baseDelta.maxRank}, relative error ${report.baseDelta.relativeError.toExponential(2)}`);
  console.log(`  router: test accuracy ${(100 * report.router.accuracy.test).toFixed(2)}% (val ${(100 * report.router.accuracy.val).toFixed(2)}%)`);
  const reportPath = get('--report');
  if (reportPath) await writeFile(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  return 0;
}
