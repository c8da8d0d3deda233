import { execSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { serveStatic } from './staticServer.ts';
import { bundleSolvedPrompt, ZOO } from './zoo.ts';
import { join } from 'node:path';

// The library build (`npm run build:lib` → dist-lib/, package.json "exports") as a site would host
// it: a plain static server (no Vite) with dist-lib/ under /lib/ and the demo bundle beside it, and a
// page that imports /lib/twinmerge.js and streams an answer. It must equal the Node engine's answer.

test('the library build, served as static files, loads the demo bundle and streams an answer', async ({ page }, testInfo) => {
  test.setTimeout(300_000);
  execSync('npm run build:lib', { stdio: 'pipe' });
  const { prompt, answer } = await bundleSolvedPrompt('sort');
  const html = `<!doctype html><meta charset="utf-8"><title>twinmerge library</title><p id="out">loading</p>
<script type="module">
  import { createEngine, engineFetch } from '/lib/twinmerge.js';
  const out = document.getElementById('out');
  const engine = await createEngine({ bundle: 'models/bundle', onProgress: (p) => (out.textContent = p.stage) });
  let text = '';
  let finish = null;
  const stream = await engine.chat.completions.create({ messages: [{ role: 'user', content: ${JSON.stringify(prompt)} }], stream: true });
  for await (const c of stream) {
    text += c.choices[0]?.delta.content ?? '';
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  const listed = await (await engineFetch(engine)('https://twinmerge.local/v1/models')).json();
  window.result = { text, finish, backend: engine.backend.kind, models: listed.data.map((m) => m.id) };
  out.textContent = text;
</script>`;
  const server = await serveStatic({ '/lib/': 'dist-lib', '/models/bundle/': join(ZOO, 'bundle') }, { '/': html });
  try {
    await page.goto(`${server.origin}/`);
    const result = await page.waitForFunction(() => (window as unknown as { result?: unknown }).result, undefined, { timeout: 240_000 }).then((h) => h.jsonValue());
    expect(result).toMatchObject({ text: answer, finish: 'stop', backend: 'webgpu', models: expect.arrayContaining(['twin', 'static']) });
    await page.screenshot({ path: testInfo.outputPath('library-build.png') });
  } finally {
    await server.close();
  }
});
