# A GGUF file with one tensor of every type hcx reads, written by gguf-py's GGUFWriter (alignment 64), and the
# values gguf-py's GGUFReader + gguf.quants.dequantize give for it, for test/model/gguf_reader.test.ts:
#   python gguf_quant_file.py OUT    -> OUT/q.gguf, OUT/q.ref.safetensors (float32, keyed by tensor name)
# Block bytes are random with the f16 scale fields set to random finite halves; t.big (Q8_0, 17.8 MB) is larger
# than the reader's 16 MiB conversion buffer.
import sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize
from safetensors.numpy import save_file

out = sys.argv[1]
rng = np.random.default_rng(7)
SCALES = {'Q4_0': [0], 'Q4_1': [0, 2], 'Q5_0': [0], 'Q5_1': [0, 2], 'Q8_0': [0], 'Q2_K': [80, 82], 'Q3_K': [108], 'Q4_K': [0, 2], 'Q5_K': [0, 2], 'Q6_K': [208]}


def finite_halves(n):
    bits = (rng.integers(0, 1 << 16, n, dtype=np.uint32) & 0x83ff) | (rng.integers(0, 31, n, dtype=np.uint32) << 10)
    return bits.astype(np.uint16)


w = gguf.GGUFWriter(f'{out}/q.gguf', 'llama')
w.add_custom_alignment(64)
for name, rows in [(n, 24) for n in ['F32', 'F16', 'BF16', *SCALES]] + [('big', 4100 * 16)]:
    q = Q['Q8_0' if name == 'big' else name]
    block, size = gguf.GGML_QUANT_SIZES[q]
    if name == 'F32':
        w.add_tensor('t.F32', rng.standard_normal((rows, 256)).astype(np.float32))
        continue
    if name == 'F16':
        w.add_tensor('t.F16', finite_halves(rows * 256).view(np.float16).reshape(rows, 256))
        continue
    raw = rng.integers(0, 256, (rows, 256 // block * size), dtype=np.uint8)
    blocks = raw.reshape(-1, size)
    for o in SCALES.get(name, [0] if name == 'big' else []):
        blocks[:, o:o + 2] = finite_halves(len(blocks)).view(np.uint8).reshape(-1, 2)
    w.add_tensor(f't.{name}', raw, raw_dtype=q)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
r = gguf.GGUFReader(f'{out}/q.gguf')
save_file({t.name: np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32) for t in r.tensors}, f'{out}/q.ref.safetensors')
