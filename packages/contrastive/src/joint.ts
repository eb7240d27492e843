import * as tf from '@tensorflow/tfjs';
import { SslError, type ImageBatch, type Rng } from '@ssl/core';
import { augmentBatch, colorJitter, compose, gaussianBlur, grayscale, horizontalFlip, randomResizedCrop, type Augmentation } from '@ssl/data';
import { z } from 'zod';

// Pieces shared by the two-view (joint-embedding) methods: view stacking, multi-crop, MLP heads.

/**
 * Concatenates views of the same images into one NHWC tensor [k·N, H, W, C], view after view, so
 * every view goes through the encoder in one batch (batch-norm sees all of them).
 *
 * @example
 * const x = stackViews(simclrViews(raw, aug, rng)); // [2N, 28, 28, 1]
 */
export function stackViews(views: ImageBatch[]): tf.Tensor4D {
  const v0 = views[0];
  if (!v0) throw new SslError('stackViews needs at least one view.');
  const per = v0.images.length;
  const all = new Float32Array(per * views.length);
  views.forEach((v, i) => {
    if (v.images.length !== per) throw new SslError(`stackViews: view ${i} has ${v.images.length} values, view 0 has ${per}; views must share a shape.`);
    all.set(v.images, i * per);
  });
  return tf.tensor4d(all, [views.length * v0.n, v0.height, v0.width, v0.channels]);
}

/**
 * Options of {@link mlpHead}.
 *
 * @example
 * const o: MlpHeadOptions = { inputDim: 128, hidden: [256], outputDim: 64, seed: 0, batchNorm: true };
 */
export interface MlpHeadOptions {
  inputDim: number;
  /** Sizes of the hidden layers (Dense → [BN] → activation each); [] gives one linear layer. */
  hidden: number[];
  outputDim: number;
  seed: number;
  /** Batch-norm after each hidden Dense (BYOL, SimSiam, Barlow Twins, VICReg heads). */
  batchNorm?: boolean;
  activation?: 'relu' | 'gelu';
  /** Bias of the output layer (default true). */
  outputBias?: boolean;
}

/**
 * A projection / prediction MLP: hidden Dense(He init, seed + i) → [BN] → ReLU, then a linear
 * Dense(Glorot init, seed + #hidden). With one hidden layer and no BN it is SimCLR's head.
 *
 * @example
 * const projector = mlpHead({ inputDim: 128, hidden: [512], outputDim: 128, seed, batchNorm: true });
 */
export function mlpHead({ inputDim, hidden, outputDim, seed, batchNorm = false, activation = 'relu', outputBias = true }: MlpHeadOptions): tf.LayersModel {
  const layers: tf.layers.Layer[] = [];
  hidden.forEach((units, i) => {
    const first = i === 0 ? { inputShape: [inputDim] } : {};
    if (batchNorm) {
      layers.push(tf.layers.dense({ ...first, units, useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: seed + i }) }));
      layers.push(tf.layers.batchNormalization({ momentum: 0.9 }));
      layers.push(tf.layers.activation({ activation: activation === 'gelu' ? 'gelu' : 'relu' }));
    } else {
      layers.push(
        tf.layers.dense({
          ...first,
          units,
          activation: activation === 'gelu' ? 'gelu' : 'relu',
          kernelInitializer: tf.initializers.heNormal({ seed: seed + i }),
        }),
      );
    }
  });
  layers.push(
    tf.layers.dense({
      ...(hidden.length === 0 ? { inputShape: [inputDim] } : {}),
      units: outputDim,
      useBias: outputBias,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + hidden.length }),
    }),
  );
  return tf.sequential({ layers });
}

/**
 * Config fields of the view pipeline every joint-embedding method shares (SimCLR's augmentations).
 * The defaults are milder than the papers' (crop area 0.08–1 or 0.2–1, blur on ImageNet): at
 * budgets of a few hundred steps, crops of 0.4–1 without blur learned faster on a validation split
 * of Fashion-MNIST (docs/results/README.md). SimCLR's paper also drops the blur on 32×32 CIFAR-10.
 */
export const viewFields = {
  cropScale: z
    .tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)])
    .default([0.4, 1])
    .describe('area range of the random resized crop of the two global views (papers 0.08–1 or 0.2–1)'),
  jitter: z.number().min(0).max(1).default(0.4).describe('colour-jitter strength (brightness/contrast; saturation and hue on colour images)'),
  blurProbability: z.number().min(0).max(1).default(0).describe('probability of a Gaussian blur (ImageNet papers 0.5; 0 on small images)'),
};

/** Config fields of multi-crop (Caron et al. 2020): extra small crops seen only by the online/student side. */
export const multiCropFields = {
  localCrops: z
    .number()
    .int()
    .min(0)
    .max(16)
    .default(0)
    .describe('extra small (local) crops per image (multi-crop; paper 6, 0 disables to fit 2-core budgets)'),
  localCropScale: z
    .tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)])
    .default([0.05, 0.4])
    .describe('area range of the local crops'),
  localCropSize: z
    .number()
    .int()
    .min(0)
    .max(4096)
    .default(0)
    .describe('side of the local crops in pixels (0: the input size, which every encoder accepts; smaller sizes save compute with a ConvNet, not with a ViT)'),
};

type ViewConfig = { cropScale: [number, number]; jitter: number; blurProbability: number };

/**
 * The SimCLR view pipeline (crop+resize, flip, colour jitter, greyscale, blur), optionally with
 * crops of another area range and output size (multi-crop's local views).
 *
 * @example
 * const local = viewAugmentation({ ...config, cropScale: [0.05, 0.4] }, [14, 14]);
 */
export function viewAugmentation(config: ViewConfig, size?: [number, number]): Augmentation {
  return compose(
    randomResizedCrop({ scale: config.cropScale, ...(size ? { size } : {}) }),
    horizontalFlip({ p: 0.5 }),
    colorJitter({ brightness: config.jitter, contrast: config.jitter, saturation: config.jitter, hue: config.jitter / 4, p: 0.8 }),
    grayscale({ p: 0.2 }),
    gaussianBlur({ sigma: [0.1, 2], p: config.blurProbability }),
  );
}

/**
 * What {@link multiCropBatch} returns: `x` [2N, H, W, C] (view 1 of every image, then view 2) and,
 * with local crops, `local` [L·N, h, w, C] (local crop 1 of every image, then crop 2, ...).
 */
export type MultiCropTensors = { x: tf.Tensor4D } & Record<string, tf.Tensor4D>;

/**
 * Two global views of each image (SimCLR's pipeline) and `localCrops` small crops (multi-crop).
 *
 * @example
 * const { x, local } = multiCropBatch(raw, { ...config, localCrops: 4 }, rng);
 */
export function multiCropBatch(
  raw: ImageBatch,
  config: ViewConfig & Partial<{ localCrops: number; localCropScale: [number, number]; localCropSize: number }>,
  rng: Rng,
): MultiCropTensors {
  const global = viewAugmentation(config);
  const out: MultiCropTensors = { x: stackViews([augmentBatch(raw, global, rng.fork('view-1')), augmentBatch(raw, global, rng.fork('view-2'))]) };
  const l = config.localCrops ?? 0;
  if (l > 0) {
    const side = config.localCropSize || 0;
    const local = viewAugmentation({ ...config, cropScale: config.localCropScale ?? [0.05, 0.4] }, side ? [side, side] : undefined);
    out.local = stackViews(Array.from({ length: l }, (_, i) => augmentBatch(raw, local, rng.fork(`local-${i}`))));
  }
  return out;
}

/**
 * BYOL's cosine-increasing momentum τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2: τ_base at step 0,
 * 1 at step K. Without a known K it stays at τ_base.
 *
 * @example
 * cosineMomentum(0.99, 50, 100); // 0.995
 */
export function cosineMomentum(base: number, step: number, totalSteps: number | undefined): number {
  if (!totalSteps || totalSteps <= 0) return base;
  return 1 - ((1 - base) * (Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps) + 1)) / 2;
}

/** L2-normalises each column of a [D, K] prototype kernel (SwAV's and DINO's normalised prototypes). */
export function normalizeColumns(w: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => w.mul(tf.rsqrt(w.square().sum(0, true).maximum(1e-24))) as tf.Tensor2D);
}

/**
 * Splits a batch along axis 0 into `k` equal consecutive chunks with slices (tfjs's split gradient
 * fails when some chunks take no part in the loss).
 *
 * @example
 * const [z1, z2] = chunks(z, 2); // the two views of a stacked batch
 */
export function chunks<T extends tf.Tensor>(x: T, k: number): T[] {
  const n = x.shape[0]!;
  if (!(Number.isInteger(k) && k >= 1 && n % k === 0)) throw new SslError(`chunks: cannot split ${n} rows into ${k} equal parts.`);
  const m = n / k;
  return Array.from({ length: k }, (_, i) => x.slice(i * m, m) as T);
}

/**
 * The projector of Barlow Twins and VICReg: two hidden layers (Dense → BN → ReLU) and a linear
 * output, as `{ projector }` for a task's `createHeads`.
 *
 * @example
 * createHeads: ({ featureDim, config, seed }) => expanderHeads(featureDim, config, seed),
 */
export function expanderHeads(featureDim: number, config: { projectionHidden: number; projectionDim: number }, seed: number): { projector: tf.LayersModel } {
  const hidden = [config.projectionHidden, config.projectionHidden];
  return { projector: mlpHead({ inputDim: featureDim, hidden, outputDim: config.projectionDim, seed, batchNorm: true }) };
}

/**
 * Both views' embeddings of a symmetric two-view method: the stacked views through the encoder
 * and projector in one batch, split in two; view 1 goes to the collapse monitor.
 *
 * @example
 * loss: (ctx) => barlowTwinsLoss(...embedTwoViews(ctx), ctx.config.lambda),
 */
export function embedTwoViews(ctx: {
  encode(x: tf.Tensor): tf.Tensor2D;
  heads: { projector: tf.LayersModel };
  batch: { x: tf.Tensor4D };
  training: boolean;
  monitorEmbedding?(z: tf.Tensor2D): void;
}): [tf.Tensor2D, tf.Tensor2D] {
  const z = ctx.heads.projector.apply(ctx.encode(ctx.batch.x), { training: ctx.training }) as tf.Tensor2D;
  const [z1, z2] = chunks(z, 2) as [tf.Tensor2D, tf.Tensor2D];
  ctx.monitorEmbedding?.(z1);
  return [z1, z2];
}
