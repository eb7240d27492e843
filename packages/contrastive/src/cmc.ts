import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type ImageBatch } from '@ssl/core';
import { augmentBatch, compose, horizontalFlip, randomResizedCrop, rgbToLab } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';
import { z } from 'zod';
import { infoNCELoss } from './losses';

/** Config of CMC; defaults follow Tian et al. 2020 (L / ab views, τ = 0.07, 128-d embeddings). */
export const cmcConfig = z
  .object({
    views: z
      .enum(['lab', 'channels'])
      .default('lab')
      .describe('"lab": view 1 = L, view 2 = ab of CIE Lab (RGB images); "channels": two channel groups of the input'),
    view1Channels: z
      .array(z.number().int().min(0))
      .min(1)
      .default([0])
      .describe('with views = "channels": the input channels of view 1 (the shared encoder); view 2 gets the others'),
    temperature: z.number().positive().max(10).default(0.07).describe('InfoNCE temperature τ'),
    embeddingDim: z.number().int().min(1).max(8192).default(128).describe('size of each view’s linear embedding (L2-normalised in the loss)'),
    view2Widths: z
      .array(z.number().int().min(1).max(4096))
      .min(1)
      .default([32, 64, 128])
      .describe('channels of the view-2 encoder (a ConvNet like the default shared encoder)'),
    cropScale: z
      .tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)])
      .default([0.2, 1])
      .describe('area range of the random resized crop applied before splitting the views'),
  })
  .strict();

type CmcConfig = z.output<typeof cmcConfig>;

/** The channels of view 2 for an input with `channels` channels. */
function view2Channels(config: CmcConfig, channels: number): number[] {
  if (config.views === 'lab') {
    if (channels !== 3)
      throw new SslError(
        `CMC views "lab" need RGB images (3 channels); these have ${channels}. Use --set task.views=channels with task.view1Channels, or an RGB dataset.`,
      );
    return [1, 2];
  }
  for (const c of config.view1Channels) {
    if (c >= channels) throw new SslError(`CMC view1Channels has channel ${c}; the images have channels 0..${channels - 1}.`);
  }
  const rest = Array.from({ length: channels }, (_, c) => c).filter((c) => !config.view1Channels.includes(c));
  if (rest.length === 0)
    throw new SslError(`CMC view1Channels [${config.view1Channels}] takes every channel, so view 2 would be empty. Leave at least one channel to view 2.`);
  return rest;
}

/**
 * Splits images into CMC's two views. View 1 keeps the input's shape so the shared encoder (and the
 * probe) read it: with "lab" it is the lightness L/100 copied to all 3 channels (a greyscale image);
 * with "channels" the view-1 channels, the others zeroed. View 2 holds only its own channels: (a, b)
 * mapped to [0, 1] by (v + 128) / 255, or the remaining channels.
 *
 * @example
 * const { view1, view2 } = cmcViews(raw, cmcConfig.parse({}));  // view2.channels === 2
 */
export function cmcViews(raw: ImageBatch, config: CmcConfig): { view1: ImageBatch; view2: ImageBatch } {
  const c = raw.channels;
  const v2 = view2Channels(config, c);
  const pixels = raw.n * raw.height * raw.width;
  const one = new Float32Array(pixels * c);
  const two = new Float32Array(pixels * v2.length);
  if (config.views === 'lab') {
    const lab = rgbToLab(raw.images);
    for (let p = 0; p < pixels; p++) {
      const l = lab[3 * p]! / 100;
      one[3 * p] = one[3 * p + 1] = one[3 * p + 2] = l;
      two[2 * p] = (lab[3 * p + 1]! + 128) / 255;
      two[2 * p + 1] = (lab[3 * p + 2]! + 128) / 255;
    }
  } else {
    for (let p = 0; p < pixels; p++) {
      for (const k of config.view1Channels) one[p * c + k] = raw.images[p * c + k]!;
      v2.forEach((k, j) => (two[p * v2.length + j] = raw.images[p * c + k]!));
    }
  }
  return { view1: { ...raw, images: one }, view2: { ...raw, images: two, channels: v2.length } };
}

/**
 * Cross-view InfoNCE in both directions with in-batch negatives: view-1 embedding i must pick
 * view-2 embedding i among all N view-2 embeddings, and vice versa; the two losses are summed.
 *
 * @example
 * const loss = crossViewInfoNCE(z1, z2, 0.07);
 */
export function crossViewInfoNCE(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const others = tf.tensor2d(
      Array.from({ length: n }, (_, i) => Array.from({ length: n - 1 }, (_, j) => (j < i ? j : j + 1))),
      [n, n - 1],
      'int32',
    );
    const neg2 = tf.gather(z2 as tf.Tensor, others) as tf.Tensor3D;
    const neg1 = tf.gather(z1 as tf.Tensor, others) as tf.Tensor3D;
    return tf.add(infoNCELoss(z1, z2, neg2, temperature), infoNCELoss(z2, z1, neg1, temperature)) as tf.Scalar;
  });
}

/**
 * Contrastive Multiview Coding (Tian, Krishnan, Isola, ECCV 2020): each image is split into two
 * views (L and ab of Lab colour, or two channel groups); one encoder per view (view 1: the shared
 * encoder, view 2: an encoder in the heads), each followed by a linear embedding; cross-view InfoNCE
 * in both directions. In-batch negatives replace the paper's memory bank (stated in the README).
 * The shared encoder reads view 1 (L replicated to RGB); `encoderView` makes the CLI probe it on that view.
 *
 * @example
 * await train({ task: cmcTask, encoder, source, config: { epochs: 2 } });
 */
export const cmcTask = definePretextTask({
  name: 'cmc',
  family: 'contrastive',
  modality: 'image',
  title: 'Contrastive Multiview Coding (CMC)',
  paper: 'Tian, Krishnan, Isola. Contrastive Multiview Coding. ECCV 2020',
  description:
    'Each image is split into two views, L and ab of Lab colour (or two channel groups); one encoder per view maps its view to an embedding, and a cross-view InfoNCE loss in both directions makes each view pick out the other view of the same image against the other images of the batch.',
  config: cmcConfig,
  // Scaled to run in minutes on 2 cores (the paper: 16384 memory-bank negatives, 200+ epochs).
  trainDefaults: { epochs: 2, batchSize: 128, lr: 2e-3, optimizer: 'adam', weightDecay: 1e-4, limit: 6000 },
  createHeads: ({ featureDim, inputShape, config, seed }) => {
    const [h, w, c] = inputShape as [number, number, number];
    const view2 = createConvNet({ inputShape: [h, w, view2Channels(config, c).length], widths: config.view2Widths, seed: seed + 7 });
    const embed = (dim: number, s: number) =>
      tf.sequential({
        layers: [tf.layers.dense({ inputShape: [dim], units: config.embeddingDim, kernelInitializer: tf.initializers.glorotUniform({ seed: s }) })],
      });
    return { view2, embed1: embed(featureDim, seed + 1), embed2: embed(config.view2Widths.at(-1)!, seed + 2) };
  },
  // The probe, kNN and `ssl eval` must feed the shared encoder view 1, as in training.
  encoderView: (raw, config) => cmcViews(raw, config).view1,
  prepare: (raw, { config, rng }) => {
    // One crop/flip per image, shared by both views (the views differ in channels only).
    const aug = augmentBatch(raw, compose(randomResizedCrop({ scale: config.cropScale }), horizontalFlip({ p: 0.5 })), rng.fork('crop'));
    const { view1, view2 } = cmcViews(aug, config);
    return {
      x1: tf.tensor4d(view1.images, [raw.n, raw.height, raw.width, view1.channels]),
      x2: tf.tensor4d(view2.images, [raw.n, raw.height, raw.width, view2.channels]),
    };
  },
  loss: ({ encode, heads, batch, config, training }) => {
    const z1 = heads.embed1.apply(encode(batch.x1!)) as tf.Tensor2D;
    const z2 = heads.embed2.apply(heads.view2.apply(batch.x2!, { training }) as tf.Tensor2D) as tf.Tensor2D;
    return crossViewInfoNCE(z1, z2, config.temperature);
  },
});
