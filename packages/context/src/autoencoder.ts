import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask } from '@ssl/core';
import { z } from 'zod';

/** Config of the autoencoder baseline (Hinton & Salakhutdinov 2006). */
export const autoencoderConfig = z
  .object({
    loss: z.enum(['mse', 'bce']).default('mse').describe('pixel reconstruction loss: mean squared error or binary cross-entropy'),
    decoderWidth: z.number().int().min(4).max(512).default(64).describe('channels of the first decoder feature map'),
  })
  .strict();

/**
 * A decoder from a feature vector back to an image: dense → (h/4 × w/4 × width) → two
 * stride-2 transposed convolutions → sigmoid pixels in [0, 1].
 *
 * @example
 * const decoder = createDecoder(128, [28, 28, 1], 64, 0);
 */
export function createDecoder(featureDim: number, imageShape: number[], width: number, seed: number): tf.LayersModel {
  const [h, w, c] = imageShape as [number, number, number];
  if (h % 4 !== 0 || w % 4 !== 0) {
    throw new SslError(`The autoencoder's decoder needs image sides divisible by 4; got ${h}×${w}. Resize the dataset (e.g. 28×28 or 32×32).`);
  }
  return tf.sequential({
    layers: [
      tf.layers.dense({
        inputShape: [featureDim],
        units: (h / 4) * (w / 4) * width,
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed }),
      }),
      tf.layers.reshape({ targetShape: [h / 4, w / 4, width] }),
      tf.layers.conv2dTranspose({
        filters: Math.max(8, width / 2),
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: tf.initializers.heNormal({ seed: seed + 1 }),
      }),
      tf.layers.conv2dTranspose({
        filters: c,
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
      }),
    ],
  });
}

/**
 * Autoencoder baseline (Hinton & Salakhutdinov, Science 2006): encoder → bottleneck (the
 * encoder's feature vector) → decoder, trained to reconstruct the pixels. The reference every
 * other pretext task must beat.
 *
 * @example
 * await train({ task: autoencoderTask, taskConfig: { loss: 'bce' }, encoder, source });
 */
export const autoencoderTask = definePretextTask({
  name: 'autoencoder',
  family: 'context',
  modality: 'image',
  title: 'Autoencoder (baseline)',
  paper: 'Hinton & Salakhutdinov. Reducing the Dimensionality of Data with Neural Networks. Science 2006',
  description:
    'The encoder compresses each image into its feature vector (the bottleneck) and a decoder reconstructs the pixels; the loss is the pixel L2 (or binary cross-entropy) reconstruction error. The baseline that other pretext tasks are measured against.',
  config: autoencoderConfig,
  // Scaled to run in a few minutes on 2 cores.
  trainDefaults: { epochs: 2, batchSize: 64, lr: 2e-3, optimizer: 'adam', limit: 15000 },
  createHeads: ({ featureDim, inputShape, config, seed }) => ({ decoder: createDecoder(featureDim, inputShape, config.decoderWidth, seed) }),
  prepare: (raw) => ({ x: tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]) }),
  loss: ({ encode, heads, batch, config }) => {
    const x = batch.x;
    const recon = heads.decoder.apply(encode(x)) as tf.Tensor4D;
    return reconstructionLoss(x, recon, config.loss);
  },
});

/**
 * Mean per-pixel reconstruction loss: squared error or binary cross-entropy (clipped for stability).
 *
 * @example
 * reconstructionLoss(tf.ones([1, 2, 2, 1]), tf.zeros([1, 2, 2, 1]), 'mse'); // 1
 */
export function reconstructionLoss(target: tf.Tensor, recon: tf.Tensor, kind: 'mse' | 'bce'): tf.Scalar {
  return tf.tidy(() => {
    if (kind === 'mse') return tf.mean(tf.squaredDifference(target, recon)) as tf.Scalar;
    const p = tf.clipByValue(recon, 1e-7, 1 - 1e-7);
    return tf.neg(tf.mean(tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p)))))) as tf.Scalar;
  });
}
