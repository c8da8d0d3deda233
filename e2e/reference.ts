// Reference answers computed in Node, independently of the browser and its worker: the demo
// bundle's files decoded with the safetensors codec, generated greedily by onnxruntime-node. The e2e
// tests compare the app's answers with these.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest } from '../src/core/bundle/manifest.ts';
import { decodeSafetensors, toFloat32 } from '../src/core/safetensors/index.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { buildDecoderGraph } from '../src/model/onnx/decoder.ts';
import { generate } from '../src/runtime/generate.ts';
import { createNodeEngine, loadNodeOrt } from '../src/runtime/node/session.ts';
import { loadTokenizerDir } from '../src/runtime/node/tokenizer.ts';
import { cpuWeightFeeds } from '../src/runtime/weights.ts';
import { ZOO } from './zoo.ts';

/**
 * The static merge's answer (the bundle's shared weights alone, no exclusive module) to one
 * single-turn prompt: greedy, stopping at the same EOS ids as the app (the config's, the generation
 * config's and <|im_end|>), at most `maxNewTokens` tokens (the app's default is 100).
 */
export async function staticMergeAnswer(prompt: string, maxNewTokens = 100): Promise<string> {
  const dir = join(ZOO, 'bundle');
  const manifestPath = join(dir, 'manifest.json');
  const manifest = parseManifest(await readFile(manifestPath, 'utf8'), manifestPath);
  const spec = parseModelConfig(manifest.architecture);
  // The shared weights as stored (F32 or F16; the demo bundle has no int8), widened to float32.
  const sharedPath = join(dir, manifest.shared.file);
  const { tensors } = decodeSafetensors(new Uint8Array(await readFile(sharedPath)), { name: sharedPath });
  const tokenizer = await loadTokenizerDir(dir);
  const gen = JSON.parse(await readFile(join(dir, 'generation_config.json'), 'utf8')) as { eos_token_id?: number | number[] };
  const imEnd = tokenizer.tokenId('<|im_end|>');
  const eos = [...new Set([...spec.eosTokenIds, ...[gen.eos_token_id ?? []].flat(), ...(imEnd !== undefined ? [imEnd] : [])])];
  const graph = buildDecoderGraph(spec, { weights: 'inputs', hiddenStateOutput: true, logits: 'last' });
  const engine = await createNodeEngine(spec, graph, { backend: 'cpu' });
  try {
    const ort = await loadNodeOrt('cpu');
    engine.setWeights(
      await cpuWeightFeeds(ort, graph.io, (n) => {
        const t = tensors.get(n);
        if (!t || (t.dtype !== 'F32' && t.dtype !== 'F16')) throw new Error(`${sharedPath}: no F32/F16 tensor ${n}`);
        return toFloat32(t, sharedPath);
      }),
    );
    const ids = tokenizer.encodeChat([{ role: 'user', content: prompt }], true);
    const r = await generate(engine, ids, { maxNewTokens, temperature: 0, eosTokenIds: eos, decode: (t) => tokenizer.decode(t) });
    return r.text;
  } finally {
    await engine.dispose();
  }
}
