// JSON.parse keeps the last of duplicated keys silently, which would let a crafted header
// hide a tensor. This scans already-validated JSON text (call it only after JSON.parse
// succeeded) and reports the first key repeated within one object, at any depth.
// Iterative, linear, no recursion: safe on deeply nested or huge input.

export interface DuplicateKey {
  key: string;
  /** Depth of the object holding the key: 1 = top level. */
  depth: number;
  /** For depth > 1: the top-level key under which the duplicate sits. */
  topKey: string | undefined;
}

export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: (Set<string> | null)[] = []; // null marks an array
  let expectKey = false;
  let topKey: string | undefined;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
      i++;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
      i++;
    } else if (c === 0x2c /* , */) {
      expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
      i++;
    } else if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 0x5c /* \ */) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) break;
        else j++;
      }
      if (expectKey) {
        // Escapes must be decoded: "a" and "\u0061" are the same key.
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        const keys = stack[stack.length - 1]!;
        const depth = stack.length;
        if (keys.has(key)) return { key, depth, topKey: depth === 1 ? undefined : topKey };
        keys.add(key);
        if (depth === 1) topKey = key;
        expectKey = false;
      }
      i = j + 1;
    } else i++;
  }
  return undefined;
}
