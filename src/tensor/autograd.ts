// Reverse-mode automatic differentiation over the graph that ops record on their outputs.
import { allocF32, release } from './pool.js';
import { Tensor, type GradNode, type BackwardContext } from './tensor.js';

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn without recording a graph (inference, evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op on these inputs must record a node. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Attaches the op's backward to its output when any input requires grad. */
export function record(out: Tensor, name: string, inputs: readonly Tensor[], backward: GradNode['backward']): Tensor {
  if (!needsGrad(...inputs)) return out;
  out.requiresGrad = true;
  out.node = { name, inputs, backward };
  return out;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  // Iterative DFS: deep graphs (many layers x many ops) would overflow the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root.id);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.node ? t.node.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const c = inputs[i];
      if (c.requiresGrad && !seen.has(c.id)) {
        seen.add(c.id);
        stack.push([c, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

/**
 * Backpropagates from `root` (a scalar, unless `gradient` is given). Gradients of leaf tensors
 * accumulate in their .grad across calls (gradient accumulation) until zeroGrad(); gradients of
 * intermediate tensors exist only during the call.
 */
export function backward(root: Tensor, gradient?: Float32Array): void {
  root.assertLive();
  if (!root.requiresGrad) throw new Error('backward(): the tensor does not require grad (no parameter reaches it)');
  if (!gradient && root.size !== 1) throw new Error(`backward(): needs a scalar or an explicit gradient, got shape [${root.shape.join(', ')}]`);
  const order = topoOrder(root);
  const grads = new Map<number, Float32Array>();
  const g0 = allocF32(root.size, false);
  if (gradient) g0.set(gradient);
  else g0[0] = 1;
  grads.set(root.id, g0);

  const gradBuffer = (t: Tensor): [Float32Array, boolean] => {
    if (t.isLeaf) {
      if (t.grad) return [t.grad.data, true];
      // Leaf gradients outlive every scope, so they never come from (or return to) the pool.
      t.grad = new Tensor(t.shape, new Float32Array(t.size));
      return [t.grad.data, true];
    }
    const g = grads.get(t.id);
    if (g) return [g, true];
    const fresh = allocF32(t.size, false);
    grads.set(t.id, fresh);
    return [fresh, false];
  };

  for (const t of order) {
    const node = t.node;
    if (!node) continue;
    const g = grads.get(t.id);
    if (!g) continue;
    const ctx: BackwardContext = {
      gradFor(i: number) {
        const input = node.inputs[i];
        if (!input || !input.requiresGrad) return null;
        return gradBuffer(input);
      },
    };
    node.backward(g, ctx);
    grads.delete(t.id);
    if (t !== root || !root.isLeaf) release(g);
  }
  // Leaf root (backward on a parameter itself).
  if (root.isLeaf) {
    const [buf] = gradBuffer(root);
    for (let i = 0; i < buf.length; i++) buf[i] += g0[i];
  }
}
