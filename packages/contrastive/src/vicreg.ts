import { definePretextTask } from '@ssl/core';
import { z } from 'zod';
import { embedTwoViews, expanderHeads, multiCropBatch, viewFields } from './joint';
import { vicregTerms } from './losses';

/**
 * Config of VICReg. Paper (Bardes et al. 2022): 3-layer 8192-d expander with BN, weights λ = 25
 * (invariance), μ = 25 (variance), ν = 1 (covariance), batch 2048, LARS, 1000 epochs. Scaled:
 * 512-d expander (two 512-unit hidden layers); the loss weights are the paper's.
 */
export const vicregConfig = z
  .object({
    ...viewFields,
    projectionHidden: z.number().int().min(1).max(16384).default(512).describe('units of each of the two hidden expander layers (paper 8192)'),
    projectionDim: z.number().int().min(1).max(16384).default(512).describe('size of the expander output (paper 8192)'),
    invarianceWeight: z.number().min(0).max(1000).default(25).describe('λ: weight of the invariance (MSE) term (paper 25)'),
    varianceWeight: z.number().min(0).max(1000).default(25).describe('μ: weight of the variance hinge (std ≥ 1) (paper 25)'),
    covarianceWeight: z.number().min(0).max(1000).default(1).describe('ν: weight of the covariance term (paper 1)'),
  })
  .strict();

/**
 * VICReg (Bardes, Ponce, LeCun, ICLR 2022): variance-invariance-covariance regularisation of the
 * expander outputs of two views: MSE between them, a hinge keeping each dimension's std ≥ 1, and
 * the squared off-diagonal covariances / d.
 *
 * @example
 * await train({ task: vicregTask, encoder, source, taskConfig: { covarianceWeight: 1 } });
 */
export const vicregTask = definePretextTask({
  name: 'vicreg',
  family: 'contrastive',
  group: 'joint-embedding',
  modality: 'image',
  title: 'VICReg (variance-invariance-covariance regularisation)',
  paper: 'Bardes, Ponce, LeCun. VICReg: Variance-Invariance-Covariance Regularization for Self-Supervised Learning. ICLR 2022',
  description:
    'Two augmentations of each image go through the same encoder and expander. Three terms: invariance (MSE between the two embeddings, weight 25), variance (a hinge keeping the batch std of every dimension above 1, weight 25, which forbids collapse) and covariance (squared off-diagonal covariances / d, weight 1, which decorrelates the dimensions). No negatives, no asymmetry, no normalisation across the batch.',
  config: vicregConfig,
  // Scaled to minutes on 2 cores (the paper: batch 2048, LARS, 1000 epochs of ImageNet).
  trainDefaults: { epochs: 2, batchSize: 128, lr: 2e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 24000 },
  examplesPerInput: () => 2,
  createHeads: ({ featureDim, config, seed }) => expanderHeads(featureDim, config, seed),
  prepare: (raw, { config, rng }) => ({ x: multiCropBatch(raw, config, rng).x }),
  loss: (ctx) => {
    const { invarianceWeight: invariance, varianceWeight: variance, covarianceWeight: covariance } = ctx.config;
    return vicregTerms(...embedTwoViews(ctx), { invariance, variance, covariance }).loss;
  },
});
