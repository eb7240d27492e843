import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, definePretextTask, type ReportImage } from '@ssl/core';
import { z } from 'zod';
import { createDecoder } from './autoencoder';

/** Config of the context encoder; defaults follow Pathak et al. 2016 (central square of half the side, mean fill). */
export const contextEncoderConfig = z
  .object({
    mask: z.enum(['central', 'random']).default('central').describe('which region is removed: the central square, or a square of the same size at a random place'),
    maskFraction: z.number().gt(0).max(0.9).default(0.5).describe('side of the removed square as a fraction of the image side (paper: 64 of 128 px)'),
    decoderWidth: z.number().int().min(4).max(512).default(64).describe('channels of the first decoder feature map'),
  })
  .strict();

/** Parsed context-encoder config. */
export type ContextEncoderConfig = z.output<typeof contextEncoderConfig>;

/** Masked inputs of the context encoder, as plain arrays. */
export interface MaskedImages {
  /** The images with the masked region filled with the batch's mean value per channel (NHWC). */
  masked: Float32Array;
  /** 1 inside the removed region, 0 elsewhere, `n × h × w` (one channel). */
  masks: Float32Array;
}

/**
 * Removes one square region per image (the central one, or one at a random place) and fills it
 * with the batch's mean pixel value per channel, as Pathak et al. fill with the dataset mean.
 *
 * @example
 * const { masked, masks } = maskImages(raw.images, raw.n, 28, 28, 1, { mask: 'central', maskFraction: 0.5 }, rng);
 */
export function maskImages(
  images: Float32Array,
  n: number,
  height: number,
  width: number,
  channels: number,
  config: Pick<ContextEncoderConfig, 'mask' | 'maskFraction'>,
  rng: Rng,
): MaskedImages {
  const mh = Math.round(height * config.maskFraction);
  const mw = Math.round(width * config.maskFraction);
  if (mh < 1 || mw < 1 || mh >= height || mw >= width) {
    throw new SslError(`Context encoder: maskFraction ${config.maskFraction} gives a ${mh}×${mw} hole in ${height}×${width} images; it must leave at least 1 px masked and 1 px visible. Pick --set maskFraction in (0, 0.9].`);
  }
  const mean = new Float64Array(channels);
  for (let i = 0; i < images.length; i++) mean[i % channels]! += images[i]!;
  for (let c = 0; c < channels; c++) mean[c]! /= images.length / channels;
  const masked = Float32Array.from(images);
  const masks = new Float32Array(n * height * width);
  for (let i = 0; i < n; i++) {
    const y0 = config.mask === 'central' ? Math.floor((height - mh) / 2) : rng.int(height - mh + 1);
    const x0 = config.mask === 'central' ? Math.floor((width - mw) / 2) : rng.int(width - mw + 1);
    for (let y = y0; y < y0 + mh; y++) {
      for (let x = x0; x < x0 + mw; x++) {
        const p = (i * height + y) * width + x;
        masks[p] = 1;
        for (let c = 0; c < channels; c++) masked[p * channels + c] = mean[c]!;
      }
    }
  }
  return { masked, masks };
}

/**
 * Mean squared error over the masked region only: Σ mask·(target − prediction)² / (Σ mask · channels),
 * with `mask` of shape [n, h, w, 1] broadcast over channels. Pixels outside the mask carry no loss.
 *
 * @example
 * maskedL2Loss(target, prediction, mask); // scalar
 */
export function maskedL2Loss(target: tf.Tensor4D, prediction: tf.Tensor4D, mask: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const channels = target.shape[3];
    const sq = tf.mul(tf.squaredDifference(target, prediction), mask);
    return tf.div(tf.sum(sq), tf.mul(tf.maximum(tf.sum(mask), 1), channels)) as tf.Scalar;
  });
}

/** Tiles equally sized HWC images into a grid with a 1 px white border; rows of `columns` images. */
function imageGrid(images: Float32Array[], columns: number, height: number, width: number, channels: number): Omit<ReportImage, 'caption'> {
  const rows = Math.ceil(images.length / columns);
  const gh = rows * (height + 1) + 1;
  const gw = columns * (width + 1) + 1;
  const pixels = new Float32Array(gh * gw * channels).fill(1);
  images.forEach((img, k) => {
    const oy = Math.floor(k / columns) * (height + 1) + 1;
    const ox = (k % columns) * (width + 1) + 1;
    for (let y = 0; y < height; y++) pixels.set(img.subarray(y * width * channels, (y + 1) * width * channels), ((oy + y) * gw + ox) * channels);
  });
  return { pixels, height: gh, width: gw, channels };
}

/**
 * Context encoder (Pathak et al., CVPR 2016): remove a region of the image (the central square by
 * default) and train the encoder plus a decoder to paint the missing pixels back; the L2 loss is
 * computed on the removed region only (the adversarial term of the paper is left out). The
 * encoder sees the whole (masked) image, so its features probe full images directly. The run's
 * report shows originals, masked inputs, masks and reconstructions.
 *
 * @example
 * await train({ task: contextEncoderTask, taskConfig: { mask: 'random' }, encoder: createConvNet({ seed: 0 }), source });
 */
export const contextEncoderTask = definePretextTask({
  name: 'context-encoder',
  family: 'context',
  modality: 'image',
  title: 'Context encoder (inpainting)',
  paper: 'Pathak, Krähenbühl, Donahue, Darrell, Efros. Context Encoders: Feature Learning by Inpainting. CVPR 2016',
  description:
    'Removes a square region of each image (the centre, or a random place), fills it with the mean pixel value, and trains the encoder and a decoder to predict the missing pixels with an L2 loss on the removed region only. Filling a hole plausibly needs understanding what the surrounding object is.',
  config: contextEncoderConfig,
  // Scaled to run in a few minutes on 2 cores.
  trainDefaults: { epochs: 2, batchSize: 64, lr: 2e-3, optimizer: 'adam', limit: 5000 },
  createHeads: ({ featureDim, inputShape, config, seed }) => ({ decoder: createDecoder(featureDim, inputShape, config.decoderWidth, seed) }),
  prepare: (raw, { config, rng }) => {
    const { masked, masks } = maskImages(raw.images, raw.n, raw.height, raw.width, raw.channels, config, rng);
    return {
      x: tf.tensor4d(masked, [raw.n, raw.height, raw.width, raw.channels]),
      target: tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]),
      mask: tf.tensor4d(masks, [raw.n, raw.height, raw.width, 1]),
    };
  },
  loss: ({ encode, heads, batch }) => {
    const prediction = heads.decoder.apply(encode(batch.x!)) as tf.Tensor4D;
    return maskedL2Loss(batch.target as tf.Tensor4D, prediction, batch.mask as tf.Tensor4D);
  },
  reportImages: ({ config, encoder, heads, raw }) => {
    const { n, height: h, width: w, channels: c } = raw;
    const { masked, masks } = maskImages(raw.images, n, h, w, c, config, new Rng(0));
    const recon = tf.tidy(() => {
      const x = tf.tensor4d(masked, [n, h, w, c]);
      const m = tf.tensor4d(masks, [n, h, w, 1]);
      const pred = heads.decoder.apply(encoder.apply(x, { training: false })) as tf.Tensor4D;
      // The prediction inside the hole, the original context outside it.
      return tf.add(tf.mul(pred, m), tf.mul(tf.tensor4d(raw.images, [n, h, w, c]), tf.sub(1, m)));
    });
    const reconData = recon.dataSync() as Float32Array;
    recon.dispose();
    const size = h * w * c;
    const one = (a: Float32Array, i: number) => a.slice(i * size, (i + 1) * size);
    const maskImage = (i: number) => Float32Array.from({ length: size }, (_, k) => masks[i * h * w + Math.floor(k / c)]!);
    const cells: Float32Array[] = [];
    for (const row of [(i: number) => one(raw.images, i), (i: number) => one(masked, i), maskImage, (i: number) => one(reconData, i)]) {
      for (let i = 0; i < n; i++) cells.push(row(i));
    }
    return [{ ...imageGrid(cells, n, h, w, c), caption: 'context-encoder rows: originals, masked inputs, masks, reconstructions' }];
  },
});
