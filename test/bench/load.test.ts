// `hcx bench load` plumbing on a tiny model: the children write, load and report, and the JSON document has a
// row per case with seconds, the ratio over cat and the peak RSS. No timing is asserted beyond "finite, positive".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/hcx.js');

test('bench load --json: every case reports, hcx rows carry the ratio over cat and the peak RSS', () => {
  const r = spawnSync(process.execPath, [bin, 'bench', 'load', '--size-mb', '4', '--repeat', '1', '--no-python', '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { rows: Record<string, unknown>[]; shape: { params: number } };
  assert.ok(doc.shape.params > 1e6);
  const cases = doc.rows.map((x) => `${x.system} ${x.format} ${x.as}`);
  assert.deepEqual(cases, ['cat safetensors bytes', 'hcx safetensors bf16', 'hcx safetensors bf16, into touched arrays', 'hcx safetensors f32',
    'cat gguf bytes', 'hcx gguf bf16', 'hcx gguf f32']);
  for (const row of doc.rows) {
    assert.ok(Number.isFinite(row.seconds) && (row.seconds as number) > 0, JSON.stringify(row));
    if (row.system === 'hcx') {
      assert.ok(Number.isFinite(row.ratio_over_cat), JSON.stringify(row));
      assert.ok((row.peak_rss_mb as number) > (row.base_rss_mb as number), JSON.stringify(row));
    }
  }
  const bad = spawnSync(process.execPath, [bin, 'bench', 'load', '--sizemb', '4'], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /hcx bench load: unknown option --sizemb \(did you mean --size-mb\?\)/);
});
