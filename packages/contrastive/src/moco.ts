import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type TaskState } from '@ssl/core';
import { z } from 'zod';
import { infoNCELoss } from './losses';
import { mlpHead, stackViews } from './joint';
import { cloneModel, detach, emaUpdate, l2NormalizeRows, modelVariables } from './momentum';
import { simclrAugmentation, simclrConfig, simclrViews } from './simclr';

/**
 * Config of MoCo. Paper values (He et al. 2020): τ = 0.07, K = 65 536, m = 0.999. Scaled here:
 * K = 4096 (a 65 536-key queue would hold each of the default run's 6000 images ~10 times) and
 * m = 0.99, the paper's second-best ablation value (Table 1: 0.99 → 59.4 %, 0.999 → 59.9 %):
 * the default run's 230 steps would leave a 0.999 key encoder ~80 % at its random init.
 */
export const mocoConfig = simclrConfig
  .pick({ jitter: true, blurProbability: true })
  .extend({
    cropScale: z
      .tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)])
      .default([0.5, 1])
      .describe('area range of the random resized crop (paper 0.2–1; 0.5–1 measured better on 28×28 Fashion-MNIST)'),
    temperature: z.number().positive().max(10).default(0.07).describe('InfoNCE temperature τ (paper 0.07)'),
    momentum: z.number().min(0).max(1).default(0.99).describe('EMA momentum m of the key encoder (paper 0.999; 0.99 suits runs of a few hundred steps)'),
    queueSize: z.number().int().min(1).max(1_000_000).default(4096).describe('keys K in the FIFO queue of negatives (paper 65 536)'),
    head: z.enum(['mlp', 'linear']).default('mlp').describe('projection head: mlp (MoCo v2) or linear (MoCo v1)'),
    projectionHidden: z.number().int().min(1).max(8192).default(128).describe('hidden units of the MLP head'),
    projectionDim: z.number().int().min(1).max(8192).default(128).describe('size of the keys and queries (paper 128)'),
    shuffleGroups: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(2)
      .describe(
        'single-device shuffling BN: batch-norm groups; keys are encoded in groups of a shuffled order, queries in groups of the original order (1 disables)',
      ),
  })
  .strict();

/** MoCo's per-run state: key encoder and head (EMA copies), the queue and its write pointer. */
export interface MocoState extends TaskState {
  keyEncoder: tf.LayersModel;
  keyProjector: tf.LayersModel;
  /** [K, D] L2-normalised keys, oldest overwritten first. */
  queue: tf.Variable;
  /** Next row of the queue to write (a float scalar so it is checkpointed with the rest). */
  pointer: tf.Variable;
  /** Keys of the current step, kept from the loss for the enqueue after the optimiser step. */
  pending?: tf.Tensor2D;
}

/**
 * FIFO enqueue: writes `keys` into `queue` from row `pointer` on, wrapping round, and returns the
 * next pointer. When more keys than rows arrive only the newest K are kept.
 *
 * @example
 * const next = enqueue(queue, keys, 4090); // K = 4096, 8 keys: rows 4090..4095, then 0, 1
 */
export function enqueue(queue: tf.Variable, keys: tf.Tensor2D, pointer: number): number {
  const [k, d] = queue.shape as [number, number];
  if (keys.shape[1] !== d) throw new SslError(`enqueue: keys have ${keys.shape[1]} columns, the queue holds ${d}.`);
  const n = keys.shape[0];
  const take = Math.min(n, k);
  const start = (pointer + (n - take)) % k;
  tf.tidy(() => {
    const rows = tf.tensor2d(
      Array.from({ length: take }, (_, i) => [(start + i) % k]),
      [take, 1],
      'int32',
    );
    queue.assign(tf.tensorScatterUpdate(queue, rows, keys.slice([n - take, 0], [take, d])));
  });
  return (start + take) % k;
}

/** Applies `f` to `x` split into `groups` contiguous chunks along the batch (own BN statistics each). */
function applyInGroups(f: (x: tf.Tensor) => tf.Tensor2D, x: tf.Tensor, groups: number): tf.Tensor2D {
  const n = x.shape[0]!;
  const g = Math.max(1, Math.min(groups, Math.floor(n / 2)));
  if (g === 1) return f(x);
  const sizes = Array.from({ length: g }, (_, i) => Math.floor(((i + 1) * n) / g) - Math.floor((i * n) / g));
  return tf.concat(tf.split(x, sizes, 0).map(f), 0);
}

function projectionHead(kind: 'mlp' | 'linear', featureDim: number, hidden: number, out: number, seed: number): tf.LayersModel {
  return mlpHead({ inputDim: featureDim, hidden: kind === 'mlp' ? [hidden] : [], outputDim: out, seed });
}

/**
 * MoCo (He et al., CVPR 2020; v2 head by default): a query encoder (the shared encoder + head)
 * and a momentum key encoder (an EMA copy that gets no gradient); InfoNCE of each query against
 * its key and a FIFO queue of past keys. Shuffling BN on one device: queries are encoded in
 * `shuffleGroups` batch-norm groups of the batch order, keys in groups of a random permutation
 * (then unshuffled), so a query and its key never share batch statistics.
 *
 * @example
 * await train({ task: mocoTask, encoder, source, taskConfig: { queueSize: 1024 } });
 */
export const mocoTask = definePretextTask({
  name: 'moco',
  family: 'contrastive',
  modality: 'image',
  title: 'MoCo (momentum contrast)',
  paper: 'He, Fan, Wu, Xie, Girshick. Momentum Contrast for Unsupervised Visual Representation Learning. CVPR 2020 (v2: Chen et al. 2020)',
  description:
    'Two augmentations of each image: one goes through the query encoder, the other through a momentum (EMA) copy, the key encoder, which gets no gradient. InfoNCE (τ = 0.07) scores each query against its key and a FIFO queue of keys from past batches; the batch keys then replace the oldest queue entries. Shuffling BN on a single device: the key batch is permuted and encoded in separate batch-norm groups, then unpermuted.',
  config: mocoConfig,
  // Scaled to minutes on 2 cores (the paper: batch 256, 200 epochs of ImageNet, SGD lr 0.03).
  trainDefaults: { epochs: 5, batchSize: 128, lr: 2e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 6000 },
  examplesPerInput: () => 2,
  createHeads: ({ featureDim, config, seed }) => ({
    projector: projectionHead(config.head, featureDim, config.projectionHidden, config.projectionDim, seed),
  }),
  createState: ({ encoder, config, featureDim, seed }): MocoState => {
    const keyEncoder = cloneModel(encoder);
    // Same architecture and seed as the query head, then overwritten with its weights.
    const keyProjector = projectionHead(config.head, featureDim, config.projectionHidden, config.projectionDim, seed);
    const queue = tf.tidy(() => tf.variable(l2NormalizeRows(tf.randomNormal([config.queueSize, config.projectionDim], 0, 1, 'float32', seed + 7)), false));
    const pointer = tf.variable(tf.scalar(0), false);
    const state: MocoState = {
      keyEncoder,
      keyProjector,
      queue,
      pointer,
      variables: () => [...modelVariables(keyEncoder), ...modelVariables(keyProjector), queue, pointer],
      afterStep: ({ encoder: enc, heads }) => {
        if (state.pending) {
          const next = enqueue(queue, state.pending, pointer.dataSync()[0]!);
          tf.tidy(() => pointer.assign(tf.scalar(next)));
          state.pending.dispose();
          state.pending = undefined;
        }
        emaUpdate(keyEncoder, enc, config.momentum);
        emaUpdate(keyProjector, heads.projector!, config.momentum);
      },
      dispose: () => {
        state.pending?.dispose();
        tf.dispose([queue, pointer, ...modelVariables(keyEncoder), ...modelVariables(keyProjector)]);
      },
    };
    return state;
  },
  prepare: (raw, { config, rng }) => {
    const x = stackViews(simclrViews(raw, simclrAugmentation(config), rng));
    const perm = rng.fork('shuffle-bn').permutation(raw.n);
    const inverse = new Int32Array(raw.n);
    perm.forEach((p, i) => (inverse[p] = i));
    return {
      x,
      perm: tf.tensor1d(perm, 'int32'),
      inverse: tf.tensor1d(inverse, 'int32'),
    };
  },
  loss: ({ encode, heads, batch, config, state, training, monitorEmbedding }) => {
    const [xq, xk] = tf.split(batch.x, 2, 0);
    const q = heads.projector.apply(applyInGroups(encode, xq!, config.shuffleGroups)) as tf.Tensor2D;
    monitorEmbedding?.(q);
    // The key encoder is outside the optimiser's variables; detach makes that explicit.
    const keyFeatures = applyInGroups((x) => state.keyEncoder.apply(x, { training }) as tf.Tensor2D, tf.gather(xk!, batch.perm), config.shuffleGroups);
    const k = detach(l2NormalizeRows(tf.gather(state.keyProjector.apply(keyFeatures) as tf.Tensor2D, batch.inverse))) as tf.Tensor2D;
    if (training) {
      state.pending?.dispose();
      state.pending = tf.keep(k.clone());
    }
    return infoNCELoss(q, k, state.queue as tf.Tensor2D, config.temperature);
  },
});
