import { definePretextTask } from '@ssl/core';
import { z } from 'zod';
import { embedTwoViews, expanderHeads, multiCropBatch, viewFields } from './joint';
import { barlowTwinsLoss } from './losses';

/**
 * Config of Barlow Twins. Paper (Zbontar et al. 2021): 3-layer 8192-d projector with BN, λ = 5e-3,
 * batch 2048, LARS, 300–1000 epochs. Scaled: 512-d projector (two 512-unit hidden layers), λ kept
 * at the paper's 5e-3 (≈ 2.6/d here; the paper found the loss insensitive to λ within 10×).
 */
export const barlowTwinsConfig = z
  .object({
    ...viewFields,
    projectionHidden: z.number().int().min(1).max(16384).default(512).describe('units of each of the two hidden projector layers (paper 8192)'),
    projectionDim: z.number().int().min(1).max(16384).default(512).describe('size of the embeddings whose cross-correlation is taken (paper 8192)'),
    lambda: z.number().min(0).max(10).default(5e-3).describe('weight λ of the off-diagonal (redundancy-reduction) term (paper 5e-3)'),
  })
  .strict();

/**
 * Barlow Twins (Zbontar et al., ICML 2021): the cross-correlation matrix C of the batch-standardised
 * embeddings of two views is pushed to the identity, Σ(1 − C_ii)² + λ Σ_{i≠j} C_ij²: invariance on
 * the diagonal, redundancy reduction off it. No negatives, no asymmetry.
 *
 * @example
 * await train({ task: barlowTwinsTask, encoder, source, taskConfig: { lambda: 5e-3 } });
 */
export const barlowTwinsTask = definePretextTask({
  name: 'barlow-twins',
  family: 'contrastive',
  group: 'joint-embedding',
  modality: 'image',
  title: 'Barlow Twins',
  paper: 'Zbontar, Jing, Misra, LeCun, Deny. Barlow Twins: Self-Supervised Learning via Redundancy Reduction. ICML 2021',
  description:
    'Two augmentations of each image go through the same encoder and projector; each embedding dimension is standardised over the batch and the cross-correlation matrix C of the two views is pushed to the identity: Σ(1 − C_ii)² makes each dimension invariant to the augmentations, λ Σ_{i≠j} C_ij² decorrelates the dimensions, which rules out collapse without negatives.',
  config: barlowTwinsConfig,
  // Scaled to minutes on 2 cores (the paper: batch 2048, LARS, 1000 epochs of ImageNet). 48,000 images ×
  // 2 epochs (750 steps): on the Fashion-MNIST validation split 374 steps gave +1.86 points over random
  // init, 750 steps +3.28 (docs/results/fashion-mnist-validation.md).
  trainDefaults: { epochs: 2, batchSize: 128, lr: 2e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 48000 },
  examplesPerInput: () => 2,
  createHeads: ({ featureDim, config, seed }) => expanderHeads(featureDim, config, seed),
  prepare: (raw, { config, rng }) => ({ x: multiCropBatch(raw, config, rng).x }),
  loss: (ctx) => barlowTwinsLoss(...embedTwoViews(ctx), ctx.config.lambda),
});
