// The decoder on ORT's WebGPU EP (in Node, on SwiftShader), KV cache on the GPU. Runs the
// script in a child process (the Vulkan loader reads its environment at process start).
// Needs Debian's Chromium (which bundles SwiftShader's Vulkan driver); `npm test` installs it before the
// unit tests (scripts/setup.mjs). Without it the test is skipped locally, and FAILS under CI=1.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// Debian's chromium package path (override with CHROMIUM_LIB_DIR)
const CHROMIUM = process.env.CHROMIUM_LIB_DIR ?? '/usr/lib/chromium';
const HAVE = existsSync(`${CHROMIUM}/libvk_swiftshader.so`) && existsSync(`${CHROMIUM}/vk_swiftshader_icd.json`);
const CI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());
if (!HAVE && !CI) console.log('WebGPU-in-Node parity skipped: no SwiftShader Vulkan driver (apt-get install chromium)');
const ZOO = resolve(process.env.TWINMERGE_ZOO_DIR ?? 'models');

describe.skipIf(!HAVE && !CI)('decoder on the WebGPU EP (onnxruntime-node + SwiftShader)', () => {
  it('tiny random models and the zoo (when present) match within 1e-4, KV cache on the GPU', () => {
    if (!HAVE) {
      throw new Error(
        `CI=${process.env.CI}: no SwiftShader Vulkan driver at ${CHROMIUM} (libvk_swiftshader.so, vk_swiftshader_icd.json), so the WebGPU-in-Node test cannot run. ` +
          "Install Debian's chromium (npm test does it in scripts/setup.mjs via scripts/ensure-chromium.sh) or set CHROMIUM_LIB_DIR.",
      );
    }
    const r = spawnSync('npx', ['tsx', 'src/testing/webgpuParity.ts', ZOO], {
      env: { ...process.env, LD_LIBRARY_PATH: CHROMIUM, VK_ICD_FILENAMES: `${CHROMIUM}/vk_swiftshader_icd.json` },
      encoding: 'utf8',
      timeout: 240_000,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('WEBGPU_PARITY '));
    if (!line) throw new Error(`webgpuParity failed (${r.status}):\n${r.stderr.slice(-3000)}`);
    const errors = JSON.parse(line.slice('WEBGPU_PARITY '.length)) as Record<string, number>;
    console.log('WebGPU EP max-abs logits error:', errors);
    expect(Object.keys(errors).length).toBeGreaterThanOrEqual(2);
    for (const [k, v] of Object.entries(errors)) if (!k.startsWith('info:')) expect(v, k).toBeLessThanOrEqual(1e-4);
  }, 300_000);
});
