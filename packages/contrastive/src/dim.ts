import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type TaskState } from '@ssl/core';
import { z } from 'zod';

/** Config of Deep InfoMax (local objective); defaults follow Hjelm et al. 2019. */
export const dimConfig = z
  .object({
    estimator: z
      .enum(['jsd', 'infonce'])
      .default('infonce')
      .describe("mutual-information estimator: infonce (probed better on Fashion-MNIST here) or jsd (Jensen-Shannon, the paper's main estimator)"),
    embedDim: z.number().int().min(1).max(8192).default(64).describe('size of the space where global and local vectors are scored'),
    hidden: z.number().int().min(1).max(8192).default(128).describe('hidden units of the global and local score networks'),
  })
  .strict();

/**
 * Scores of every global vector against every local vector: s[i, j, p] = g_i · l_{j,p}.
 * Pairs with i = j come from the same image (positives), the others are negatives.
 *
 * @example
 * const s = dimScores(global, local); // global [N, E], local [N, P, E] → [N, N, P]
 */
export function dimScores(global: tf.Tensor2D, local: tf.Tensor3D): tf.Tensor3D {
  const [n, e] = global.shape;
  if (local.rank !== 3 || local.shape[0] !== n || local.shape[2] !== e) {
    throw new SslError(`dimScores needs global [N, E] and local [N, P, E] with the same N and E, got [${global.shape}] and [${local.shape}].`);
  }
  return tf.tidy(() => {
    const [, p] = local.shape;
    return global.matMul(local.reshape([n * p, e]), false, true).reshape([n, n, p]) as tf.Tensor3D;
  });
}

/**
 * DIM's Jensen-Shannon estimator as a loss: E_pos[softplus(−s)] + E_neg[softplus(s)] over the
 * global/local pairs (the negative of the JSD lower bound, up to log 4).
 *
 * @example
 * const loss = dimJsdLoss(global, local); // global [N, E], local [N, P, E]
 */
export function dimJsdLoss(global: tf.Tensor2D, local: tf.Tensor3D): tf.Scalar {
  const n = global.shape[0];
  if (n < 2) throw new SslError(`dimJsdLoss needs at least 2 images for negatives, got ${n}.`);
  return tf.tidy(() => {
    const s = dimScores(global, local);
    const pos = tf.eye(n).expandDims(2);
    const p = local.shape[1];
    const posTerm = tf
      .softplus(s.neg())
      .mul(pos)
      .sum()
      .div(n * p);
    const negTerm = tf
      .softplus(s)
      .mul(tf.scalar(1).sub(pos))
      .sum()
      .div(n * (n - 1) * p);
    return posTerm.add(negTerm) as tf.Scalar;
  });
}

/**
 * DIM's InfoNCE estimator as a loss: each local vector l_{j,p} picks its own image's global
 * vector g_j among the N globals of the batch (softmax over i of s[i, j, p], target i = j).
 *
 * @example
 * const loss = dimInfoNCELoss(global, local);
 */
export function dimInfoNCELoss(global: tf.Tensor2D, local: tf.Tensor3D): tf.Scalar {
  const n = global.shape[0];
  if (n < 2) throw new SslError(`dimInfoNCELoss needs at least 2 images for negatives, got ${n}.`);
  return tf.tidy(() => {
    const s = dimScores(global, local); // [i, j, p]
    const logp = s.sub(tf.logSumExp(s, 0, true)); // softmax over the globals i
    return logp
      .mul(tf.eye(n).expandDims(2))
      .sum()
      .div(-n * local.shape[1]) as tf.Scalar;
  });
}

/**
 * The encoder layer DIM reads local vectors from: the last layer whose output is a feature map
 * with more than one position (before global pooling). Its channels must equal the encoder's
 * feature size, which holds for the catalogue's convnet and resnet18.
 *
 * @example
 * const layer = localFeatureLayer(encoder); // convnet on 28×28: the 7×7×128 block
 */
export function localFeatureLayer(encoder: tf.LayersModel): tf.layers.Layer {
  const featureDim = (encoder.outputs[0]!.shape as number[]).at(-1);
  const maps = encoder.layers.filter((l) => {
    const s = l.outputShape as Array<number | null>;
    return Array.isArray(s) && s.length === 4 && !Array.isArray(s[0]) && (s[1] ?? 0) * (s[2] ?? 0) > 1;
  });
  const last = maps.at(-1);
  if (!last) throw new SslError('dim needs a convolutional encoder (e.g. convnet or resnet18): this encoder has no feature map with more than one position.');
  const channels = (last.outputShape as number[])[3];
  if (channels !== featureDim) {
    throw new SslError(
      `dim: the last feature map "${last.name}" has ${channels} channels but the encoder outputs ${featureDim} features; dim needs them equal (a conv encoder ending in global pooling).`,
    );
  }
  return last;
}

/** DIM's state: the encoder viewed as a two-output model (local map, global features). */
export interface DimState extends TaskState {
  /** The encoder with two outputs from one forward pass: [local map, global features]. */
  both: tf.LayersModel;
}

/**
 * Deep InfoMax (Hjelm et al., ICLR 2019), local objective: the encoder's global vector and the
 * vectors of its last feature map, both from the same forward pass, are mapped to a common
 * space (an MLP for the global, 1×1 convolutions for the local); the local vectors are the last
 * feature map before global pooling; an InfoNCE (default) or JSD
 * estimator tells pairs from the same image from pairs across images.
 *
 * @example
 * await train({ task: dimTask, encoder, source, taskConfig: { estimator: 'jsd' } });
 */
export const dimTask = definePretextTask({
  name: 'dim',
  family: 'contrastive',
  modality: 'image',
  title: 'Deep InfoMax (local)',
  paper:
    'Hjelm, Fedorov, Lavoie-Marchildon, Grewal, Bachman, Trischler, Bengio. Learning Deep Representations by Mutual Information Estimation and Maximization. ICLR 2019',
  description:
    "One forward pass gives the last feature map before global pooling (local vectors, one per position) and the encoder's global feature vector; small score networks map both to a common space, and an InfoNCE (or Jensen-Shannon) estimator maximises the mutual information between the global vector and the local vectors of the same image against local vectors of other images. The prior-matching term of the paper is left out.",
  config: dimConfig,
  // Scaled to minutes on 2 cores (the paper: 1000 epochs, Adam lr 1e-4, batch 64).
  trainDefaults: { epochs: 8, batchSize: 64, lr: 1e-3, optimizer: 'adam', limit: 6000 },
  createHeads: ({ featureDim, config, seed }) => ({
    globalNet: tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [featureDim], units: config.hidden, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }),
        tf.layers.dense({ units: config.embedDim, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      ],
    }),
    // 1×1 convolutions over the last feature map, whose channels equal the feature size.
    localNet: tf.sequential({
      layers: [
        tf.layers.conv2d({
          inputShape: [null, null, featureDim] as unknown as number[],
          filters: config.hidden,
          kernelSize: 1,
          activation: 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: seed + 2 }),
        }),
        tf.layers.conv2d({ filters: config.embedDim, kernelSize: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 3 }) }),
      ],
    }),
  }),
  createState: ({ encoder }): DimState => {
    const layer = localFeatureLayer(encoder);
    const both = tf.model({ inputs: encoder.inputs, outputs: [layer.output as tf.SymbolicTensor, encoder.outputs[0]!] });
    // `both` shares the encoder's layers and variables: nothing of its own to save or free.
    return { both, variables: () => [], dispose: () => {} };
  },
  prepare: (raw) => ({ x: tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]) }),
  loss: ({ heads, batch, config, state, training }) => {
    const [map, features] = state.both.apply(batch.x, { training }) as [tf.Tensor4D, tf.Tensor2D];
    const g = heads.globalNet.apply(features) as tf.Tensor2D;
    const l = heads.localNet.apply(map) as tf.Tensor4D;
    const [n, h, w, e] = l.shape;
    const local = l.reshape([n, h * w, e]) as tf.Tensor3D;
    return config.estimator === 'jsd' ? dimJsdLoss(g, local) : dimInfoNCELoss(g, local);
  },
});
