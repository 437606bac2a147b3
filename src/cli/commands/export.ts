import { copyFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { defineCommand } from '../args.js';

/** The files of a Hugging Face tokenizer, copied as they are when a model with one is exported to the HF layout. */
const HF_TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja', 'chat_template.json'];

export const command = defineCommand({
  summary: 'export a model + tokenizer to the Hugging Face layout and/or GGUF (llama.cpp)',
  options: {
    model: { type: 'string', placeholder: 'DIR|FILE', required: true, description: 'a run (its latest checkpoint), checkpoint, HF folder, .safetensors or .gguf' },
    out: { type: 'string', placeholder: 'DIR', required: true, description: 'the output folder' },
    tokenizer: { type: 'string', placeholder: 'FILE', description: 'the tokenizer (default: the model\'s own)' },
    format: { type: 'string', choices: ['hf', 'gguf', 'both'], default: 'both', description: 'what to write' },
    dtype: { type: 'string', choices: ['f32', 'f16', 'bf16'], default: 'f32', description: 'weight dtype' },
  },
  notes: 'hf -> OUT/{model.safetensors,config.json,generation_config.json,tokenizer.json,tokenizer_config.json};\n' +
    'gguf -> OUT/model-<dtype>.gguf (needs an hcx tokenizer). A Hugging Face tokenizer is copied as it is.',
  async run(o) {
    const { out, format, dtype } = o;
    const [{ openModel, hcxTokenizerOf }, { Tokenizer }, { exportHfModel }, { exportGguf }] = await Promise.all([
      import('../../model/load.js'), import('../../tokenizer/index.js'), import('../../model/export_hf.js'), import('../../model/gguf.js'),
    ]);
    const opened = openModel(o.model, { tokenizer: o.tokenizer });
    const { model, tokenizer, tokenizerPath } = opened;
    const hcxTok = tokenizer instanceof Tokenizer ? tokenizer : null;
    // Refused before anything is written: GGUF needs hcx's tokenizer; the HF layout takes hcx's or an HF one.
    const ggufTok = format !== 'hf' ? hcxTokenizerOf(opened, 'hcx export --format gguf') : null;
    if (format !== 'gguf' && !hcxTok && tokenizer.kind !== 'hf') hcxTokenizerOf(opened, 'hcx export --format hf');
    const written: string[] = [];
    if (format !== 'gguf') {
      if (hcxTok) written.push(...exportHfModel(model, hcxTok, out, { dtype }));
      else if (tokenizer.kind === 'hf') {
        const ids = tokenizer.specialIds;
        written.push(...exportHfModel(model, null, out, { dtype, tokenIds: { bos: ids.bos, eos: [...ids.stop], pad: ids.pad } }));
        for (const f of HF_TOKENIZER_FILES) {
          const from = path.join(path.dirname(tokenizerPath), f);
          if (existsSync(from) && path.resolve(from) !== path.resolve(out, f)) { copyFileSync(from, path.join(out, f)); written.push(path.join(out, f)); }
        }
      }
    }
    if (format !== 'hf') {
      const file = path.join(out, `model-${dtype}.gguf`);
      exportGguf(model, ggufTok!, file, { dtype: dtype.toUpperCase() as 'F32' | 'F16' | 'BF16', name: opened.displayName });
      written.push(file);
    }
    console.log(`exported ${model.numParameters.toLocaleString('en')} parameters with tokenizer ${tokenizerPath}:\n  ${written.join('\n  ')}`);
    // The tokenizer.json export warns by itself (exportHf); GGUF's tokenizer is written here.
    const { exportWarning } = await import('../../tokenizer/index.js');
    const w = format !== 'hf' && hcxTok ? exportWarning(hcxTok.split, 'gguf') : null;
    if (w) console.error(`${w} (Token ids given to the exported model directly are unaffected.)`);
  },
});
