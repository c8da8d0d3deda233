// Can a fine-tuned checkpoint join a bundle as an expert? Only if it is the same architecture at the
// same shapes: the same family, sizes, vocabulary, biases and head tying (rope and norm settings may
// differ only where fine-tuning does not change them, which is nowhere here: they must match too).

import type { ModelSpec } from './config.ts';

const FIELDS: { key: keyof ModelSpec; label: string }[] = [
  { key: 'family', label: 'model type' },
  { key: 'hiddenSize', label: 'hidden size' },
  { key: 'numLayers', label: 'layers' },
  { key: 'numHeads', label: 'attention heads' },
  { key: 'numKvHeads', label: 'key/value heads' },
  { key: 'headDim', label: 'head size' },
  { key: 'intermediateSize', label: 'MLP size' },
  { key: 'vocabSize', label: 'vocabulary size' },
  { key: 'tieWordEmbeddings', label: 'tied embeddings' },
  { key: 'qkvBias', label: 'q/k/v biases' },
  { key: 'oBias', label: 'output-projection bias' },
  { key: 'ropeTheta', label: 'rope theta' },
  { key: 'rmsNormEps', label: 'norm epsilon' },
];

/** The first differences between a checkpoint's spec and the bundle's ("hidden size 576, the model's 128"), or [] when it fits. */
export function architectureDifferences(checkpoint: ModelSpec, bundle: ModelSpec): string[] {
  const out: string[] = [];
  for (const { key, label } of FIELDS) {
    if (checkpoint[key] !== bundle[key]) out.push(`${label} ${String(checkpoint[key])}, the model's ${String(bundle[key])}`);
  }
  if (JSON.stringify(checkpoint.rope) !== JSON.stringify(bundle.rope)) out.push(`rope scaling ${JSON.stringify(checkpoint.rope)}, the model's ${JSON.stringify(bundle.rope)}`);
  return out;
}
