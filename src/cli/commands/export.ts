import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineCommand } from '../args.js';

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

export const command = defineCommand({
  summary: 'export a model + tokenizer to the Hugging Face layout (LlamaForCausalLM) and/or GGUF (llama.cpp)',
  options: {
    model: { type: 'string', placeholder: 'DIR', required: true, description: 'a checkpoint (step-N) or a run folder (its latest checkpoint)' },
    out: { type: 'string', placeholder: 'DIR', required: true, description: 'the output folder' },
    tokenizer: { type: 'string', placeholder: 'FILE', description: 'the tokenizer (default: the run\'s tokenizer.json, hcx format)' },
    format: { type: 'string', choices: ['hf', 'gguf', 'both'], default: 'both', description: 'what to write' },
    dtype: { type: 'string', choices: ['f32', 'f16', 'bf16'], default: 'f32', description: 'weight dtype' },
  },
  notes: 'hf -> OUT/{model.safetensors,config.json,generation_config.json,tokenizer.json,tokenizer_config.json};\n' +
    'gguf -> OUT/model-<dtype>.gguf.',
  async run(o) {
    const { model: modelDir, out, format, dtype } = o;
    if (!existsSync(modelDir)) throw new Error(`hcx export: ${modelDir} does not exist`);
    const tokFile = o.tokenizer ?? findRunTokenizer(modelDir);
    if (!tokFile) throw new Error('hcx export: no --tokenizer FILE and no hcx tokenizer.json in the run directory');
    const [{ loadModel }, { Tokenizer }, { exportHfModel }, { exportGguf }] = await Promise.all([
      import('../../model/checkpoint.js'), import('../../tokenizer/index.js'), import('../../model/export_hf.js'), import('../../model/gguf.js'),
    ]);
    const model = loadModel(modelDir);
    const tok = Tokenizer.load(tokFile);
    const written: string[] = [];
    if (format !== 'gguf') written.push(...exportHfModel(model, tok, out, { dtype }));
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
});
