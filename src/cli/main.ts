/**
 * twinmerge CLI dispatcher: `npx tsx src/cli/main.ts <command> ...` (npm run twinmerge -- ...).
 * Commands register here; each module exports a `(args) => Promise<exitCode>`.
 */
type Command = { describe: string; run: (args: string[]) => Promise<number> };

const commands: Record<string, Command> = {
  pack: {
    describe: 'pack --config pack.yaml [--report r.json]: base + experts → a Twin-Merging bundle',
    run: async (a) => (await import('./pack/main.ts')).packMain(a),
  },
  eval: {
    describe: 'eval --config eval.yaml | --pack pack.yaml [--bundle dir] [--limit N]: exact match of base, experts, merges, Twin → docs/results',
    run: async (a) => (await import('./eval/main.ts')).evalMain(a),
  },
  extract: {
    describe: 'extract --bundle dir --checkpoint dir --out file: a fine-tuned checkpoint → its exclusive module for a built bundle (as the app does on a drop)',
    run: async (a) => (await import('./extract.ts')).extractMain(a),
  },
  synth: {
    describe: 'synth --shape smollm2-135m|smollm2-360m|qwen2.5-0.5b [--layers N]: random checkpoints at a real shape (bf16 shards, 4 experts, a LoRA) + pack.yaml',
    run: async (a) => (await import('./synth/main.ts')).synthMain(a),
  },
  export: {
    describe: 'export <checkpoint-dir> <out-dir>: transformers.js folder with onnx/model.onnx',
    run: async (a) => (await import('./export.ts')).exportMain(a),
  },
  'bench-engine': {
    describe: 'bench-engine [--zoo=models] [--big]: prefill/decode tok/s, ours vs transformers.js',
    run: async (a) => (await import('./bench-engine.ts')).benchEngineMain(a),
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const cmd = name ? commands[name] : undefined;
  if (!cmd) {
    console.error(`usage: twinmerge <command> ...\n${Object.entries(commands).map(([k, c]) => `  ${k.padEnd(8)} ${c.describe}`).join('\n')}`);
    return name ? 2 : 0;
  }
  return cmd.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
