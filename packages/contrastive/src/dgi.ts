import * as tf from '@tensorflow/tfjs';
import { definePretextTask, type Rng } from '@ssl/core';
import type { GraphBatch } from '@ssl/data';
import { z } from 'zod';

/** Config of Deep Graph Infomax; the method has no free hyper-parameters beyond the encoder's. */
export const dgiConfig = z
  .object({
    discriminatorBias: z.boolean().default(true).describe('learn a scalar bias b in the bilinear discriminator D(h, s) = hᵀWs + b (nn.Bilinear in the paper)'),
  })
  .strict();

/**
 * DGI's corruption function: the same graph with the rows of its feature matrix shuffled by a
 * random permutation; the adjacency (edges) is kept as is.
 *
 * @example
 * const { batch: corrupted, permutation } = corruptGraph(raw, rng);  // corrupted.edges === raw.edges
 */
export function corruptGraph(raw: GraphBatch, rng: Rng): { batch: GraphBatch; permutation: Int32Array } {
  const permutation = rng.permutation(raw.numNodes);
  const f = raw.numFeatures;
  const features = new Float32Array(raw.features.length);
  for (let i = 0; i < raw.numNodes; i++) features.set(raw.features.subarray(permutation[i]! * f, (permutation[i]! + 1) * f), i * f);
  return { batch: { ...raw, features }, permutation };
}

/**
 * DGI's readout: s = σ(mean of the node embeddings), shape [1, D].
 *
 * @example
 * const s = dgiReadout(h);  // [1, D]
 */
export function dgiReadout(h: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.sigmoid(tf.mean(h, 0, true)) as tf.Tensor2D);
}

/**
 * The bilinear discriminator's logits D(h_i, s) = h_iᵀ W s + b for every node row of `h`.
 *
 * @example
 * const logits = bilinearScores(h, s, w, b);  // [N]
 */
export function bilinearScores(h: tf.Tensor2D, s: tf.Tensor2D, w: tf.Tensor2D, b?: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const ws = tf.matMul(w, s, false, true); // [D, 1]
    const logits = tf.reshape(tf.matMul(h, ws), [-1]) as tf.Tensor1D;
    return b ? (tf.add(logits, tf.reshape(b, [])) as tf.Tensor1D) : logits;
  });
}

/**
 * DGI's binary cross-entropy: real (node, summary) pairs are labelled 1, corrupted ones 0, and the
 * loss is the mean BCE over all 2N logits, i.e. mean(softplus(−pos) ∪ softplus(neg)).
 *
 * @example
 * const loss = dgiBceLoss(tf.tensor1d([2]), tf.tensor1d([-1]));  // (log(1+e⁻²) + log(1+e⁻¹)) / 2
 */
export function dgiBceLoss(positive: tf.Tensor1D, negative: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.concat([tf.softplus(tf.neg(positive)), tf.softplus(negative)])) as tf.Scalar);
}

/** A layer holding one scalar weight (the discriminator bias), applied as x ↦ x + b. */
class ScalarBias extends tf.layers.Layer {
  static className = 'SslScalarBias';
  private b?: tf.LayerVariable;
  override build(): void {
    this.b = this.addWeight('bias', [1], 'float32', tf.initializers.zeros());
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.add(x, this.b!.read());
  }
}
tf.serialization.registerClass(ScalarBias);

/**
 * Deep Graph Infomax (Veličković et al., ICLR 2019): a GCN embeds the nodes of the real graph and
 * of a corrupted copy (feature rows shuffled, adjacency kept); the readout s = σ(mean h) summarises
 * the real graph; a bilinear discriminator tells real (h_i, s) pairs from corrupted ones with BCE.
 * Full-batch: every step sees the whole graph (use a graph source and the GCN encoder).
 *
 * @example
 * await train({ task: dgiTask, encoder: createGcn({ ... }), source: graphSource(cora), config: { epochs: 100 } });
 */
export const dgiTask = definePretextTask({
  name: 'dgi',
  family: 'contrastive',
  modality: 'graph',
  title: 'Deep Graph Infomax',
  paper: 'Veličković, Fedus, Hamilton, Liò, Bengio, Hjelm. Deep Graph Infomax. ICLR 2019',
  description:
    'A GCN embeds every node of the graph and of a corrupted copy whose feature rows are shuffled (adjacency kept); a bilinear discriminator scores each node embedding against the graph summary σ(mean h) and is trained with binary cross-entropy to tell real from corrupted, maximising local–global mutual information.',
  config: dgiConfig,
  // Full-batch (batch ≥ nodes → one step per epoch); Adam lr 1e-3 as in the paper, which trains
  // with early stopping (patience 20), typically a few hundred epochs.
  trainDefaults: { epochs: 100, batchSize: 65_536, lr: 1e-3, optimizer: 'adam', weightDecay: 0 },
  createHeads: ({ featureDim, config, seed }) => {
    const layers: tf.layers.Layer[] = [
      tf.layers.dense({
        inputShape: [featureDim],
        units: featureDim,
        useBias: false,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        name: 'bilinear_w',
      }),
    ];
    const heads: { discriminator: tf.LayersModel; bias?: tf.LayersModel } = { discriminator: tf.sequential({ layers }) };
    if (config.discriminatorBias) heads.bias = tf.sequential({ layers: [new ScalarBias({ inputShape: [1], name: 'bilinear_b' })] });
    return heads as Record<string, tf.LayersModel>;
  },
  prepare: (raw, { rng }) => {
    const { batch: corrupted } = corruptGraph(raw, rng);
    return {
      x: tf.tensor2d(raw.features, [raw.numNodes, raw.numFeatures]),
      xCorrupt: tf.tensor2d(corrupted.features, [raw.numNodes, raw.numFeatures]),
    };
  },
  loss: ({ encode, heads, batch }) => {
    const h = encode(batch.x);
    const hc = encode(batch.xCorrupt);
    const s = dgiReadout(h);
    // W·s via the head's dense layer (kernel K = Wᵀ): s·K = (W s)ᵀ.
    const ws = heads.discriminator!.apply(s) as tf.Tensor2D; // [1, D]
    let pos = tf.reshape(tf.matMul(h, ws, false, true), [-1]) as tf.Tensor1D;
    let neg = tf.reshape(tf.matMul(hc, ws, false, true), [-1]) as tf.Tensor1D;
    if (heads.bias) {
      pos = tf.reshape(heads.bias.apply(tf.reshape(pos, [-1, 1])) as tf.Tensor, [-1]) as tf.Tensor1D;
      neg = tf.reshape(heads.bias.apply(tf.reshape(neg, [-1, 1])) as tf.Tensor, [-1]) as tf.Tensor1D;
    }
    return dgiBceLoss(pos, neg);
  },
});
