import * as tf from '@tensorflow/tfjs';

/**
 * Backpropagation that frees memory as it goes. tfjs's `engine.gradients` keeps every gradient of
 * every intermediate tensor, and every tensor saved for the backward pass, alive until the whole
 * backward pass ends, so the peak of a training step holds the saved activations *plus* a gradient
 * for each of them. Here a tensor's gradient is released as soon as the op that produced the
 * tensor has consumed it (reverse order: it is final by then), and an op's saved tensors right
 * after its gradient ran. Same ops in the same order: results are bit-identical.
 */

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: Array<tf.Tensor | null>) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  gradients: (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean) => { value: tf.Tensor; grads: tf.Tensor[] };
}

/** The nodes on a path from some x to y, inputs pruned to those that depend on an x (as tfjs). */
function filterTape(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((t) => t && fromX.has(t.id))) {
      node.outputs.forEach((o) => fromX.add(o.id));
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((o) => toY.has(o.id))) {
      for (const t of Object.values(node.inputs)) if (t) toY.add(t.id);
      nodesToY.add(node.id);
    }
  }
  const out: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, t] of Object.entries(node.inputs)) if (t && fromX.has(t.id)) inputs[name] = t;
    out.push({ ...node, inputs });
  }
  return out;
}

function lowMemoryGradients(
  this: EngineInternals,
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients = false,
): { value: tf.Tensor; grads: tf.Tensor[] } {
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy != null && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  // A step that fails (e.g. out of memory) must not strand the tensors its tape saved.
  const dropTape = () => {
    if (this.state.gradientDepth !== 0) return;
    for (const node of this.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
    this.state.activeTape = null;
  };
  let y: tf.Tensor;
  try {
    y = this.scopedRun(
      () => this.startTape(),
      () => this.endTape(),
      () => this.tidy('forward', f),
    );
  } catch (e) {
    dropTape();
    throw e;
  }
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  const tape = this.state.activeTape ?? [];
  const filtered = filterTape(tape, xs, y);
  if (!allowNoGradients && filtered.length === 0) {
    throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
  }
  const topLevel = this.state.gradientDepth === 0;
  try {
    return backward.call(this, y, xs, filtered, tape, topLevel, dy);
  } catch (e) {
    dropTape();
    throw e;
  }
}

function backward(
  this: EngineInternals,
  y: tf.Tensor,
  xs: tf.Tensor[],
  filtered: TapeNode[],
  tape: TapeNode[],
  topLevel: boolean,
  dy?: tf.Tensor,
): { value: tf.Tensor; grads: tf.Tensor[] } {
  return this.tidy('backward', () => {
    const grad = new Map<number, tf.Tensor>();
    // A tensor object may stand as the gradient of several tensors (a gradient function may
    // return dy itself): release it only when no entry refers to it any more.
    const uses = new Map<tf.Tensor, number>();
    const setGrad = (id: number, t: tf.Tensor) => {
      grad.set(id, t);
      uses.set(t, (uses.get(t) ?? 0) + 1);
    };
    const dropGrad = (id: number) => {
      const t = grad.get(id);
      if (!t) return;
      grad.delete(id);
      const n = (uses.get(t) ?? 1) - 1;
      if (n > 0) uses.set(t, n);
      else {
        uses.delete(t);
        if (t !== dy) t.dispose();
      }
    };
    const keepIds = new Set(xs.map((x) => x.id));
    setGrad(y.id, dy ?? tf.onesLike(y));
    for (let i = filtered.length - 1; i >= 0; i--) {
      const node = filtered[i]!;
      if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
      const dys = node.outputs.map((o) => grad.get(o.id) ?? null);
      const names = Object.keys(node.inputs);
      // One tidy for the node: a custom gradient computes its results eagerly, outside the
      // per-input thunks, so its temporaries would otherwise live to the end of the pass.
      const dxs = tf.tidy(() => {
        const inputGradients = node.gradient!(dys);
        return names.map((name) => {
          const g = inputGradients[name];
          if (!g) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
          return g();
        });
      });
      for (const [k, name] of names.entries()) {
        const x = node.inputs[name]!;
        const dx = dxs[k]!;
        if (dx.dtype !== 'float32')
          throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
        if (!tf.util.arraysEqual(dx.shape, x.shape)) {
          throw new Error(
            `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
          );
        }
        const prev = grad.get(x.id);
        if (!prev) setGrad(x.id, dx);
        else {
          const sum = tf.add(prev, dx);
          dropGrad(x.id);
          if (!uses.has(dx)) dx.dispose();
          setGrad(x.id, sum);
        }
      }
      // Every consumer of this node's outputs came later on the tape: their gradients are final
      // and now used. The node's saved tensors are not needed again either.
      // (Inside a higher-order gradient the outer tape may still refer to them: keep them then.)
      if (topLevel) for (const o of node.outputs) if (!keepIds.has(o.id)) dropGrad(o.id);
      if (topLevel) for (const t of node.saved ?? []) if (!uses.has(t)) t.dispose();
    }
    const grads = xs.map((x) => grad.get(x.id)!);
    if (topLevel) {
      for (const node of tape) for (const t of node.saved ?? []) t.dispose();
      this.state.activeTape = null;
    }
    return { value: y, grads } as unknown as tf.TensorContainer;
  }) as unknown as { value: tf.Tensor; grads: tf.Tensor[] };
}

/**
 * ReLU's gradient from its output (y > 0 exactly where x > 0) instead of its input: the output is
 * what the next layer keeps anyway, so the pre-activation (a batch-norm output) can be freed.
 */
const reluGradFromOutput: tf.GradConfig = {
  kernelName: 'Relu',
  outputsToSave: [true],
  gradFunc: (dy, saved) => {
    const [y] = saved as [tf.Tensor];
    return { x: () => tf.mul(dy as tf.Tensor, tf.cast(tf.step(y), 'float32')) };
  },
};

let installed = false;

/**
 * Makes every tfjs gradient computation (`tf.grad`, `tf.variableGrads`, optimizers) release
 * gradients and saved activations as soon as they are used, and ReLU keep its output rather than
 * its input for the backward pass. Idempotent; backend-independent.
 *
 * @example
 * installLowMemoryGradients(); // then train as usual: same results, lower peak memory
 */
export function installLowMemoryGradients(): void {
  if (installed) return;
  installed = true;
  const engine = tf.engine() as unknown as EngineInternals;
  engine.gradients = lowMemoryGradients;
  tf.registerGradient(reluGradFromOutput);
}
