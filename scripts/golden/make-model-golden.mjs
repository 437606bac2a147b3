// Regenerates test/golden/model-golden.json: writes the golden model's weights (PRESETS.test, seed 42)
// and inputs, runs scripts/golden/model_golden.py under PyTorch (float64), and stores its answers with
// a checksum of the weights, so the test can tell a changed initialiser from a wrong model.
//   npm run build && node scripts/golden/make-model-golden.mjs
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { Transformer } = await import(path.join(root, 'dist/src/model/transformer.js'));
const { PRESETS } = await import(path.join(root, 'dist/src/model/config.js'));
const { saveSafetensors } = await import(path.join(root, 'dist/src/model/safetensors.js'));
const { modelTensors } = await import(path.join(root, 'dist/src/model/checkpoint.js'));
const { goldenInputs } = await import(path.join(root, 'dist/test/golden/inputs.js'));

const cfg = PRESETS.test;
const model = new Transformer(cfg, 42);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hcx-golden-'));
saveSafetensors(path.join(tmp, 'w.safetensors'), modelTensors(model));
writeFileSync(path.join(tmp, 'config.json'), JSON.stringify(cfg));
const inputs = goldenInputs();
writeFileSync(path.join(tmp, 'inputs.json'), JSON.stringify(inputs));
const py = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch']).status === 0);
if (!py) throw new Error('needs python3 with torch (apt-get install -y python3-torch)');
const r = spawnSync(py, [path.join(root, 'scripts/golden/model_golden.py'), path.join(tmp, 'w.safetensors'), path.join(tmp, 'config.json'),
  path.join(tmp, 'inputs.json'), path.join(tmp, 'out.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(1);
const out = JSON.parse(readFileSync(path.join(tmp, 'out.json'), 'utf8'));
const h = createHash('sha256');
for (const t of model.parameters()) h.update(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
out.weights_sha256 = h.digest('hex');
out.config = cfg;
out.inputs = inputs;
writeFileSync(path.join(root, 'test/golden/model-golden.json'), JSON.stringify(out) + '\n');
console.log(`wrote test/golden/model-golden.json (torch ${out.torch}, loss ${out.loss})`);
