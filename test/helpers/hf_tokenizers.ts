// The Hugging Face tokenizers the import parity tests run on (Llama 3, Qwen 3, Gemma 3), fetched outside the
// repository by scripts/fetch-hf-tokenizers.sh into $HCX_HF_TOKENIZERS (default /tmp/hcx-hf-tokenizers). Where
// they are absent a test skips, saying how to get them; under HCX_REQUIRE_HF_TOKENIZERS=1 (set by .ci/run once it
// fetched them) a missing file fails instead.
import { existsSync } from 'node:fs';
import path from 'node:path';

export const HF_TOKENIZERS = ['llama3', 'qwen3', 'gemma3'] as const;
export type HfName = (typeof HF_TOKENIZERS)[number];

export function hfTokenizersDir(): string {
  return process.env.HCX_HF_TOKENIZERS ?? '/tmp/hcx-hf-tokenizers';
}

export function hfDir(name: HfName): string {
  return path.join(hfTokenizersDir(), name);
}

/** false when every named tokenizer is present, else why not (pass as node:test's `skip`). */
export function hfMissing(names: readonly HfName[] = HF_TOKENIZERS): string | false {
  for (const n of names) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      const p = path.join(hfDir(n), f);
      if (!existsSync(p)) {
        const why = `${p} is missing (run sh scripts/fetch-hf-tokenizers.sh)`;
        if (process.env.HCX_REQUIRE_HF_TOKENIZERS === '1') throw new Error(`HCX_REQUIRE_HF_TOKENIZERS=1 but ${why}`);
        return why;
      }
    }
  }
  return false;
}
