import * as tf from '@tensorflow/tfjs';
import { definePretextTask } from '@ssl/core';
import { z } from 'zod';
import { chunks, mlpHead, multiCropBatch, viewFields } from './joint';
import { meanCosine } from './losses';
import { detach } from './momentum';

/**
 * Config of SimSiam. Paper (Chen & He 2021): 3-layer projector 2048-d with BN, bottleneck
 * predictor 2048 → 512 → 2048, batch 512, SGD, 100–800 epochs. Scaled: 512-unit projector to a
 * 128-d output and a 128 → 32 → 128 predictor (the paper's 4× bottleneck).
 */
export const simsiamConfig = z
  .object({
    ...viewFields,
    projectionHidden: z.number().int().min(1).max(8192).default(512).describe('hidden units of the projector (paper 2048)'),
    projectionDim: z.number().int().min(1).max(8192).default(128).describe('size of the projections z (paper 2048)'),
    predictorHidden: z.number().int().min(1).max(8192).default(32).describe('bottleneck of the predictor h (paper 512, a quarter of the output)'),
    stopGradient: z.boolean().default(true).describe('stop-gradient on the target branch z (false collapses, as the paper shows)'),
  })
  .strict();

/**
 * SimSiam (Chen & He, CVPR 2021): one encoder + projector for both views and a predictor h;
 * D(p, z) = −cos(p, sg(z)), symmetrised: ½D(p1, z2) + ½D(p2, z1). No negatives, no momentum
 * encoder; the stop-gradient alone prevents collapse (turn it off with `stopGradient: false`).
 *
 * @example
 * await train({ task: simsiamTask, encoder, source, taskConfig: { stopGradient: true } });
 */
export const simsiamTask = definePretextTask({
  name: 'simsiam',
  family: 'contrastive',
  group: 'joint-embedding',
  modality: 'image',
  title: 'SimSiam (simple Siamese networks)',
  paper: 'Chen, He. Exploring Simple Siamese Representation Learning. CVPR 2021',
  description:
    'Two augmentations of each image go through the same encoder and projector; a predictor MLP maps one projection to the other, loss −cos(p1, sg(z2))/2 − cos(p2, sg(z1))/2. No negatives and no momentum encoder: the stop-gradient on the target branch is what keeps the embedding from collapsing to a constant.',
  config: simsiamConfig,
  // Scaled to minutes on 2 cores (the paper: batch 512, SGD lr 0.05·bs/256, 100+ epochs of ImageNet).
  // 48,000 images × 2 epochs (750 steps), twice SimCLR's budget: on the Fashion-MNIST validation
  // split 374 steps left the probe 1.24 points below random init, 750 steps 0.50 above.
  trainDefaults: { epochs: 2, batchSize: 128, lr: 2e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 48000 },
  examplesPerInput: () => 2,
  createHeads: ({ featureDim, config, seed }) => ({
    projector: mlpHead({ inputDim: featureDim, hidden: [config.projectionHidden], outputDim: config.projectionDim, seed, batchNorm: true }),
    predictor: mlpHead({ inputDim: config.projectionDim, hidden: [config.predictorHidden], outputDim: config.projectionDim, seed: seed + 10, batchNorm: true }),
  }),
  prepare: (raw, { config, rng }) => ({ x: multiCropBatch(raw, config, rng).x }),
  loss: ({ encode, heads, batch, config, training, monitorEmbedding }) => {
    const z = heads.projector.apply(encode(batch.x), { training }) as tf.Tensor2D;
    const p = heads.predictor.apply(z, { training }) as tf.Tensor2D;
    const target = config.stopGradient ? detach(z) : z;
    const [z1, z2] = chunks(target, 2) as [tf.Tensor2D, tf.Tensor2D];
    const [p1, p2] = chunks(p, 2) as [tf.Tensor2D, tf.Tensor2D];
    monitorEmbedding?.(z1);
    return meanCosine(p1, z2).add(meanCosine(p2, z1)).div(-2) as tf.Scalar;
  },
});
