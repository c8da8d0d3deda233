import { defineConfig } from '@playwright/test';

// Playwright drives Debian's Chromium (nothing may download a browser here). WebGPU runs on its
// SwiftShader adapter when started with --enable-unsafe-webgpu (see docs/testing.md).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PORT = Number(process.env.E2E_PORT ?? 5174);
const BASE_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results/e2e',
  timeout: 120_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    screenshot: 'on',
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'webgpu',
      testIgnore: /\.nowebgpu\.spec\.ts$/,
      use: { launchOptions: { executablePath: CHROMIUM, args: [...BASE_ARGS, '--enable-unsafe-webgpu'] } },
    },
    {
      // The same browser with WebGPU switched off: the app must fall back to WASM and say so.
      name: 'no-webgpu',
      testMatch: /\.nowebgpu\.spec\.ts$/,
      use: { launchOptions: { executablePath: CHROMIUM, args: [...BASE_ARGS, '--disable-features=WebGPU,Vulkan'] } },
    },
  ],
  webServer: {
    command: `node node_modules/vite/bin/vite.js --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
});
