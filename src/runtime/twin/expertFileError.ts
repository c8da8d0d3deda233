// A dropped file that cannot become an expert, said in words a user understands first (naming the
// file, and the tensor where there is one) and the technical detail second. Shared by the expert
// and adapter import (customExpert.ts) and the checkpoint import (droppedCheckpoint.ts).
import { isSafetensorsError } from '../../core/safetensors/index.ts';

export interface DroppedFileData {
  name: string;
  bytes: Uint8Array;
}

/**
 * A dropped file is unusable. The message's first line says what is wrong in words a user
 * understands and names the file; the lines after it (if any) are the technical detail (codec
 * code, tensor, shapes). Only the message crosses the worker boundary, so the UI splits it there.
 */
export class ExpertFileError extends Error {
  override readonly name = 'ExpertFileError';
  constructor(
    readonly file: string,
    readonly tensor: string | undefined,
    readonly summary: string,
    readonly detail?: string,
  ) {
    super(detail ? `${summary}\n${detail}` : summary);
  }
}

export function fail(file: string, summary: string, detail?: string, tensor?: string): never {
  throw new ExpertFileError(file, tensor, summary, detail);
}

const text = new TextDecoder();
const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** What the first bytes of a file that is not a safetensors file look like, in words (or null). */
function sniff(bytes: Uint8Array): string | null {
  const head = bytes.subarray(0, 1024);
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'it looks like a zip archive; PyTorch saves its .pt/.bin checkpoints this way';
  if (head[0] === 0x80 && head[1] !== undefined && head[1] >= 2 && head[1] <= 5) return 'it looks like a PyTorch pickle';
  let printable = 0;
  for (const b of head) {
    if (b === 0) return null;
    if (b === 9 || b === 10 || b === 13 || (b >= 0x20 && b < 0x7f) || b >= 0x80) printable++;
  }
  if (head.length === 0 || printable < 0.95 * head.length) return null;
  const start = text.decode(head).trimStart();
  if (/^<(!doctype|html|\?xml)/i.test(start)) return 'it looks like a web page: was a download page saved instead of the file?';
  if (start.startsWith('{') || start.startsWith('[')) return 'it looks like JSON text';
  return 'it looks like text';
}

/** A codec error in plain words (first) with the codec's own message as the detail. */
export function safetensorsProblem(file: DroppedFileData, e: unknown): ExpertFileError {
  const code = isSafetensorsError(e) ? e.code : undefined;
  const detail = errorText(e);
  const tensor = (e as { tensor?: string }).tensor;
  const n = file.name;
  const what = (summary: string) => new ExpertFileError(n, tensor, summary, detail);
  if (file.bytes.length === 0) return what(`${n} is empty (0 bytes).`);
  if (code === 'TRUNCATED' || code === 'HEADER_TOO_LARGE' || code === 'HEADER_NOT_JSON') {
    const looks = sniff(file.bytes);
    if (looks) return what(`${n} is not a safetensors file (${looks}).`);
    if (file.bytes.length < 8) return what(`${n} is not a safetensors file: it is only ${file.bytes.length} bytes long.`);
    if (code === 'TRUNCATED') return what(`${n} is incomplete: the file ends before the data it describes (an interrupted download or copy?).`);
    return what(`${n} is not a safetensors file.`);
  }
  if (code === 'OUT_OF_BOUNDS') return what(`${n} is incomplete: the file ends before the data it describes (an interrupted download or copy?).`);
  if (code === 'UNKNOWN_DTYPE') return what(`${n} stores its numbers in a type this app cannot read.`);
  return what(`${n} is damaged: its header does not match its contents.`);
}

