// Installs dependencies when node_modules is missing or older than package-lock.json, so that the
// README's two commands (`npm start`, `npm test`) work on a fresh clone. Offline-safe: see .npmrc.
// Under `npm test` (npm_lifecycle_event "test") it also makes sure Debian's chromium is installed
// (scripts/ensure-chromium.sh: a no-op when /usr/bin/chromium exists), before the unit tests: the
// WebGPU-in-Node test needs the SwiftShader Vulkan driver that the chromium package ships, and would
// otherwise only find it after the e2e step installed it. `npm start` never installs chromium.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const lock = 'package-lock.json';
const stamp = 'node_modules/.package-lock.json';
const stale = !existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  console.log('twinmerge: installing dependencies (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
}

const testing = process.env.npm_lifecycle_event === 'test' || process.argv.includes('--test');
if (testing) {
  const r = spawnSync('bash', ['scripts/ensure-chromium.sh'], { stdio: 'inherit' });
  if (r.status !== 0) {
    // CI must not silently lose the WebGPU-in-Node and e2e tests; locally the unit tests still run
    // (the WebGPU-in-Node one skips with a message) and the e2e step fails with the same message.
    if (process.env.CI) process.exit(r.status ?? 1);
    console.warn('twinmerge: continuing without chromium: the WebGPU-in-Node unit test will be skipped and the e2e tests will fail');
  }
}
