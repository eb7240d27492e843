import * as tf from '@tensorflow/tfjs';
import { SslError, type ImageBatch } from '@ssl/core';
import { rgbToLab } from '@ssl/data';

/**
 * Quantised ab colour space: a square grid of `binSize` cells over a, b ∈ [−110, 110), restricted to the
 * cells some sRGB colour falls in (Zhang et al. 2016: 313 in-gamut bins for `binSize` 10).
 */
export interface AbBins {
  binSize: number;
  /** Lower edge of the grid on both axes (−110). */
  min: number;
  /** Cells per axis. */
  cells: number;
  /** Number of in-gamut bins Q. */
  count: number;
  /** Q × 2 bin centres (a, b). */
  centres: Float32Array;
  /** For each grid cell (row a, column b): its bin, or for a cell outside the gamut the bin with the nearest centre. */
  cellToBin: Int32Array;
}

const AB_MIN = -110;
const AB_RANGE = 220;
const binCache = new Map<number, AbBins>();

/**
 * The in-gamut ab bins for a grid of `binSize` (memoised): every cell hit by one of 65³ sRGB colours
 * sampled uniformly over the cube is a bin; other cells map to the bin with the nearest centre.
 *
 * @example
 * const bins = abBins(10); // bins.count === 264 (Zhang et al. 2016 count 313 on ImageNet)
 */
export function abBins(binSize = 10): AbBins {
  if (!(binSize > 0 && binSize <= 110)) throw new SslError(`ab bin size ${binSize} is not allowed. Must be in (0, 110], e.g. 10 (Zhang et al. 2016).`);
  const cached = binCache.get(binSize);
  if (cached) return cached;
  const cells = Math.ceil(AB_RANGE / binSize);
  const steps = 65;
  const rgb = new Float32Array(steps ** 3 * 3);
  let p = 0;
  for (let r = 0; r < steps; r++)
    for (let g = 0; g < steps; g++) for (let b = 0; b < steps; b++) rgb.set([r / (steps - 1), g / (steps - 1), b / (steps - 1)], 3 * p++);
  const lab = rgbToLab(rgb);
  const hit = new Uint8Array(cells * cells);
  const cellOf = (v: number) => Math.min(cells - 1, Math.max(0, Math.floor((v - AB_MIN) / binSize)));
  for (let q = 0; q < lab.length; q += 3) hit[cellOf(lab[q + 1]!) * cells + cellOf(lab[q + 2]!)] = 1;
  const centres: number[] = [];
  const cellToBin = new Int32Array(cells * cells).fill(-1);
  hit.forEach((h, cell) => {
    if (!h) return;
    cellToBin[cell] = centres.length / 2;
    centres.push(AB_MIN + (Math.floor(cell / cells) + 0.5) * binSize, AB_MIN + ((cell % cells) + 0.5) * binSize);
  });
  const count = centres.length / 2;
  for (let cell = 0; cell < cells * cells; cell++) {
    if (cellToBin[cell]! >= 0) continue;
    const a = AB_MIN + (Math.floor(cell / cells) + 0.5) * binSize;
    const b = AB_MIN + ((cell % cells) + 0.5) * binSize;
    let best = 0;
    let bestD = Infinity;
    for (let q = 0; q < count; q++) {
      const d = (centres[2 * q]! - a) ** 2 + (centres[2 * q + 1]! - b) ** 2;
      if (d < bestD) [best, bestD] = [q, d];
    }
    cellToBin[cell] = best;
  }
  const bins: AbBins = { binSize, min: AB_MIN, cells, count, centres: Float32Array.from(centres), cellToBin };
  binCache.set(binSize, bins);
  return bins;
}

/**
 * The bin of one (a, b) colour.
 *
 * @example
 * const q = quantiseAb(20, -35, abBins(10)); // abBins(10).centres[2q..2q+1] = [25, -35]
 */
export function quantiseAb(a: number, b: number, bins: AbBins): number {
  const cell = (v: number) => Math.min(bins.cells - 1, Math.max(0, Math.floor((v - bins.min) / bins.binSize)));
  return bins.cellToBin[cell(a) * bins.cells + cell(b)]!;
}

/**
 * Bins of an ab tensor [..., 2] (same rule as {@link quantiseAb}), as an int32 tensor of the leading shape.
 *
 * @example
 * const q = quantiseAbTensor(tf.tensor4d(ab, [n, 8, 8, 2]), abBins(10)); // [n, 8, 8]
 */
export function quantiseAbTensor(ab: tf.Tensor, bins: AbBins): tf.Tensor {
  return tf.tidy(() => {
    const cell = tf.clipByValue(tf.floor(tf.div(tf.sub(ab, bins.min), bins.binSize)), 0, bins.cells - 1).toInt();
    const [a, b] = tf.split(cell, 2, -1);
    const index = tf.add(tf.mul(a!, tf.scalar(bins.cells, 'int32')), b!).squeeze([ab.rank - 1]);
    return tf.gather(tf.tensor1d(bins.cellToBin, 'int32'), index);
  });
}

/**
 * Uniform bins of the lightness L ∈ [0, 100]: bin of each value of a tensor (int32, same shape).
 *
 * @example
 * quantiseLightness(tf.tensor1d([0, 49.9, 100]), 20); // [0, 9, 19]
 */
export function quantiseLightness(l: tf.Tensor, count: number): tf.Tensor {
  return tf.tidy(() => tf.clipByValue(tf.floor(tf.mul(l, count / 100)), 0, count - 1).toInt());
}

function checkRgb(raw: ImageBatch, method: string): void {
  if (raw.channels !== 3) {
    throw new SslError(
      `${method} needs colour (RGB, 3-channel) images; these have ${raw.channels} channel(s). Use a colour dataset, e.g. --dataset imagefolder:/work/cifar10 or cifar10.`,
    );
  }
}

/**
 * Lab channels of an RGB batch, as the colour tasks use them: `lab` (L ∈ [0, 100], a, b ≈ [−110, 110])
 * and `l3`, the lightness L/100 copied to 3 channels (a grey image of the input's shape).
 *
 * @example
 * const { lab, l3 } = labChannels(raw, 'colorization');
 */
export function labChannels(raw: ImageBatch, method: string): { lab: Float32Array; l3: Float32Array } {
  checkRgb(raw, method);
  const lab = rgbToLab(raw.images);
  const l3 = new Float32Array(lab.length);
  for (let p = 0; p < lab.length; p += 3) l3[p] = l3[p + 1] = l3[p + 2] = lab[p]! / 100;
  return { lab, l3 };
}

/**
 * What a lightness-only encoder sees: L/100 copied to the 3 channels (colorization's `encoderView`).
 *
 * @example
 * const grey = lightnessView(rgbBatch); // grey.images[3p] === grey.images[3p + 1] === L/100
 */
export function lightnessView(raw: ImageBatch): ImageBatch {
  return { ...raw, images: labChannels(raw, 'A lightness-only encoder').l3 };
}

/**
 * Lab scaled to about [0, 1]: (L/100, (a+128)/255, (b+128)/255) (split-brain's `encoderView`).
 *
 * @example
 * const labBatch = labView(rgbBatch); // channel 0: lightness, channels 1-2: colour
 */
export function labView(raw: ImageBatch): ImageBatch {
  const { lab } = labChannels(raw, 'A Lab encoder');
  const out = new Float32Array(lab.length);
  for (let p = 0; p < lab.length; p += 3) {
    out[p] = lab[p]! / 100;
    out[p + 1] = (lab[p + 1]! + 128) / 255;
    out[p + 2] = (lab[p + 2]! + 128) / 255;
  }
  return { ...raw, images: out };
}

/**
 * The encoder up to its last spatial feature map (the layer before global pooling), sharing its
 * layers and weights: dense-prediction tasks (colorization) train the encoder through it.
 *
 * @example
 * const trunk = featureMapModel(createConvNet({ inputShape: [32, 32, 3], seed: 0 })); // [n,32,32,3] → [n,8,8,128]
 */
export function featureMapModel(encoder: tf.LayersModel): tf.LayersModel {
  for (let i = encoder.layers.length - 1; i >= 0; i--) {
    const layer = encoder.layers[i]!;
    const shape = layer.outputShape;
    if (Array.isArray(shape[0])) continue;
    if (shape.length === 4) return tf.model({ inputs: encoder.inputs, outputs: layer.output as tf.SymbolicTensor });
  }
  throw new SslError(
    `Encoder "${encoder.name}" has no spatial feature map (no layer with a 4-D output), so it cannot predict per-pixel colours. Use a convolutional encoder (convnet, resnet18).`,
  );
}

/**
 * Averages a [n, H, W, c] tensor down to [n, h, w, c] (exact average pooling when h, w divide H, W;
 * bilinear resizing otherwise): per-cell targets at the feature map's resolution.
 *
 * @example
 * const ab8 = poolTo(ab32, 8, 8);
 */
export function poolTo(x: tf.Tensor4D, h: number, w: number): tf.Tensor4D {
  const [, H, W] = x.shape;
  if (H === h && W === w) return x.clone();
  if (H % h === 0 && W % w === 0) return tf.avgPool(x, [H / h, W / w], [H / h, W / w], 'valid');
  return tf.image.resizeBilinear(x, [h, w]);
}

/**
 * Mean per-cell softmax cross-entropy of logits [..., Q] against integer targets [...]; with
 * `rebalance` λ < 1, each cell is weighted by Zhang et al.'s class rebalancing (rare colours count more).
 *
 * @example
 * const loss = cellCrossEntropy(logits, targets); // logits [n, 8, 8, Q], targets [n, 8, 8]
 * const balanced = cellCrossEntropy(logits, targets, 0.5);
 */
export function cellCrossEntropy(logits: tf.Tensor, targets: tf.Tensor, rebalance = 1): tf.Scalar {
  return tf.tidy(() => {
    const q = logits.shape.at(-1)!;
    const flat = logits.reshape([-1, q]);
    const oneHot = tf.oneHot(targets.reshape([-1]).toInt(), q);
    if (rebalance >= 1) return tf.losses.softmaxCrossEntropy(oneHot, flat) as tf.Scalar;
    // Zhang et al. 2016 class rebalancing: w ∝ 1 / ((1 − λ) p + λ / Q), scaled so that E_p[w] = 1,
    // with p the classes' frequencies in this batch (the paper: over the whole training set, smoothed).
    const p = tf.mean(oneHot, 0);
    const inv = tf.reciprocal(tf.add(tf.mul(p, 1 - rebalance), rebalance / q));
    const w = tf.div(inv, tf.sum(tf.mul(p, inv)));
    const cellWeights = tf.sum(tf.mul(oneHot, w), 1);
    const ce = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(flat)), 1));
    return tf.mean(tf.mul(cellWeights, ce)) as tf.Scalar;
  });
}

/**
 * A per-cell classifier on a feature map: 1×1 conv (ReLU, `hidden` channels) → 1×1 conv to `classes` logits.
 *
 * @example
 * const head = cellClassifier(128, 128, 313, 7); // [n, h, w, 128] → [n, h, w, 313]
 */
export function cellClassifier(channels: number, hidden: number, classes: number, seed: number): tf.LayersModel {
  const input = tf.input({ shape: [null, null, channels] });
  let h = input;
  if (hidden > 0)
    h = tf.layers
      .conv2d({ filters: hidden, kernelSize: 1, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) })
      .apply(h) as tf.SymbolicTensor;
  const out = tf.layers
    .conv2d({ filters: classes, kernelSize: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) })
    .apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}
