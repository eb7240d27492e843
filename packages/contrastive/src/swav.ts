import * as tf from '@tensorflow/tfjs';
import { definePretextTask, l2NormalizeRows, type TaskState } from '@ssl/core';
import { z } from 'zod';
import { chunks, mlpHead, multiCropBatch, multiCropFields, normalizeColumns, viewFields } from './joint';
import { sinkhornKnopp, swappedPrediction } from './losses';

/**
 * Config of SwAV. Paper (Caron et al. 2020): 3000 prototypes, 128-d projections, τ = 0.1,
 * Sinkhorn ε = 0.05 with 3 iterations, multi-crop 2×224 + 6×96, batch 4096 (a queue of past
 * projections below 256). Scaled: 100 prototypes (≈ 10 per class of our 10-class datasets, so a
 * batch of 256 can spread over them), multi-crop off by default; no queue, no prototype freezing.
 */
export const swavConfig = z
  .object({
    ...viewFields,
    ...multiCropFields,
    projectionHidden: z.number().int().min(1).max(8192).default(512).describe('hidden units of the projector (paper 2048)'),
    projectionDim: z.number().int().min(1).max(8192).default(128).describe('size of the L2-normalised projections (paper 128)'),
    prototypes: z.number().int().min(2).max(65536).default(100).describe('number K of prototypes (paper 3000)'),
    temperature: z.number().positive().max(10).default(0.1).describe('softmax temperature τ of the swapped prediction (paper 0.1)'),
    epsilon: z.number().positive().max(10).default(0.05).describe('entropic regularisation ε of Sinkhorn-Knopp (paper 0.05)'),
    sinkhornIterations: z.number().int().min(1).max(100).default(3).describe('Sinkhorn-Knopp iterations (paper 3)'),
  })
  .strict();

/** The prototype kernel [D, K] of SwAV's (and DINO's) prototype layer. */
export function prototypeKernel(prototypes: tf.LayersModel): tf.Variable {
  return prototypes.trainableWeights[0]!.read() as tf.Variable;
}

/** Renormalises every prototype (column of the kernel) to unit length, in place. */
export function normalizePrototypes(prototypes: tf.LayersModel): void {
  const w = prototypeKernel(prototypes);
  tf.tidy(() => w.assign(normalizeColumns(w as tf.Tensor2D)));
}

/**
 * SwAV (Caron et al., NeurIPS 2020): projections of each view are scored against K learnable
 * prototypes; codes for the two global views come from Sinkhorn-Knopp (equal share of every
 * prototype across the batch, no gradient), and each view's code is predicted from every other
 * view's scores (swapped prediction, softmax at τ). Multi-crop adds small crops that only predict.
 *
 * @example
 * await train({ task: swavTask, encoder, source, taskConfig: { prototypes: 100, localCrops: 4 } });
 */
export const swavTask = definePretextTask({
  name: 'swav',
  family: 'contrastive',
  group: 'joint-embedding',
  modality: 'image',
  title: 'SwAV (swapping assignments between views)',
  paper: 'Caron, Misra, Mairal, Goyal, Bojanowski, Joulin. Unsupervised Learning of Visual Features by Contrasting Cluster Assignments. NeurIPS 2020',
  description:
    "Two augmentations of each image (plus optional small multi-crop views) are projected to the unit sphere and scored against K learnable, normalised prototypes. The codes of each global view are computed online by 3 Sinkhorn-Knopp iterations (ε = 0.05), which split the batch equally among the prototypes and so rule out collapse; each view then predicts the other views' codes from its own scores (softmax at τ = 0.1, cross-entropy). Prototypes are renormalised after every step.",
  config: swavConfig,
  // Scaled to minutes on 2 cores (the paper: batch 4096, LARS, 400+ epochs of ImageNet).
  trainDefaults: { epochs: 2, batchSize: 128, lr: 2e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 24000 },
  examplesPerInput: (c) => 2 + c.localCrops,
  createHeads: ({ featureDim, config, seed }) => {
    const prototypes = mlpHead({ inputDim: config.projectionDim, hidden: [], outputDim: config.prototypes, seed: seed + 20, outputBias: false });
    normalizePrototypes(prototypes);
    return {
      projector: mlpHead({ inputDim: featureDim, hidden: [config.projectionHidden], outputDim: config.projectionDim, seed, batchNorm: true }),
      prototypes,
    };
  },
  // No state of its own: the prototypes are heads (checkpointed with them), renormalised after each step.
  createState: (): TaskState => ({
    variables: () => [],
    afterStep: ({ heads }) => normalizePrototypes(heads.prototypes!),
    dispose: () => {},
  }),
  prepare: (raw, { config, rng }) => multiCropBatch(raw, config, rng),
  loss: ({ encode, heads, batch, config, training, monitorEmbedding }) => {
    const scoresOf = (x: tf.Tensor) => {
      const zn = l2NormalizeRows(heads.projector.apply(encode(x), { training }) as tf.Tensor2D);
      return { zn, scores: heads.prototypes.apply(zn) as tf.Tensor2D };
    };
    const global = scoresOf(batch.x);
    const n = global.scores.shape[0] / 2;
    monitorEmbedding?.(global.zn.slice([0, 0], [n, -1]));
    const views = chunks(global.scores, 2) as tf.Tensor2D[];
    if (batch.local) views.push(...(chunks(scoresOf(batch.local).scores, batch.local.shape[0]! / n) as tf.Tensor2D[]));
    let total: tf.Tensor = tf.scalar(0);
    for (let i = 0; i < 2; i++) {
      const q = sinkhornKnopp(views[i]!, config.epsilon, config.sinkhornIterations);
      let sub: tf.Tensor = tf.scalar(0);
      views.forEach((s, v) => {
        if (v !== i) sub = sub.add(swappedPrediction(q, s, config.temperature));
      });
      total = total.add(sub.div(views.length - 1));
    }
    return total.div(2) as tf.Scalar;
  },
});
