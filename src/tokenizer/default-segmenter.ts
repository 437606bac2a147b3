// The segmenter model shipped with hcx (models/ko-segmenter.hseg at the package root), made by
// `hcx segmenter train` from the UD Korean dev treebanks. A fresh machine without ../shared uses it as is;
// if it is missing or unreadable, callers fall back to the rule splitter (split mode 'rules').
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Segmenter } from './segmenter.js';

/** The package root: the nearest folder above this module with a package.json (works from src/ and dist/src/). */
export function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error('hcx: package root not found');
    dir = up;
  }
}

export const DEFAULT_SEGMENTER_PATH = (): string => path.join(packageRoot(), 'models', 'ko-segmenter.hseg');

let cached: Segmenter | null | undefined;

/** The shipped model, or null when it is absent or unreadable. Loaded once. */
export function defaultSegmenter(): Segmenter | null {
  if (cached !== undefined) return cached;
  try {
    cached = Segmenter.fromBytes(readFileSync(DEFAULT_SEGMENTER_PATH()));
  } catch {
    cached = null;
  }
  return cached;
}
