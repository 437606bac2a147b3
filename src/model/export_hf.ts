// Export to the Hugging Face layout of the model's architecture (LlamaForCausalLM for hcx's own models):
// model.safetensors, config.json, generation_config.json, tokenizer.json and tokenizer_config.json. hcx
// parameters carry HF names (src/model/hf_names.ts renames EXAONE 4's norms) and HF's RoPE convention
// (rotate_half: pairs i, i + headDim/2), so weights are written unchanged; tied embeddings write no lm_head
// and set tie_word_embeddings.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { exportHf as exportHfTokenizer, type Tokenizer } from '../tokenizer/index.js';
import type { ModelConfig } from './config.js';
import { modelConfigToHf } from './hf_config.js';
import { hfParamName } from './hf_names.js';
import { saveSafetensors, writeFileAtomic, type StDtype, type StTensor } from './safetensors.js';
import type { Transformer } from './transformer.js';

export type ExportDtype = 'f32' | 'f16' | 'bf16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> bfloat16 bits, round to nearest even (NaN stays a quiet NaN). */
export function f32ToBf16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) { out[i] = (b >>> 16) | 0x40; continue; }
    out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** One float32 -> IEEE half bits, round to nearest even, overflow to infinity, subnormals kept. */
export function floatToHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let man = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal
    man |= 0x800000;
    const shift = 14 - e; // 24-bit mantissa down to the subnormal's 10 bits
    const q = man >>> shift, rem = man & ((1 << shift) - 1), halfway = 1 << (shift - 1);
    return sign | (q + (rem > halfway || (rem === halfway && (q & 1)) ? 1 : 0));
  }
  const q = man >>> 13, rem = man & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (and 30 -> 31 gives infinity).
  return sign | ((e << 10) + q + (rem > 0x1000 || (rem === 0x1000 && (q & 1)) ? 1 : 0));
}

export function f32ToF16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = floatToHalf(src[i]);
  return out;
}

/** HF config.json of this config, as its architecture (src/model/hf_config.ts). */
export function hfConfig(c: ModelConfig, ids: { bos: number | null; eos: number | number[]; pad: number | null }, dtype: ExportDtype = 'f32'): Record<string, unknown> {
  return modelConfigToHf(c, ids, ({ f32: 'float32', f16: 'float16', bf16: 'bfloat16' } as const)[dtype]);
}

/** The safetensors tensors of an HF export (all parameters, in `dtype`). */
export function hfTensors(model: Transformer, dtype: ExportDtype = 'f32'): [string, StTensor][] {
  if (model.bf16Only) throw new Error('export: the model holds bf16-only inference weights; load it with fp32 weights to export');
  const st: StDtype = dtype === 'f32' ? 'F32' : dtype === 'f16' ? 'F16' : 'BF16';
  return [...model.params].map(([name, t]) => [hfParamName(model.config, name), {
    dtype: st,
    shape: [...t.shape],
    data: dtype === 'f32' ? t.data : dtype === 'f16' ? f32ToF16(t.data) : f32ToBf16(t.data),
  }]);
}

export interface HfExportOptions {
  dtype?: ExportDtype;
  /** BOS/EOS/PAD ids for config.json and generation_config.json when `tok` is null (a tokenizer copied as is). */
  tokenIds?: { bos: number | null; eos: number[]; pad: number | null };
}

/**
 * Writes dir/{model.safetensors, config.json, generation_config.json} and, with a tokenizer,
 * dir/{tokenizer.json, tokenizer_config.json}. Token ids: <|endoftext|> as BOS (documents are separated by
 * it in pretraining; hcx adds no BOS), <|endofturn|> and <|endoftext|> as EOS, <|pad|> as padding.
 */
export function exportHfModel(model: Transformer, tok: Tokenizer | null, dir: string, opts: HfExportOptions = {}): string[] {
  const dtype = opts.dtype ?? 'f32';
  const c = model.config;
  if (tok && tok.vocabSize > c.vocabSize) throw new Error(`export: the tokenizer has ${tok.vocabSize} tokens but the model's vocabulary is ${c.vocabSize}`);
  mkdirSync(dir, { recursive: true });
  const sp = tok?.special;
  const ids = sp ? { bos: sp.eot, eos: [sp.endofturn, sp.eot], pad: sp.pad } : opts.tokenIds ?? { bos: null, eos: [], pad: null };
  saveSafetensors(path.join(dir, 'model.safetensors'), hfTensors(model, dtype), { format: 'pt' });
  writeFileAtomic(path.join(dir, 'config.json'), JSON.stringify(hfConfig(c, ids, dtype), null, 2) + '\n');
  // No max_length: transformers warns on every generate(max_new_tokens=...) when both are set.
  const gen = { bos_token_id: ids.bos, eos_token_id: ids.eos, pad_token_id: ids.pad, do_sample: false };
  writeFileAtomic(path.join(dir, 'generation_config.json'), JSON.stringify(gen, null, 2) + '\n');
  const files = ['model.safetensors', 'config.json', 'generation_config.json'];
  if (tok) { exportHfTokenizer(tok, dir); files.push('tokenizer.json', 'tokenizer_config.json'); }
  return files.map((f) => path.join(dir, f));
}
