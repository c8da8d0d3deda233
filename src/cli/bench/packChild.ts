// Runs one `pack` in its own process and prints its peak RSS (getrusage maxrss of this process):
//   tsx src/cli/bench/packChild.ts <pack.yaml> <result.json>
import { writeFile } from 'node:fs/promises';
import { loadPackConfig } from '../pack/config.ts';
import { pack } from '../pack/pack.ts';

const [configPath, resultPath] = process.argv.slice(2);
if (!configPath || !resultPath) {
  console.error('usage: packChild.ts <pack.yaml> <result.json>');
  process.exit(2);
}
const t0 = performance.now();
const config = await loadPackConfig(configPath);
const { report } = await pack(config, () => undefined);
const seconds = (performance.now() - t0) / 1000;
// maxRSS is in KiB (getrusage): the peak over the whole process, loading Node and the modules included.
const maxRssBytes = process.resourceUsage().maxRSS * 1024;
await writeFile(resultPath, JSON.stringify({ seconds, maxRssBytes, bundleBytes: report.bundleBytes, sampledPeakRssBytes: report.peakRssBytes, experts: report.experts.length }));
process.exit(0);
