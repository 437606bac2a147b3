// Language routing measured on FLORES-200 devtest (line-aligned ko/en/ja/zh), from ../shared/data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectLang } from '../../src/data/detect.js';
import type { Lang } from '../../src/data/types.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/flores200/data/flores200_dataset/devtest');

test('shared: language id on FLORES-200 devtest sentences', { skip: !existsSync(root) && 'shared data missing' }, () => {
  const want: Record<string, Lang> = { kor_Hang: 'ko', eng_Latn: 'en', jpn_Jpan: 'ja', zho_Hans: 'zh' };
  for (const [file, lang] of Object.entries(want)) {
    const lines = readFileSync(path.join(root, `${file}.devtest`), 'utf8').trim().split('\n');
    const acc = lines.filter((s) => detectLang(s) === lang).length / lines.length;
    console.log(`# langid ${lang}: ${(acc * 100).toFixed(1)}% of ${lines.length} sentences`);
    assert.ok(acc >= 0.98, `${lang} accuracy ${acc}`);
  }
});
