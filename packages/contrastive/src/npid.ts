import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type TaskState } from '@ssl/core';
import { z } from 'zod';
import { infoNCELoss } from './losses';
import { detach, l2NormalizeRows } from './momentum';
import { mocoConfig } from './moco';
import { simclrAugmentation } from './simclr';
import { augmentBatch } from '@ssl/data';

/** Config of NPID; defaults follow Wu et al. 2018 (τ = 0.07, m = 0.5, 4096 negatives, 128-d). */
export const npidConfig = mocoConfig
  // The same augmentation as MoCo (crops 0.5–1 measured better than the paper's 0.2–1 on 28×28 images).
  .pick({ jitter: true, blurProbability: true, cropScale: true })
  .extend({
    temperature: z.number().positive().max(10).default(0.07).describe('softmax temperature τ (paper 0.07)'),
    bankMomentum: z.number().min(0).max(1).default(0.5).describe('memory-bank momentum: v ← normalise(m·v + (1−m)·f) (paper 0.5)'),
    negatives: z.number().int().min(1).max(1_000_000).default(4096).describe('negatives sampled from the bank per step (paper 4096)'),
    featureDim: z.number().int().min(1).max(8192).default(128).describe('size of the bank features (paper 128)'),
    bankSize: z
      .number()
      .int()
      .min(2)
      .max(10_000_000)
      .default(60_000)
      .describe('rows N of the memory bank: at least the number of training examples (one row per dataset index)'),
  })
  .strict();

/** NPID's state: the memory bank, which rows hold a feature yet, and the step's features. */
export interface NpidState extends TaskState {
  /** [N, D] L2-normalised features, one row per dataset index. */
  bank: tf.Variable;
  /** [N] 1 where the row has been written, 0 while it still holds its random start. */
  written: tf.Variable;
  pending?: { features: tf.Tensor2D; rows: tf.Tensor1D };
}

/**
 * Momentum update of the bank's `rows` only: v ← (m·v + (1 − m)·f) / ‖m·v + (1 − m)·f‖.
 * With `written` (1 per row that already holds a feature, 0 otherwise), rows not written yet
 * take the normalised feature itself instead of mixing it with their random start.
 *
 * @example
 * updateBank(bank, tf.tensor1d([3, 7], 'int32'), features, 0.5); // rows 3 and 7 change
 */
export function updateBank(bank: tf.Variable, rows: tf.Tensor1D, features: tf.Tensor2D, momentum: number, written?: tf.Tensor1D): void {
  if (rows.shape[0] !== features.shape[0] || features.shape[1] !== bank.shape[1]) {
    throw new SslError(`updateBank: ${rows.shape[0]} rows and features [${features.shape}] do not fit a bank [${bank.shape}].`);
  }
  tf.tidy(() => {
    const old = tf.gather(bank, rows);
    const m = written ? written.mul(momentum).expandDims(1) : tf.scalar(momentum);
    const mixed = l2NormalizeRows(old.mul(m).add(l2NormalizeRows(features).mul(tf.scalar(1).sub(m))));
    bank.assign(tf.tensorScatterUpdate(bank, rows.expandDims(1), mixed));
  });
}

/**
 * Weighted kNN classification straight from memory-bank rows (NPID's evaluation): each query's
 * k most cosine-similar bank rows vote for their label with weight exp(s/τ).
 *
 * @example
 * const pred = knnFromBank(bank, bankLabels, queries, { k: 200, numClasses: 10 });
 */
export function knnFromBank(
  bank: tf.Tensor2D,
  bankLabels: Int32Array,
  queries: tf.Tensor2D,
  options: { k?: number; temperature?: number; numClasses?: number } = {},
): Int32Array {
  const k = Math.min(options.k ?? 200, bank.shape[0]);
  const temperature = options.temperature ?? 0.07;
  if (bankLabels.length !== bank.shape[0]) throw new SslError(`knnFromBank: ${bankLabels.length} labels for ${bank.shape[0]} bank rows.`);
  if (k < 1) throw new SslError(`knnFromBank k must be ≥ 1, got ${options.k}.`);
  const numClasses = options.numClasses ?? Math.max(...bankLabels) + 1;
  return tf.tidy(() => {
    const sims = l2NormalizeRows(queries).matMul(l2NormalizeRows(bank), false, true);
    const { values, indices } = tf.topk(sims, k);
    const votes = tf
      .oneHot(tf.gather(tf.tensor1d(bankLabels, 'int32'), indices), numClasses)
      .mul(values.div(temperature).exp().expandDims(2))
      .sum(1);
    return votes.argMax(1).dataSync() as Int32Array;
  });
}

/**
 * The features NPID's non-parametric softmax scores: encoder → linear layer → L2 norm.
 *
 * @example
 * const f = npidEmbed(encoder, heads.embed, images, false);
 */
export function npidEmbed(encoder: tf.LayersModel, embed: tf.LayersModel, x: tf.Tensor, training = false): tf.Tensor2D {
  return tf.tidy(() => l2NormalizeRows(embed.apply(encoder.apply(x, { training }) as tf.Tensor2D) as tf.Tensor2D));
}

/**
 * Instance discrimination with a memory bank (NPID, Wu et al., CVPR 2018): every image is its own
 * class. A bank holds one L2-normalised feature per training image; the loss is a softmax
 * (τ = 0.07) of each feature against its own bank row and `negatives` rows drawn at random from
 * the written part of the bank; after the step only the batch's rows are updated with momentum.
 *
 * @example
 * await train({ task: npidTask, encoder, source, taskConfig: { bankSize: source.size } });
 */
export const npidTask = definePretextTask({
  name: 'npid',
  family: 'contrastive',
  modality: 'image',
  title: 'Instance discrimination with a memory bank (NPID)',
  paper: 'Wu, Xiong, Yu, Lin. Unsupervised Feature Learning via Non-Parametric Instance Discrimination. CVPR 2018',
  description:
    'Each training image is its own class. A memory bank keeps one L2-normalised 128-d feature per image; the encoder (plus a linear layer) is trained with a softmax (τ = 0.07) of an augmented view against its own bank row and randomly sampled rows of other images (full softmax over sampled negatives, not NCE). After each step the batch rows, and only they, move towards the new features with momentum 0.5 and are re-normalised. A row not yet written uses the current feature as its positive and, at its first update, takes the feature itself (the paper starts from random rows; this matters for runs of a few epochs). kNN classification can read the bank directly (knnFromBank).',
  config: npidConfig,
  // Scaled to minutes on 2 cores (the paper: 200 epochs of ImageNet, SGD lr 0.03, batch 256). A bank
  // row is refreshed once per epoch, so short runs need many small epochs and a low learning rate
  // (little feature drift per epoch): 4 epochs of 6000 at lr 2e-3 left the probe below random init.
  trainDefaults: { epochs: 20, batchSize: 128, lr: 5e-4, optimizer: 'adam', weightDecay: 1e-4, limit: 2000 },
  createHeads: ({ featureDim, config, seed }) => ({
    embed: tf.sequential({
      layers: [tf.layers.dense({ inputShape: [featureDim], units: config.featureDim, kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
    }),
  }),
  createState: ({ config, seed }): NpidState => {
    const bank = tf.tidy(() => tf.variable(l2NormalizeRows(tf.randomUniform([config.bankSize, config.featureDim], -1, 1, 'float32', seed + 11)), false));
    const written = tf.variable(tf.zeros([config.bankSize]), false);
    let writtenRows: number[] | undefined; // cached list of written rows, rebuilt from `written`
    const state: NpidState & { writtenList(): number[] } = {
      bank,
      written,
      writtenList: () => {
        if (!writtenRows) writtenRows = [...written.dataSync()].flatMap((w, i) => (w > 0 ? [i] : []));
        return writtenRows;
      },
      variables: () => [bank, written],
      afterStep: () => {
        const p = state.pending;
        if (!p) return;
        tf.tidy(() => updateBank(bank, p.rows, p.features, config.bankMomentum, tf.gather(written, p.rows) as tf.Tensor1D));
        const list = state.writtenList();
        const w = written.dataSync();
        const before = list.length;
        for (const r of p.rows.dataSync()) if (!(w[r]! > 0)) list.push(r);
        // Ascending, as a list rebuilt from `written` after a resume is: sampling stays identical.
        if (list.length > before) list.sort((a, b) => a - b);
        tf.tidy(() => written.assign(tf.tensorScatterUpdate(written, p.rows.expandDims(1), tf.ones([p.rows.shape[0]]))));
        tf.dispose([p.features, p.rows]);
        state.pending = undefined;
      },
      dispose: () => {
        if (state.pending) tf.dispose([state.pending.features, state.pending.rows]);
        tf.dispose([bank, written]);
      },
    };
    return state;
  },
  prepare: (raw, { config, rng }) => {
    const bad = raw.indices.find((i) => i >= config.bankSize);
    if (bad !== undefined) {
      throw new SslError(
        `npid: dataset index ${bad} does not fit a memory bank of ${config.bankSize} rows. Set bankSize to at least the number of training images (--set bankSize=N).`,
      );
    }
    const v = augmentBatch(raw, simclrAugmentation(config), rng.fork('view'));
    return {
      x: tf.tensor4d(v.images, [v.n, v.height, v.width, v.channels]),
      rows: tf.tensor1d(raw.indices, 'int32'),
      // Uniform draws, turned into written bank rows in the loss (the state knows which exist).
      u: tf.tensor1d(Float32Array.from({ length: config.negatives }, () => rng.float())),
    };
  },
  loss: ({ encode, heads, batch, config, state, training }) => {
    const f = l2NormalizeRows(heads.embed.apply(encode(batch.x)) as tf.Tensor2D);
    const s = state as NpidState & { writtenList(): number[] };
    const list = s.writtenList();
    const u = batch.u.dataSync();
    const negRows =
      list.length > 0 ? Int32Array.from(u, (x) => list[Math.floor(x * list.length)]!) : Int32Array.from(u, (x) => Math.floor(x * config.bankSize));
    const negatives = tf.gather(state.bank, tf.tensor1d(negRows, 'int32')) as tf.Tensor2D;
    // Positive: the image's own bank row; rows never written yet use the feature itself.
    const own = tf.gather(state.bank, batch.rows) as tf.Tensor2D;
    const seen = tf.gather(state.written, batch.rows).expandDims(1);
    const positive = detach(own.mul(seen).add(f.mul(tf.scalar(1).sub(seen)))) as tf.Tensor2D;
    if (training) {
      if (state.pending) tf.dispose([state.pending.features, state.pending.rows]);
      state.pending = { features: tf.keep(detach(f).clone() as tf.Tensor2D), rows: tf.keep(batch.rows.clone() as tf.Tensor1D) };
    }
    return infoNCELoss(f, positive, negatives, config.temperature, { normalize: false });
  },
});
