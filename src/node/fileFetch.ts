// Node adapter: a `fetch` for file: URLs, so code that loads a bundle by URL (src/runtime/bundleLoader.ts:
// sizes and sha256 checked against the manifest) reads a bundle folder on disk the same way.
import { readFile } from 'node:fs/promises';
import { pathToFileURL, fileURLToPath } from 'node:url';

/** The file: URL of a folder (for loadBundle's baseUrl). */
export function folderUrl(dir: string): string {
  return pathToFileURL(dir).href.replace(/\/?$/, '/');
}

export const fileFetch: typeof fetch = async (input) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  try {
    const bytes = await readFile(fileURLToPath(url));
    return new Response(bytes, { status: 200 });
  } catch (e) {
    const code = (e as { code?: string }).code;
    return new Response(null, { status: code === 'ENOENT' ? 404 : 500, statusText: code === 'ENOENT' ? 'Not Found' : String(code ?? e) });
  }
};
