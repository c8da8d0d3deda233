// Shared by the harness pages that drop a checkpoint folder into a session (bench.ts, realsize.ts):
// its files fetched by URL as the drop hands them over, and a module file returned to Node as base64.

/** Files by URL, named by their last path segment (what a dropped folder gives). */
export async function fetchDroppedFiles(urls: readonly string[]): Promise<{ name: string; bytes: Uint8Array<ArrayBuffer> }[]> {
  return Promise.all(urls.map(async (u) => ({ name: u.split('/').pop()!, bytes: new Uint8Array(await (await fetch(u)).arrayBuffer()) })));
}

/** Bytes as base64 (page.evaluate returns strings; in chunks, since spreading MBs overflows the stack). */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
