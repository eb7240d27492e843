import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type TaskState } from '@ssl/core';
import { z } from 'zod';
import { chunks, cosineMomentum, mlpHead, multiCropBatch, viewFields } from './joint';
import { byolLoss } from './losses';
import { detach, momentumTwin, type MomentumTwin } from './momentum';

/**
 * Config of BYOL. Paper (Grill et al. 2020): projector and predictor 4096 → 256 with BN, τ_base
 * 0.996, batch 4096, 300–1000 epochs. Scaled: 512 → 128 heads and τ_base 0.99, because a run of a
 * few hundred steps with τ starting at 0.996 would leave the target near its random init
 * (MoCo's ablation shows 0.99 within 0.5 point of 0.999).
 */
export const byolConfig = z
  .object({
    ...viewFields,
    projectionHidden: z.number().int().min(1).max(8192).default(512).describe('hidden units of the projector and predictor (paper 4096)'),
    projectionDim: z.number().int().min(1).max(8192).default(128).describe('size of the projections z and predictions p (paper 256)'),
    baseMomentum: z
      .number()
      .min(0)
      .max(1)
      .default(0.99)
      .describe('τ_base of the target EMA, rising to 1 on a cosine over the run (paper 0.996; 0.99 suits runs of a few hundred steps)'),
  })
  .strict();

/** BYOL's per-run state: the target network (EMA of encoder + projector). */
export interface ByolState extends TaskState {
  /** [target encoder, target projector]. */
  target: MomentumTwin;
  /** The momentum τ of the last EMA update (for logs and tests). */
  lastMomentum: number;
}

/** BYOL's online heads: projector and predictor, each Dense → BN → ReLU → Dense. */
function projectorPredictor(featureDim: number, c: z.output<typeof byolConfig>, seed: number): { projector: tf.LayersModel; predictor: tf.LayersModel } {
  return {
    projector: mlpHead({ inputDim: featureDim, hidden: [c.projectionHidden], outputDim: c.projectionDim, seed, batchNorm: true }),
    predictor: mlpHead({ inputDim: c.projectionDim, hidden: [c.projectionHidden], outputDim: c.projectionDim, seed: seed + 10, batchNorm: true }),
  };
}

/**
 * BYOL (Grill et al., NeurIPS 2020): an online network (encoder, projector, predictor) predicts
 * the target network's projection of the other view; the target is an EMA of the online encoder
 * and projector with momentum rising from τ_base to 1 on a cosine, and gets no gradient. Loss
 * 2 − 2·cos(p, sg(z′)), symmetrised over the two views. No negatives.
 *
 * @example
 * await train({ task: byolTask, encoder, source, taskConfig: { baseMomentum: 0.996 } });
 */
export const byolTask = definePretextTask({
  name: 'byol',
  family: 'contrastive',
  group: 'joint-embedding',
  modality: 'image',
  title: 'BYOL (bootstrap your own latent)',
  paper: 'Grill, Strub, Altché, Tallec, Richemond, et al. Bootstrap Your Own Latent: A New Approach to Self-Supervised Learning. NeurIPS 2020',
  description:
    'Two augmentations of each image. The online network (encoder, projector, predictor) predicts the projection that the target network (an EMA of the online encoder and projector whose momentum rises from τ_base to 1 on a cosine) makes of the other view; loss 2 − 2·cos(p, sg(z′)), symmetrised. The target gets no gradient; there are no negatives, and the predictor plus the slow target keep the embedding from collapsing.',
  config: byolConfig,
  // Scaled to minutes on 2 cores (the paper: batch 4096, LARS, 300+ epochs of ImageNet). 48,000
  // images × 4 epochs (1,500 steps), four times SimCLR's budget: on the Fashion-MNIST validation
  // split 374 steps left the probe 0.14 points below random init, 750 steps 1.16 above, 1,500 2.18.
  trainDefaults: { epochs: 4, batchSize: 128, lr: 2e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 48000 },
  examplesPerInput: () => 2,
  createHeads: ({ featureDim, config, seed }) => projectorPredictor(featureDim, config, seed),
  createState: ({ encoder, heads, config }): ByolState => {
    if (!heads?.projector) throw new SslError('byol: createState needs the heads built by createHeads (pass { heads }).');
    const target = momentumTwin([encoder, heads.projector]);
    const state: ByolState = {
      target,
      lastMomentum: config.baseMomentum,
      variables: () => target.variables(),
      afterStep: ({ encoder: enc, heads: h, step, totalSteps }) => {
        state.lastMomentum = cosineMomentum(config.baseMomentum, step, totalSteps);
        target.update([enc, h.projector!], state.lastMomentum);
      },
      dispose: () => target.dispose(),
    };
    return state;
  },
  prepare: (raw, { config, rng }) => ({ x: multiCropBatch(raw, config, rng).x }),
  loss: ({ encode, heads, batch, state, training, monitorEmbedding }) => {
    const z = heads.projector.apply(encode(batch.x), { training }) as tf.Tensor2D;
    const p = heads.predictor.apply(z, { training }) as tf.Tensor2D;
    const [targetEncoder, targetProjector] = state.target.models as [tf.LayersModel, tf.LayersModel];
    const zt = detach(targetProjector.apply(targetEncoder.apply(batch.x, { training }), { training }) as tf.Tensor2D);
    const [p1, p2] = chunks(p, 2) as [tf.Tensor2D, tf.Tensor2D];
    const [t1, t2] = chunks(zt, 2) as [tf.Tensor2D, tf.Tensor2D];
    monitorEmbedding?.(chunks(z, 2)[0] as tf.Tensor2D);
    return byolLoss(p1, t2).add(byolLoss(p2, t1)) as tf.Scalar;
  },
});
