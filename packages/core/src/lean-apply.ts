import * as tf from '@tensorflow/tfjs';

/**
 * A training-mode forward pass of a functional `tf.LayersModel` that frees activations as it goes.
 *
 * `model.apply(x, { training: true })` keeps every layer's output alive until the whole forward
 * pass returns (tfjs-layers disposes intermediates only in inference), so the forward pass of a
 * ResNet-18 peaks with all of them at once: per residual block the batch-norm outputs, the add's
 * inputs and output as well as the tensors the backward pass needs. The backward pass never reads
 * a layer output directly: every op keeps what its gradient needs as a clone of its own (sharing
 * the data), so an output may be disposed once the last layer that consumes it has run; its memory
 * is returned at once unless a gradient keeps it. Same layers, same ops, same order: the results are
 * bit-identical to `model.apply`; only the peak falls (by about a quarter for a ResNet-18 step: 7.8 → 5.9 MB per
 * 32×32 view).
 *
 * Models that are not functional graphs (subclassed layers) fall back to `model.apply`.
 *
 * @example
 * const z = applyForTraining(encoder, views); // as encoder.apply(views, { training: true })
 */
export function applyForTraining(model: tf.LayersModel, inputs: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
  const graph = functionalGraph(model);
  const xs = Array.isArray(inputs) ? inputs : [inputs];
  if (!graph || xs.length !== graph.inputs.length) return model.apply(inputs, { training: true }) as tf.Tensor | tf.Tensor[];
  return tf.tidy(() => {
    const values = new Map<number, { value: tf.Tensor; mask: tf.Tensor | null }>();
    // Reads still to come, per tensor object (a layer may return its input unchanged, so two
    // symbolic tensors can share one value). Model outputs and the caller's tensors are never freed.
    const pending = new Map<tf.Tensor, number>();
    const keep = new Set<tf.Tensor>(xs);
    const outputIds = new Set(graph.outputs.map((s) => s.id));
    const bind = (s: SymbolicRef, value: tf.Tensor, mask: tf.Tensor | null) => {
      values.set(s.id, { value, mask });
      pending.set(value, (pending.get(value) ?? 0) + (graph.consumers.get(s.id) ?? 0));
    };
    graph.inputs.forEach((s, i) => bind(s, xs[i]!, null));
    for (const node of graph.nodes) {
      const ins = node.inputTensors.map((s) => values.get(s.id));
      if (ins.some((v) => !v)) continue; // not reachable from the given inputs (as in tfjs-layers)
      const vals = ins.map((v) => v!.value);
      const masks = ins.map((v) => v!.mask);
      const arg = vals.length === 1 ? vals[0]! : vals;
      const maskArg = (vals.length === 1 ? masks[0] : masks) as tf.Tensor | tf.Tensor[];
      const kwargs: Record<string, unknown> = { ...(node.callArgs ?? {}), training: true };
      if (masks.some((m) => m)) kwargs['mask'] = maskArg;
      const layer = node.outboundLayer;
      const plain = vals.length === 1 ? plainConv(layer, vals[0]!) : undefined;
      const outs = toList(plain ?? (layer instanceof tf.LayersModel ? applyForTraining(layer, arg) : (layer.apply(arg, kwargs) as tf.Tensor | tf.Tensor[])));
      const outMasks = layer.supportsMasking ? toList(layer.computeMask(arg, maskArg)) : [];
      node.outputTensors.forEach((s, i) => {
        bind(s, outs[i]!, outMasks[i] ?? null);
        if (outputIds.has(s.id) || layer.stateful) keep.add(outs[i]!);
      });
      for (const v of vals) {
        const left = pending.get(v)! - 1;
        pending.set(v, left);
        if (left === 0 && !keep.has(v) && !v.isDisposed) v.dispose();
      }
    }
    const out = graph.outputs.map((s) => values.get(s.id)?.value);
    if (out.some((t) => !t)) throw new Error(`applyForTraining: model "${model.name}" has an output that its inputs do not reach.`);
    return out.length === 1 ? out[0]! : (out as tf.Tensor[]);
  });
}

/**
 * A Conv2D layer without bias or activation, run as `tf.conv2d` on its kernel: the same kernel
 * and result as the layer's own call, but tfjs-layers goes through `tf.fused.conv2d`, whose custom
 * gradient computes the gradient of every input, needed or not. On a first layer the input's
 * gradient is a full extra pass over the layer's largest activation (about 8 % of the benchmark
 * step); tf.conv2d's gradient computes only what the tape asks for. Other layers: undefined.
 */
function plainConv(layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor | undefined {
  if (layer.getClassName() !== 'Conv2D' || x.rank !== 4) return undefined;
  const c = layer as unknown as {
    useBias: boolean;
    activation: { getClassName(): string };
    dataFormat: string;
    kernel: { read(): tf.Tensor4D };
    strides: [number, number];
    padding: 'same' | 'valid';
    dilationRate: [number, number];
  };
  if (c.useBias || c.activation.getClassName() !== 'linear' || c.dataFormat !== 'channelsLast') return undefined;
  return tf.conv2d(x as tf.Tensor4D, c.kernel.read(), c.strides, c.padding, 'NHWC', c.dilationRate);
}

/** The parts of tfjs-layers' (untyped) graph internals read here. */
interface SymbolicRef {
  id: number;
}
interface GraphNode {
  outboundLayer: tf.layers.Layer;
  inputTensors: SymbolicRef[];
  outputTensors: SymbolicRef[];
  callArgs?: Record<string, unknown>;
}
interface Graph {
  inputs: SymbolicRef[];
  outputs: SymbolicRef[];
  nodes: GraphNode[];
  consumers: Map<number, number>;
}

const graphs = new WeakMap<tf.LayersModel, Graph | null>();

/** The model's nodes in execution order and how many nodes read each tensor; null if not a graph. */
function functionalGraph(model: tf.LayersModel): Graph | null {
  if (graphs.has(model)) return graphs.get(model)!;
  // A Sequential wraps a functional model of the same layers, made when it is built.
  if (model instanceof tf.Sequential && !model.built) model.build();
  const inner = (model as unknown as { model?: tf.LayersModel }).model;
  const m = (inner instanceof tf.LayersModel ? inner : model) as unknown as {
    inputs?: SymbolicRef[];
    outputs?: SymbolicRef[];
    nodesByDepth?: Record<string, GraphNode[]>;
  };
  let graph: Graph | null = null;
  if (m.inputs && m.outputs && m.nodesByDepth) {
    const depths = Object.keys(m.nodesByDepth)
      .map(Number)
      .sort((a, b) => b - a);
    // Input layers' nodes compute nothing (their input is their output).
    const nodes = depths.flatMap((d) => m.nodesByDepth![d]!).filter((n) => n.outboundLayer.getClassName() !== 'InputLayer');
    const consumers = new Map<number, number>();
    for (const n of nodes) for (const s of n.inputTensors) consumers.set(s.id, (consumers.get(s.id) ?? 0) + 1);
    graph = { inputs: m.inputs, outputs: m.outputs, nodes, consumers };
  }
  graphs.set(model, graph);
  return graph;
}

function toList<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}
