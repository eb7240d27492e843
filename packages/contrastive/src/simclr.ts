import * as tf from '@tensorflow/tfjs';
import { definePretextTask, type ImageBatch, type Rng } from '@ssl/core';
import { augmentBatch, type Augmentation } from '@ssl/data';
import { z } from 'zod';
import { mlpHead, stackViews, viewAugmentation, viewFields } from './joint';
import { ntXentLoss } from './losses';

/**
 * Config of SimCLR. Paper (Chen et al. 2020): τ = 0.5 at batch 4096 (0.1–0.5 in its Table 5), a
 * 2-layer projection head. Scaled: τ = 0.2 for batches of 128 images, which learned faster than 0.5
 * on a validation split of Fashion-MNIST; the shared view pipeline of the joint-embedding methods.
 */
export const simclrConfig = z
  .object({
    temperature: z.number().positive().max(10).default(0.2).describe('NT-Xent temperature τ (paper 0.5 at batch 4096)'),
    projectionHidden: z.number().int().min(1).max(8192).default(128).describe('hidden units of the projection head'),
    projectionDim: z.number().int().min(1).max(8192).default(64).describe('output size of the projection head'),
    ...viewFields,
  })
  .strict();

/** The SimCLR view pipeline for a config: crop+resize, flip, colour jitter, greyscale, blur. */
export function simclrAugmentation(config: Pick<z.output<typeof simclrConfig>, 'cropScale' | 'jitter' | 'blurProbability'>): Augmentation {
  return viewAugmentation(config);
}

/**
 * Two independently augmented views of every image of a batch (SimCLR's data construction).
 *
 * @example
 * const [v1, v2] = simclrViews(raw, simclrAugmentation(config), rng);
 */
export function simclrViews(raw: ImageBatch, aug: Augmentation, rng: Rng): [ImageBatch, ImageBatch] {
  return [augmentBatch(raw, aug, rng.fork('view-1')), augmentBatch(raw, aug, rng.fork('view-2'))];
}

/**
 * SimCLR (Chen et al., ICML 2020): two random augmentations of each image, encoder → MLP
 * projection head → NT-Xent over the 2N views. The probe uses the encoder's (pre-head) features.
 *
 * @example
 * await train({ task: simclrTask, encoder, source, config: { epochs: 2 } });
 */
export const simclrTask = definePretextTask({
  name: 'simclr',
  family: 'contrastive',
  modality: 'image',
  title: 'SimCLR',
  paper: 'Chen, Kornblith, Norouzi, Hinton. A Simple Framework for Contrastive Learning of Visual Representations. ICML 2020',
  description:
    'Each image is augmented twice (random resized crop, flip, colour jitter, greyscale, blur); the encoder and an MLP projection head map both views to vectors, and NT-Xent pulls the two views of an image together against the other 2N−2 views in the batch.',
  config: simclrConfig,
  // Scaled to run in minutes on 2 cores (the paper: batch 4096, hundreds of epochs).
  trainDefaults: { epochs: 2, batchSize: 128, lr: 2e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 24000 },
  examplesPerInput: () => 2,
  createHeads: ({ featureDim, config, seed }) => ({
    projector: mlpHead({ inputDim: featureDim, hidden: [config.projectionHidden], outputDim: config.projectionDim, seed }),
  }),
  prepare: (raw, { config, rng }) => {
    // Both views go through the encoder as one batch, so batch-norm sees all 2N views.
    return { x: stackViews(simclrViews(raw, simclrAugmentation(config), rng)) };
  },
  loss: ({ encode, heads, batch, config, monitorEmbedding }) => {
    const z = heads.projector.apply(encode(batch.x)) as tf.Tensor2D;
    const [z1, z2] = tf.split(z, 2, 0) as [tf.Tensor2D, tf.Tensor2D];
    monitorEmbedding?.(z1);
    return ntXentLoss(z1, z2, config.temperature);
  },
});
