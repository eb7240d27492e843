import * as tf from '@tensorflow/tfjs';
import { matMulPlainGrads } from './ops';
import { Rng, SslError, showValue } from '@ssl/core';

/**
 * The edges of the GCN propagation matrix Â = D^-1/2 (A + I) D^-1/2 (Kipf & Welling 2017) as
 * coordinate lists: `out[dst] += weight * h[src]` over all entries gives Â·h. `edges` are
 * undirected pairs, each listed once, flat `[u0, v0, u1, v1, ...]`, without self-loops.
 *
 * @example
 * const { src, dst, weight } = gcnNormalizedAdjacency(2, Int32Array.of(0, 1)); // 4 entries, each 1/2
 */
export function gcnNormalizedAdjacency(numNodes: number, edges: Int32Array): { src: Int32Array; dst: Int32Array; weight: Float32Array } {
  if (!Number.isInteger(numNodes) || numNodes < 1) throw new SslError(`Invalid numNodes: ${showValue(numNodes)}. Must be a positive integer.`);
  if (edges.length % 2 !== 0) throw new SslError(`Invalid edges: ${edges.length} ids is odd. Edges are flat [u, v] pairs.`);
  const m = edges.length / 2;
  const deg = new Float64Array(numNodes).fill(1); // the self-loop
  for (let e = 0; e < m; e++) {
    for (const v of [edges[2 * e]!, edges[2 * e + 1]!]) {
      if (v < 0 || v >= numNodes) throw new SslError(`Invalid edge ${e}: node ${v} is outside [0, ${numNodes - 1}].`);
      deg[v]! += 1;
    }
  }
  const total = numNodes + 2 * m;
  const src = new Int32Array(total);
  const dst = new Int32Array(total);
  const weight = new Float32Array(total);
  for (let i = 0; i < numNodes; i++) {
    src[i] = i;
    dst[i] = i;
    weight[i] = 1 / deg[i]!;
  }
  for (let e = 0; e < m; e++) {
    const u = edges[2 * e]!;
    const v = edges[2 * e + 1]!;
    const w = 1 / Math.sqrt(deg[u]! * deg[v]!);
    const k = numNodes + 2 * e;
    src[k] = u;
    dst[k] = v;
    weight[k] = w;
    src[k + 1] = v;
    dst[k + 1] = u;
    weight[k + 1] = w;
  }
  return { src, dst, weight };
}

/** out[dst] += w · h[src] over the coordinate lists, on plain arrays ([n, d] row-major). */
function scatterRows(n: number, d: number, from: Int32Array, to: Int32Array, w: Float32Array, h: Float32Array): Float32Array {
  const out = new Float32Array(n * d);
  for (let e = 0; e < w.length; e++) {
    const s = from[e]! * d;
    const t = to[e]! * d;
    const we = w[e]!;
    for (let k = 0; k < d; k++) out[t + k]! += we * h[s + k]!;
  }
  return out;
}

/**
 * h ↦ Â·h for a fixed sparse Â in coordinate form, with its exact gradient dy ↦ Âᵀ·dy. Plain
 * loops over the nonzeros: tfjs' gather/segment-sum kernels are dense (one-hot) on wasm and cpu.
 */
function sparsePropagation(n: number, src: ArrayLike<number>, dst: ArrayLike<number>, weight: ArrayLike<number>): (h: tf.Tensor2D) => tf.Tensor2D {
  const from = Int32Array.from(src);
  const to = Int32Array.from(dst);
  const w = Float32Array.from(weight);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const h = args[0] as tf.Tensor;
    const d = h.shape[1]!;
    return {
      value: tf.tensor2d(scatterRows(n, d, from, to, w, h.dataSync() as Float32Array), [n, d]),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.tensor2d(scatterRows(n, d, to, from, w, (dy as tf.Tensor).dataSync() as Float32Array), [n, d]),
    };
  });
  return (h) => op(h) as tf.Tensor2D;
}

interface GraphConvolutionArgs {
  units: number;
  numNodes: number;
  src: ArrayLike<number>;
  dst: ArrayLike<number>;
  weight: ArrayLike<number>;
  seed?: number;
  name?: string;
  inputShape?: number[];
  batchInputShape?: Array<number | null>;
}

/**
 * One GCN layer, H' = Â·H·W + b, with Â fixed at construction (sparse: gather + segment sum).
 * Its batch dimension is the graph's nodes: inputs must have exactly `numNodes` rows.
 *
 * @example
 * const layer = new GraphConvolution({ units: 16, numNodes: 2, ...gcnNormalizedAdjacency(2, Int32Array.of(0, 1)) });
 */
export class GraphConvolution extends tf.layers.Layer {
  static className = 'SslGraphConvolution';
  readonly units: number;
  readonly numNodes: number;
  private readonly srcIds: number[];
  private readonly dstIds: number[];
  private readonly edgeWeights: number[];
  private readonly seed: number | undefined;
  private kernel?: tf.LayerVariable;
  private bias?: tf.LayerVariable;
  private ops?: { propagate: (h: tf.Tensor2D) => tf.Tensor2D };

  constructor(args: GraphConvolutionArgs) {
    // The base layer reads its own fields (name, inputShape, batchInputShape on reload...).
    super(args as ConstructorParameters<typeof tf.layers.Layer>[0]);
    this.units = args.units;
    this.numNodes = args.numNodes;
    this.srcIds = Array.from(args.src);
    this.dstIds = Array.from(args.dst);
    this.edgeWeights = Array.from(args.weight);
    this.seed = args.seed;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inDim = shape[shape.length - 1]!;
    this.kernel = this.addWeight('kernel', [inDim, this.units], 'float32', tf.initializers.glorotUniform(this.seed === undefined ? {} : { seed: this.seed }));
    this.bias = this.addWeight('bias', [this.units], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [shape[0]!, this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
    if (x.shape[0] !== this.numNodes) {
      throw new SslError(
        `GCN layer "${this.name}" got ${x.shape[0]} rows; it was built for a graph of ${this.numNodes} nodes. Feed the whole graph's feature matrix at once.`,
      );
    }
    this.ops ??= {
      propagate: sparsePropagation(this.numNodes, this.srcIds, this.dstIds, this.edgeWeights),
    };
    const propagate = this.ops.propagate;
    return tf.tidy(() => tf.add(propagate(matMulPlainGrads(x, this.kernel!.read() as tf.Tensor2D)), this.bias!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      numNodes: this.numNodes,
      src: this.srcIds,
      dst: this.dstIds,
      weight: this.edgeWeights,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }

  override dispose(): ReturnType<tf.layers.Layer['dispose']> {
    return super.dispose();
  }
}
tf.serialization.registerClass(GraphConvolution);

/**
 * Options of {@link createGcn}.
 *
 * @example
 * const opts: GcnOptions = { numFeatures: 1433, numNodes: 2708, edges, widths: [512], seed: 0 };
 */
export interface GcnOptions {
  numFeatures: number;
  numNodes: number;
  /** Undirected edges, each once, flat pairs. */
  edges: Int32Array;
  /** Units of each GCN layer; default [512] (DGI's transductive encoder). */
  widths?: number[];
  seed?: number;
}

/**
 * The GCN encoder of Deep Graph Infomax: GCN layers (Â·X·W, Â with self-loops and symmetric
 * normalisation), each followed by a PReLU (one shared slope, 0.25 at init). Input: the whole
 * graph's feature matrix [numNodes, numFeatures]; output: node embeddings [numNodes, widths.at(-1)].
 *
 * @example
 * const enc = createGcn({ numFeatures: 34, numNodes: 34, edges: karate.edges, widths: [16], seed: 0 });
 * const h = enc.predict(tf.tensor2d(karate.features, [34, 34])); // [34, 16]
 */
export function createGcn(options: GcnOptions): tf.LayersModel {
  const { numFeatures, numNodes, edges, widths = [512], seed = 0 } = options;
  if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new SslError(`Invalid GCN numFeatures: ${showValue(numFeatures)}. Must be a positive integer.`);
  if (widths.length === 0 || !widths.every((w) => Number.isInteger(w) && w > 0))
    throw new SslError(`Invalid GCN widths: ${showValue(widths)}. Must be a non-empty list of positive integers, e.g. [512].`);
  const adj = gcnNormalizedAdjacency(numNodes, edges);
  const rng = Rng.derive(seed, 'encoder-init');
  const model = tf.sequential({ name: 'gcn' });
  widths.forEach((units, i) => {
    model.add(new GraphConvolution({ units, numNodes, ...adj, seed: rng.seed(), name: `gcn_${i}`, ...(i === 0 ? { inputShape: [numFeatures] } : {}) }));
    model.add(tf.layers.prelu({ alphaInitializer: tf.initializers.constant({ value: 0.25 }), sharedAxes: [1], name: `gcn_prelu_${i}` }));
  });
  return model;
}
