import type { Command } from '../main.js';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { flagString, parseArgs } from '../args.js';

/** The hcx tokenizer that belongs to a model directory: run/tokenizer.json, also from run/checkpoints/step-N. */
export function findRunTokenizer(modelDir: string): string | null {
  const dirs = [modelDir, path.resolve(modelDir, '..', '..')];
  for (const d of dirs) {
    const f = path.join(d, 'tokenizer.json');
    if (!existsSync(f)) continue;
    try {
      if ((JSON.parse(readFileSync(f, 'utf8')) as { format?: string }).format === 'hcx-tokenizer') return f;
    } catch { /* not ours */ }
  }
  return null;
}

export const command: Command = {
  summary: 'export a model + tokenizer to the Hugging Face layout (LlamaForCausalLM) and/or GGUF (llama.cpp)',
  usage: 'hcx export --model DIR --out DIR [--tokenizer FILE] [--format hf|gguf|both] [--dtype f32|f16|bf16]\n' +
    'DIR: a checkpoint (step-N) or a run directory (its latest checkpoint). The tokenizer defaults to the run\'s\n' +
    'tokenizer.json (hcx format). hf -> OUT/{model.safetensors,config.json,generation_config.json,tokenizer.json,\n' +
    'tokenizer_config.json}; gguf -> OUT/model-<dtype>.gguf.',
  async run(argv) {
    const a = parseArgs(argv);
    const modelDir = flagString(a, 'model'), out = flagString(a, 'out');
    if (!modelDir || !out) throw new Error('hcx export: needs --model DIR and --out DIR');
    const format = flagString(a, 'format', 'both')!;
    if (!['hf', 'gguf', 'both'].includes(format)) throw new Error(`hcx export: --format must be hf, gguf or both, got "${format}"`);
    const dtype = flagString(a, 'dtype', 'f32')!;
    if (!['f32', 'f16', 'bf16'].includes(dtype)) throw new Error(`hcx export: --dtype must be f32, f16 or bf16, got "${dtype}"`);
    if (!existsSync(modelDir)) throw new Error(`hcx export: ${modelDir} does not exist`);
    const tokFile = flagString(a, 'tokenizer') ?? findRunTokenizer(modelDir);
    if (!tokFile) throw new Error('hcx export: no --tokenizer FILE and no hcx tokenizer.json in the run directory');
    const [{ loadModel }, { Tokenizer }, { exportHfModel }, { exportGguf }] = await Promise.all([
      import('../../model/checkpoint.js'), import('../../tokenizer/index.js'), import('../../model/export_hf.js'), import('../../model/gguf.js'),
    ]);
    const model = loadModel(modelDir);
    const tok = Tokenizer.load(tokFile);
    const written: string[] = [];
    if (format !== 'gguf') written.push(...exportHfModel(model, tok, out, { dtype: dtype as 'f32' | 'f16' | 'bf16' }));
    if (format !== 'hf') {
      const file = path.join(out, `model-${dtype}.gguf`);
      exportGguf(model, tok, file, { dtype: dtype.toUpperCase() as 'F32' | 'F16' | 'BF16', name: path.basename(path.resolve(modelDir)) });
      written.push(file);
    }
    console.log(`exported ${model.numParameters.toLocaleString('en')} parameters with tokenizer ${tokFile}:\n  ${written.join('\n  ')}`);
    // The tokenizer.json export warns by itself (exportHf); GGUF's tokenizer is written here.
    const { exportWarning } = await import('../../tokenizer/index.js');
    const w = format !== 'hf' ? exportWarning(tok.split, 'gguf') : null;
    if (w) console.error(`${w} (Token ids given to the exported model directly are unaffected.)`);
  },
};
