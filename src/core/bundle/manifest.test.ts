import { describe, expect, it } from 'vitest';
import { BUNDLE_FORMAT, ManifestError, parseManifest, type Manifest } from './manifest.ts';

const sha = 'a'.repeat(64);
function validManifest(): Manifest {
  const files = ['model.onnx', 'tokenizer.json', 'tokenizer_config.json', 'shared.safetensors', 'base_delta.safetensors', 'router.safetensors', 'experts/add.safetensors', 'experts/reverse.safetensors'];
  return {
    format: BUNDLE_FORMAT,
    version: 1,
    createdBy: 'twinmerge pack 0.1.0',
    architecture: { model_type: 'llama', hidden_size: 128, intermediate_size: 352, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 264, rope_theta: 10000 },
    graph: 'model.onnx',
    tokenizer: { files: ['tokenizer.json', 'tokenizer_config.json'] },
    merge: { method: 'task_arithmetic', lambda: 0.3, params: {} },
    shared: { file: 'shared.safetensors', dtype: 'f16', baseDelta: { file: 'base_delta.safetensors', maxRank: 16, relativeError: 0 } },
    experts: ['add', 'reverse'].map((id) => ({
      id,
      name: id,
      description: `The ${id} expert`,
      rank: 16,
      rankPolicy: 'fixed' as const,
      file: `experts/${id}.safetensors`,
      bytes: 1000,
      examplePrompts: ['What is 2 + 2?'],
      source: { kind: 'lora' as const, path: `models/experts/${id}` },
    })),
    router: { file: 'router.safetensors', feature: { kind: 'mean_last_hidden', size: 128 }, labels: ['add', 'reverse'], hidden: [64], temperature: 1 },
    files: files.map((path) => ({ path, bytes: 10, sha256: sha })),
    provenance: [{ role: 'base', id: 'base', path: 'models/base', sha256: sha }],
  };
}

function issuesOf(value: unknown): string[] {
  try {
    parseManifest(value);
  } catch (e) {
    expect(e).toBeInstanceOf(ManifestError);
    return (e as ManifestError).issues;
  }
  throw new Error('expected a ManifestError');
}

describe('bundle manifest', () => {
  it('accepts a valid manifest and keeps extra architecture keys', () => {
    const m = parseManifest(JSON.stringify(validManifest()));
    expect(m.experts.map((e) => e.id)).toEqual(['add', 'reverse']);
    expect(m.architecture.rope_theta).toBe(10000);
  });

  it('rejects non-JSON with the source name', () => {
    expect(() => parseManifest('{nope', 'bundle/manifest.json')).toThrow(/bundle\/manifest.json: invalid bundle manifest:\n {2}not valid JSON/);
  });

  it('names the field that is wrong', () => {
    const m = validManifest() as unknown as { experts: { rank: unknown }[] };
    m.experts[0]!.rank = -1;
    expect(issuesOf(m).join('\n')).toMatch(/^experts\.0\.rank: /m);
  });

  it('rejects paths that escape the bundle', () => {
    for (const bad of ['../secret', '/etc/passwd', 'a//b', 'a\\b', './x']) {
      const m = validManifest();
      m.graph = bad;
      expect(issuesOf(m).some((i) => i.startsWith('graph:'))).toBe(true);
    }
  });

  it('requires every referenced file to be listed once', () => {
    const m = validManifest();
    m.files = m.files.filter((f) => f.path !== 'router.safetensors');
    m.files.push({ ...m.files[0]! });
    const issues = issuesOf(m).join('\n');
    expect(issues).toMatch(/router\.file: "router.safetensors" is not in the files list/);
    expect(issues).toMatch(/is listed twice/);
  });

  it('requires router labels to be the expert ids', () => {
    const m = validManifest();
    m.router.labels = ['add', 'add'];
    expect(issuesOf(m).join('\n')).toMatch(/router\.labels: router labels \[add, add\] must be the expert ids/);
  });

  it('checks the router feature size against the architecture', () => {
    const m = validManifest();
    m.router.feature.size = 64;
    expect(issuesOf(m).join('\n')).toMatch(/feature size 64 must equal hidden_size 128/);
  });

  it('rejects duplicate expert ids, unknown keys, unknown methods and newer versions clearly', () => {
    const dup = validManifest();
    dup.experts[1]!.id = 'add';
    expect(issuesOf(dup).join('\n')).toMatch(/expert id "add" is used twice/);
    expect(issuesOf({ ...validManifest(), extra: 1 }).join('\n')).toMatch(/extra/);
    const method = validManifest() as unknown as { merge: { method: string } };
    method.merge.method = 'slerp';
    expect(issuesOf(method).join('\n')).toMatch(/^merge\.method: /m);
    expect(issuesOf({ ...validManifest(), version: 9 }).join('\n')).toMatch(/version 9 is newer/);
  });

  it('rejects non-objects without throwing anything but ManifestError', () => {
    for (const v of [null, 1, 'x', [], true]) expect(issuesOf(v).length).toBeGreaterThan(0);
  });
});
