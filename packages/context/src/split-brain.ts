import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type ImageBatch, type TaskState } from '@ssl/core';
import { splitGroups, splitLayerNames } from '@ssl/encoders';
import { z } from 'zod';
import { abBins, cellClassifier, cellCrossEntropy, labView, poolTo, quantiseAbTensor, quantiseLightness } from './lab';

/** Config of the split-brain autoencoder; defaults follow Zhang, Isola, Efros 2017 (L | ab split, cross-channel classification). */
export const splitBrainConfig = z
  .object({
    abBinSize: z.number().positive().max(110).default(10).describe('side of the ab grid cells the L half classifies into (in-gamut cells, as in colorization)'),
    lightnessBins: z.number().int().min(2).max(1000).default(50).describe('uniform bins of L ∈ [0, 100] the ab half classifies into'),
    hidden: z.number().int().min(0).max(4096).default(64).describe('channels of the 1×1 conv (ReLU) of each half’s per-cell classifier (0: linear)'),
  })
  .strict();

/** Per-run state: the split encoder up to both towers' last feature maps (shares the encoder's weights). */
export interface SplitBrainState extends TaskState {
  towers: tf.LayersModel;
}

/**
 * Split-brain's pretext batch: `x` = the Lab image scaled to [0, 1] (what the split encoder reads:
 * tower 0 gets channel 0 = L, tower 1 channels 1-2 = ab), `l` = L ∈ [0, 100] [n, H, W, 1] and
 * `ab` = a, b [n, H, W, 2], the two cross-channel targets.
 *
 * @example
 * const { x, l, ab } = splitBrainBatch(rgbBatch);
 */
export function splitBrainBatch(raw: ImageBatch): { x: tf.Tensor4D; l: tf.Tensor4D; ab: tf.Tensor4D } {
  const view = labView(raw);
  const pixels = raw.n * raw.height * raw.width;
  const l = new Float32Array(pixels);
  const ab = new Float32Array(2 * pixels);
  for (let p = 0; p < pixels; p++) {
    l[p] = view.images[3 * p]! * 100;
    ab[2 * p] = view.images[3 * p + 1]! * 255 - 128;
    ab[2 * p + 1] = view.images[3 * p + 2]! * 255 - 128;
  }
  const shape = [raw.n, raw.height, raw.width] as const;
  return { x: tf.tensor4d(view.images, [...shape, 3]), l: tf.tensor4d(l, [...shape, 1]), ab: tf.tensor4d(ab, [...shape, 2]) };
}

/**
 * The split encoder's two towers up to their last feature maps, as one model with two outputs;
 * checks that the encoder is a split encoder with towers L = [0] and ab = [1, 2].
 *
 * @example
 * const towers = splitTowers(createSplitConvNet({ inputShape: [32, 32, 3], seed: 0 })); // → [L maps, ab maps]
 */
export function splitTowers(encoder: tf.LayersModel): tf.LayersModel {
  const groups = splitGroups(encoder);
  if (JSON.stringify(groups) !== '[[0],[1,2]]') {
    throw new SslError(
      `Split-brain needs the split encoder with channel groups [[0], [1, 2]] (L | ab); encoder "${encoder.name}" has groups ${JSON.stringify(groups)}. Use --encoder split-convnet (the method's default) without changing its groups.`,
    );
  }
  const outputs = [0, 1].map((k) => encoder.getLayer(splitLayerNames(k).features).output as tf.SymbolicTensor);
  return tf.model({ inputs: encoder.inputs, outputs });
}

/**
 * Split-brain autoencoder (Zhang, Isola, Efros, CVPR 2017): the encoder is two disjoint towers, one
 * reading the lightness L and one the colour ab of a Lab image; each predicts the other's channels
 * per feature-map cell as classification (L tower → in-gamut ab bins, ab tower → L bins; the paper's
 * best variant), summed cross-entropies. The representation concatenates both towers' features.
 *
 * @example
 * await train({ task: splitBrainTask, encoder: createSplitConvNet({ inputShape: [32, 32, 3], seed: 0 }), source, config: { epochs: 2 } });
 */
export const splitBrainTask = definePretextTask({
  name: 'split-brain',
  family: 'context',
  modality: 'image',
  title: 'Split-brain autoencoder',
  paper: 'Zhang, Isola, Efros. Split-Brain Autoencoders: Unsupervised Learning by Cross-Channel Prediction. CVPR 2017',
  description:
    'The encoder is split into two disjoint towers, one seeing the lightness L and one the colour channels ab of the Lab image; the L tower classifies each cell’s ab colour bin and the ab tower classifies each cell’s lightness bin (cross-entropy, summed). Features are both towers’ features concatenated.',
  config: splitBrainConfig,
  // Scaled to run in minutes on 2 cores (the paper: AlexNet halves on ImageNet).
  trainDefaults: { epochs: 3, batchSize: 64, lr: 2e-3, optimizer: 'adam', weightDecay: 5e-4, limit: 6000 },
  defaultEncoder: 'split-convnet',
  encoderView: (raw) => labView(raw),
  createHeads: ({ featureDim, config, seed }) => {
    // Both towers have the same widths, so each has half of the concatenated features.
    const half = Math.floor(featureDim / 2);
    return {
      toAb: cellClassifier(half, config.hidden, abBins(config.abBinSize).count, seed),
      toL: cellClassifier(half, config.hidden, config.lightnessBins, seed + 2),
    };
  },
  createState: ({ encoder }): SplitBrainState => ({ towers: splitTowers(encoder), variables: () => [], dispose: () => {} }),
  prepare: (raw) => splitBrainBatch(raw),
  loss: ({ heads, batch, state, training, config }) => {
    const [fromL, fromAb] = state.towers.apply(batch.x, { training }) as tf.Tensor4D[];
    const abLogits = heads.toAb.apply(fromL!) as tf.Tensor4D;
    const lLogits = heads.toL.apply(fromAb!) as tf.Tensor4D;
    const [, h, w] = abLogits.shape;
    const abTarget = quantiseAbTensor(poolTo(batch.ab, h, w), abBins(config.abBinSize));
    const lTarget = quantiseLightness(poolTo(batch.l, h, w), config.lightnessBins);
    return tf.add(cellCrossEntropy(abLogits, abTarget), cellCrossEntropy(lLogits, lTarget)) as tf.Scalar;
  },
});
