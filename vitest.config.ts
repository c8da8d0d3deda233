import { defineConfig } from 'vitest/config';

// Unit tests run in Node; e2e/ belongs to Playwright.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
