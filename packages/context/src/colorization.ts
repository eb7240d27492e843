import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type ImageBatch, type ReportImage, type TaskState } from '@ssl/core';
import { labToRgb } from '@ssl/data';
import { z } from 'zod';
import { abBins, cellClassifier, cellCrossEntropy, featureMapModel, labChannels, lightnessView, poolTo, quantiseAbTensor, type AbBins } from './lab';

/** Config of colorization; defaults follow Zhang, Isola, Efros 2016 (grid 10 → in-gamut ab bins, rebalancing λ = 0.5, annealed mean T = 0.38). */
export const colorizationConfig = z
  .object({
    binSize: z
      .number()
      .positive()
      .max(110)
      .default(10)
      .describe('side of the ab grid cells; the bins are the cells some sRGB colour falls in (10: 264 bins; the paper’s 313 were counted on ImageNet)'),
    hidden: z.number().int().min(0).max(4096).default(128).describe('channels of the 1×1 conv (ReLU) before the per-cell bin classifier (0: linear)'),
    rebalance: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('class rebalancing λ: bin weights ∝ 1/((1−λ)p + λ/Q), p = bin frequencies in the batch (paper: 0.5); 1 turns it off'),
    temperature: z
      .number()
      .positive()
      .max(1)
      .default(0.38)
      .describe('annealed-mean temperature turning the predicted bin distribution into one ab colour (report pictures)'),
  })
  .strict();

type ColorizationConfig = z.output<typeof colorizationConfig>;

/** Per-run state: the encoder up to its last feature map (shares the encoder's weights). */
export interface ColorizationState extends TaskState {
  trunk: tf.LayersModel;
}

/**
 * Colorization's pretext batch: `x` = the lightness L/100 copied to 3 channels (all the encoder sees)
 * and `ab` = the true a, b channels [n, H, W, 2], the targets (binned at the feature map's resolution in the loss).
 *
 * @example
 * const { x, ab } = colorizationBatch(rgbBatch); // x [n,32,32,3] grey, ab [n,32,32,2]
 */
export function colorizationBatch(raw: ImageBatch): { x: tf.Tensor4D; ab: tf.Tensor4D } {
  const { lab, l3 } = labChannels(raw, 'Colorization');
  const pixels = raw.n * raw.height * raw.width;
  const ab = new Float32Array(2 * pixels);
  for (let p = 0; p < pixels; p++) {
    ab[2 * p] = lab[3 * p + 1]!;
    ab[2 * p + 1] = lab[3 * p + 2]!;
  }
  return { x: tf.tensor4d(l3, [raw.n, raw.height, raw.width, 3]), ab: tf.tensor4d(ab, [raw.n, raw.height, raw.width, 2]) };
}

/**
 * Colorization loss: per-cell logits [n, h, w, Q] against the bins of the true ab averaged over each
 * cell; `rebalance` λ < 1 weights rare bins up (see {@link cellCrossEntropy}).
 *
 * @example
 * const loss = colorizationLoss(logits, abTensor, abBins(10));
 */
export function colorizationLoss(logits: tf.Tensor4D, ab: tf.Tensor4D, bins: AbBins, rebalance = 1): tf.Scalar {
  return tf.tidy(() => {
    const [, h, w, q] = logits.shape;
    if (q !== bins.count) throw new SslError(`Colorization logits have ${q} classes but there are ${bins.count} ab bins.`);
    return cellCrossEntropy(logits, quantiseAbTensor(poolTo(ab, h, w), bins), rebalance);
  });
}

/**
 * Annealed mean of a per-cell bin distribution (Zhang et al. 2016): softmax(logits / T) · bin centres → ab [n, h, w, 2].
 *
 * @example
 * const ab = annealedMean(logits, abBins(10), 0.38);
 */
export function annealedMean(logits: tf.Tensor4D, bins: AbBins, temperature: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, q] = logits.shape;
    const p = tf.softmax(tf.div(logits.reshape([-1, q]), temperature));
    return tf.matMul(p, tf.tensor2d(bins.centres, [q, 2])).reshape([n, h, w, 2]);
  });
}

/** Tiles `rows` of images [n, H, W, 3] into one picture with 2-pixel white gaps. */
function tile(rows: Float32Array[], n: number, H: number, W: number): { pixels: Float32Array; height: number; width: number } {
  const gap = 2;
  const height = rows.length * (H + gap) - gap;
  const width = n * (W + gap) - gap;
  const pixels = new Float32Array(height * width * 3).fill(1);
  rows.forEach((imgs, r) => {
    for (let i = 0; i < n; i++) {
      for (let y = 0; y < H; y++) {
        const src = (i * H + y) * W * 3;
        pixels.set(imgs.subarray(src, src + W * 3), ((r * (H + gap) + y) * width + i * (W + gap)) * 3);
      }
    }
  });
  return { pixels, height, width };
}

/**
 * Colourises a batch with the trained encoder + head: returns one picture whose rows are the input L,
 * the prediction (annealed mean, upsampled bilinearly, with the true L) and the truth.
 *
 * @example
 * const [picture] = colorizationPictures(encoder, heads.colour, rgbBatch, colorizationConfig.parse({}));
 */
export function colorizationPictures(encoder: tf.LayersModel, head: tf.LayersModel, raw: ImageBatch, config: ColorizationConfig): ReportImage[] {
  const bins = abBins(config.binSize);
  const { lab, l3 } = labChannels(raw, 'Colorization');
  const predAb = tf.tidy(() => {
    const x = tf.tensor4d(l3, [raw.n, raw.height, raw.width, 3]);
    const logits = head.apply(featureMapModel(encoder).apply(x, { training: false }) as tf.Tensor4D) as tf.Tensor4D;
    return tf.image.resizeBilinear(annealedMean(logits, bins, config.temperature), [raw.height, raw.width]).dataSync() as Float32Array;
  });
  const predLab = Float32Array.from(lab);
  for (let p = 0; p < predAb.length / 2; p++) {
    predLab[3 * p + 1] = predAb[2 * p]!;
    predLab[3 * p + 2] = predAb[2 * p + 1]!;
  }
  const grey = l3;
  const picture = tile([grey, labToRgb(predLab), raw.images], raw.n, raw.height, raw.width);
  return [{ caption: 'colorization: input L (top), prediction (middle), truth (bottom)', ...picture, channels: 3 }];
}

/**
 * Colorization (Zhang, Isola, Efros, ECCV 2016): the encoder sees only the lightness L of Lab colour
 * (copied to 3 channels) and, through a 1×1-conv head on its last feature map, classifies each
 * cell's ab colour into in-gamut bins of a 10×10 grid (cross-entropy, hard nearest-bin targets, class
 * rebalancing λ = 0.5 with the batch's bin frequencies). Picking plausible colours needs recognising
 * what is in the image.
 *
 * @example
 * await train({ task: colorizationTask, encoder, source: cifarTrain, config: { epochs: 2 } });
 */
export const colorizationTask = definePretextTask({
  name: 'colorization',
  family: 'context',
  modality: 'image',
  title: 'Colorization',
  paper: 'Zhang, Isola, Efros. Colorful Image Colorization. ECCV 2016',
  description:
    'The encoder sees only the lightness (L of CIE Lab) of a colour image and predicts, for each cell of its last feature map, which quantised ab colour bin (in-gamut cells of a 10×10 grid over ab) the image has there, with a per-cell cross-entropy. Choosing plausible colours needs recognising objects and materials.',
  config: colorizationConfig,
  // Scaled to run in minutes on 2 cores (the paper: 450k iterations on ImageNet).
  trainDefaults: { epochs: 3, batchSize: 64, lr: 2e-3, optimizer: 'adam', weightDecay: 5e-4, limit: 6000 },
  encoderView: (raw) => lightnessView(raw),
  createHeads: ({ featureDim, config, seed }) => ({ colour: cellClassifier(featureDim, config.hidden, abBins(config.binSize).count, seed) }),
  createState: ({ encoder, featureDim }): ColorizationState => {
    const trunk = featureMapModel(encoder);
    const channels = (trunk.outputs[0]!.shape as number[]).at(-1);
    if (channels !== featureDim) {
      throw new SslError(
        `Colorization reads the encoder's last feature map (${channels} channels), which must feed its ${featureDim}-d features by global pooling. Use a convolutional encoder such as convnet or resnet18.`,
      );
    }
    // The trunk shares the encoder's layers, so there is nothing of its own to save or dispose.
    return { trunk, variables: () => [], dispose: () => {} };
  },
  prepare: (raw) => colorizationBatch(raw),
  loss: ({ heads, batch, state, training, config }) => {
    const features = state.trunk.apply(batch.x, { training }) as tf.Tensor4D;
    const logits = heads.colour.apply(features) as tf.Tensor4D;
    return colorizationLoss(logits, batch.ab, abBins(config.binSize), config.rebalance);
  },
  reportImages: ({ encoder, heads, config, raw }) => colorizationPictures(encoder, heads.colour, raw, config),
});
