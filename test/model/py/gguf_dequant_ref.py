# Reference dequantisation for test/model/gguf_dequant.test.ts:
#   python gguf_dequant_ref.py IN OUT TYPE:ROWS:BYTES_PER_ROW...
# reads each case's ROWS * BYTES_PER_ROW bytes of ggml blocks from IN (in argument order) and writes the float32
# values that gguf-py's gguf.quants.dequantize gives, concatenated, to OUT.
import sys
import numpy as np
from gguf import GGMLQuantizationType
from gguf.quants import dequantize

src, dst, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
data = open(src, 'rb').read()
off = 0
out = []
for spec in specs:
    name, rows, row_bytes = spec.split(':')
    rows, row_bytes = int(rows), int(row_bytes)
    raw = np.frombuffer(data, dtype=np.uint8, count=rows * row_bytes, offset=off).reshape(rows, row_bytes)
    off += rows * row_bytes
    out.append(np.ascontiguousarray(dequantize(raw, GGMLQuantizationType[name]), dtype=np.float32).tobytes())
assert off == len(data), 'unread input'
open(dst, 'wb').write(b''.join(out))
