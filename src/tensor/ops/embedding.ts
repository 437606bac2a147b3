// Embedding lookup: rows of table [vocab, dim] for integer ids; backward scatter-adds into the table.
import { record } from '../autograd.js';
import { Tensor } from '../tensor.js';
import { K, shapeStr } from './util.js';

export function embedding(table: Tensor, ids: Int32Array, shape: readonly number[] = [ids.length]): Tensor {
  if (table.ndim !== 2) throw new Error(`embedding: table must be [vocab, dim], got ${shapeStr(table.shape)}`);
  const [V, D] = table.shape;
  const y = Tensor.empty([...shape, D]);
  if (y.size !== ids.length * D) throw new Error(`embedding: ${ids.length} ids do not fill shape ${shapeStr(shape)}`);
  K.embedding(table.data, ids, y.data, V, D);
  return record(y, 'embedding', [table], (g, ctx) => {
    const gt = ctx.gradFor(0);
    if (!gt) return;
    if (!gt[1]) gt[0].fill(0);
    K.embeddingBackward(g, ids, gt[0], D);
  });
}
