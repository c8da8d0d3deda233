/**
 * `twinmerge export <checkpoint-dir> <out-dir>`: an HF Llama/Qwen2 checkpoint → the
 * transformers.js folder layout, loadable by AutoModelForCausalLM offline:
 *   out/config.json, generation_config.json, tokenizer.json, tokenizer_config.json
 *   (+ special_tokens_map.json when present), onnx/model.onnx (fp32, weights as initializers).
 * The checkpoint is validated against config.json, and every weight checked finite, before anything is written.
 */
import { copyFile, access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertFinite } from '../core/tensor/index.ts';
import { buildDecoderGraph } from '../model/onnx/decoder.ts';
import { openCheckpointDir } from '../runtime/node/checkpoint.ts';

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json'];

export interface ExportOptions {
  /** Rotary cache length (default min(max_position_embeddings, 8192)). */
  maxSequenceLength?: number;
}

export interface ExportResult {
  files: string[];
  onnxBytes: number;
}

export async function exportCheckpoint(src: string, out: string, opts: ExportOptions = {}): Promise<ExportResult> {
  const ck = await openCheckpointDir(src);
  try {
    const data = new Map<string, Float32Array>();
    // Every weight is read and checked before anything is written: a NaN/Inf refuses the export,
    // naming the tensor (the same check as pack's readFinite).
    for (const w of ck.weights) {
      const d = await ck.read(w.name);
      assertFinite(d, `${src} (${w.name})`);
      data.set(w.name, d);
    }
    const graph = buildDecoderGraph(ck.spec, {
      weights: 'initializers',
      weight: (n) => data.get(n)!,
      ...(opts.maxSequenceLength ? { maxSequenceLength: opts.maxSequenceLength } : {}),
    });
    if (graph.bytes.byteLength >= 2 ** 31) {
      throw new Error('model too large for a single-file ONNX export (2 GiB protobuf limit); external data is not implemented');
    }
    await mkdir(join(out, 'onnx'), { recursive: true });
    const files: string[] = [];
    await writeFile(join(out, 'onnx', 'model.onnx'), graph.bytes);
    files.push('onnx/model.onnx');
    await writeFile(join(out, 'config.json'), `${JSON.stringify(ck.config, null, 2)}\n`);
    files.push('config.json');
    for (const f of TOKENIZER_FILES) {
      const p = join(src, f);
      const ok = await access(p).then(() => true, () => false);
      if (ok) {
        await copyFile(p, join(out, f));
        files.push(f);
      } else if (f === 'tokenizer.json' || f === 'tokenizer_config.json') {
        console.warn(`export: ${src} has no ${f}; transformers.js will not find a tokenizer`);
      }
    }
    return { files, onnxBytes: graph.bytes.byteLength };
  } finally {
    await ck.close();
  }
}

export async function exportMain(args: string[]): Promise<number> {
  const pos = args.filter((a) => !a.startsWith('--'));
  const maxArg = args.find((a) => a.startsWith('--max-seq='));
  if (pos.length !== 2) {
    console.error('usage: twinmerge export <checkpoint-dir> <out-dir> [--max-seq=N]');
    return 2;
  }
  const res = await exportCheckpoint(pos[0]!, pos[1]!, maxArg ? { maxSequenceLength: Number(maxArg.split('=')[1]) } : {});
  console.log(`exported ${pos[0]} → ${pos[1]} (${res.files.join(', ')}; model.onnx ${(res.onnxBytes / 1e6).toFixed(1)} MB)`);
  return 0;
}
