// Installs dependencies when node_modules is missing or older than package-lock.json, so that the
// README's two commands (`npm start`, `npm test`) work on a fresh clone. Offline-safe: see .npmrc.
import { execSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const lock = 'package-lock.json';
const stamp = 'node_modules/.package-lock.json';
const stale = !existsSync(stamp) || statSync(stamp).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  console.log('twinmerge: installing dependencies (npm ci)…');
  execSync('npm ci --no-audit --no-fund', { stdio: 'inherit', env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
}
