import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type ImageBatch } from '@ssl/core';
import { z } from 'zod';

/** Config of CPC on image patch grids; defaults scale Oord et al. 2018 (7×7 grid, 5 rows ahead) to small images. */
export const cpcConfig = z
  .object({
    grid: z.number().int().min(2).max(16).default(4).describe('patches per row and per column of the grid'),
    overlap: z.number().min(0).max(0.9).default(0.5).describe('overlap of neighbouring patches (the paper: 50 %)'),
    predictionSteps: z.number().int().min(1).max(15).default(2).describe('rows ahead k = 1..K predicted from the context (one linear W_k each)'),
    contextDim: z.number().int().min(1).max(4096).default(128).describe('units of the causal GRU that summarises the rows above'),
  })
  .strict();

type CpcConfig = z.output<typeof cpcConfig>;

/** Patch size and stride of the grid for an image side of `size` pixels. */
export function cpcPatchGeometry(size: number, config: Pick<CpcConfig, 'grid' | 'overlap'>): { patch: number; stride: number } {
  const patch = Math.floor(size / (config.grid * (1 - config.overlap) + config.overlap));
  const stride = Math.floor((size - patch) / (config.grid - 1));
  if (patch < 2 || stride < 1)
    throw new SslError(`CPC grid ${config.grid} with overlap ${config.overlap} gives ${patch}-pixel patches on ${size}-pixel images. Use a smaller task.grid.`);
  return { patch, stride };
}

/**
 * Cuts every image into a grid × grid set of overlapping patches, each resized back to the image
 * size so the shared encoder (and later the probe) sees inputs of one shape. Rows are ordered
 * (image, patch row, patch column).
 *
 * @example
 * const patches = cpcPatches(raw, cpcConfig.parse({}));  // [n·16, 28, 28, 1] for a 4×4 grid
 */
export function cpcPatches(raw: ImageBatch, config: CpcConfig): tf.Tensor4D {
  if (raw.height !== raw.width) throw new SslError(`CPC patch grids need square images; these are ${raw.height}×${raw.width}.`);
  const { patch, stride } = cpcPatchGeometry(raw.height, config);
  const g = config.grid;
  const boxes: number[] = [];
  const boxInd: number[] = [];
  const side = raw.height - 1;
  for (let n = 0; n < raw.n; n++) {
    for (let r = 0; r < g; r++) {
      for (let c = 0; c < g; c++) {
        boxes.push((r * stride) / side, (c * stride) / side, (r * stride + patch - 1) / side, (c * stride + patch - 1) / side);
        boxInd.push(n);
      }
    }
  }
  return tf.tidy(() => {
    const images = tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]);
    return tf.image.cropAndResize(images, tf.tensor2d(boxes, [boxInd.length, 4]), tf.tensor1d(boxInd, 'int32'), [raw.height, raw.width]);
  });
}

/**
 * The causal context: a GRU runs down each column of patch codes (rows top to bottom), so c_t
 * depends on rows ≤ t only. `codes` are [n·grid·grid, D] in (image, row, column) order; the result
 * is [n·grid (sequences, one per image column), grid (rows), contextDim].
 *
 * @example
 * const c = cpcContext(heads.context, z, 4);
 */
export function cpcContext(context: tf.LayersModel, codes: tf.Tensor2D, grid: number): tf.Tensor3D {
  return tf.tidy(() => context.apply(columnSequences(codes, grid)) as tf.Tensor3D);
}

/** [n·g·g, D] in (image, row, col) order → [n·g, g, D] sequences down each column. */
function columnSequences(codes: tf.Tensor2D, g: number): tf.Tensor3D {
  const d = codes.shape[1];
  const n = codes.shape[0] / (g * g);
  return tf.reshape(tf.transpose(tf.reshape(codes, [n, g, g, d]), [0, 2, 1, 3]), [n * g, g, d]);
}

/**
 * CPC's InfoNCE on patch grids: for every context c_t and step k, W_k c_t scores the true code
 * z_{t+k} (same image and column) against every other patch code of the batch (other images and
 * other positions); cross-entropy over those scores, averaged over all (t, k) pairs.
 *
 * @example
 * const loss = cpcInfoNCE(codes, contexts, predictors, 4);
 */
export function cpcInfoNCE(codes: tf.Tensor2D, contexts: tf.Tensor3D, predictors: tf.LayersModel[], grid: number): tf.Scalar {
  return tf.tidy(() => {
    // Reordering the codes into (column sequence, row) order permutes the candidates of every
    // softmax consistently with its target, so the loss is the same as on (image, row, col) order.
    const seqCodes = tf.reshape(columnSequences(codes, grid), codes.shape) as tf.Tensor2D;
    return sequenceInfoNCE(seqCodes, contexts, predictors);
  });
}

/**
 * CPC's InfoNCE on sequences: `codes` [S·T, D] in (sequence, time) order, `contexts` [S, T, C]
 * from a causal model. For each t and step k (one predictor W_k each), W_k c_t scores the true code
 * z_{t+k} of the same sequence against every code of the batch (other sequences and other times);
 * cross-entropy, averaged over all (t, k) pairs that stay inside the sequence.
 *
 * @example
 * const loss = sequenceInfoNCE(codes, contexts, [w1, w2]); // codes [n·T, D], contexts [n, T, C]
 */
export function sequenceInfoNCE(codes: tf.Tensor2D, contexts: tf.Tensor3D, predictors: tf.LayersModel[]): tf.Scalar {
  return tf.tidy(() => {
    const [seqs, steps, cd] = contexts.shape;
    const total = codes.shape[0];
    if (total !== seqs * steps) throw new SslError(`CPC: ${total} codes do not match ${seqs} sequences × ${steps} steps of context.`);
    const losses: tf.Scalar[] = [];
    predictors.forEach((w, i) => {
      const k = i + 1;
      if (k >= steps) return;
      const c = tf.reshape(tf.slice(contexts, [0, 0, 0], [seqs, steps - k, cd]), [seqs * (steps - k), cd]);
      const pred = w.apply(c) as tf.Tensor2D;
      const targets = new Int32Array(seqs * (steps - k));
      for (let s = 0; s < seqs; s++) for (let t = 0; t < steps - k; t++) targets[s * (steps - k) + t] = s * steps + t + k;
      const logits = tf.matMul(pred, codes, false, true);
      losses.push(tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(targets, 'int32'), total), logits) as tf.Scalar);
    });
    if (losses.length === 0) throw new SslError(`CPC predicts nothing: predictionSteps must be < the number of steps (${steps}).`);
    return tf.div(tf.addN(losses), losses.length) as tf.Scalar;
  });
}

/** A causal GRU context and one linear predictor per step ahead: CPC's heads for both modalities. */
export function cpcHeads(
  featureDim: number,
  steps: number | null,
  config: { contextDim: number; predictionSteps: number },
  seed: number,
): Record<string, tf.LayersModel> {
  const context = tf.sequential({
    layers: [
      tf.layers.gru({
        inputShape: [steps, featureDim],
        units: config.contextDim,
        returnSequences: true,
        kernelInitializer: tf.initializers.glorotUniform({ seed }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: seed + 1 }),
      }),
    ],
  });
  const heads: Record<string, tf.LayersModel> = { context };
  for (let k = 1; k <= config.predictionSteps; k++) {
    heads[`predict${k}`] = tf.sequential({
      layers: [
        tf.layers.dense({
          inputShape: [config.contextDim],
          units: featureDim,
          useBias: false,
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 + k }),
        }),
      ],
    });
  }
  return heads;
}

/**
 * Contrastive Predictive Coding (van den Oord, Li, Vinyals 2018) on image patch grids: the shared
 * encoder codes each overlapping patch, a GRU runs down every column of codes (causal: c_t sees
 * rows ≤ t), and one linear W_k per step predicts the code k rows below; InfoNCE against all other
 * patch codes of the batch.
 *
 * @example
 * await train({ task: cpcTask, encoder, source, config: { epochs: 2 } });
 */
export const cpcTask = definePretextTask({
  name: 'cpc',
  family: 'contrastive',
  modality: 'image',
  title: 'Contrastive Predictive Coding (CPC)',
  paper: 'van den Oord, Li, Vinyals. Representation Learning with Contrastive Predictive Coding. arXiv 2018',
  description:
    'Each image is cut into a grid of overlapping patches; the encoder codes every patch, a GRU summarises the rows above into a context, and one linear map per step k predicts the code of the patch k rows below, scored by InfoNCE against the codes of all other patches in the batch.',
  config: cpcConfig,
  // Scaled to run in minutes on 2 cores: 16 patches per image, so fewer images per step.
  trainDefaults: { epochs: 2, batchSize: 16, lr: 1e-3, optimizer: 'adam', weightDecay: 0, limit: 3000 },
  examplesPerInput: (config) => config.grid * config.grid,
  createHeads: ({ featureDim, config, seed }) => cpcHeads(featureDim, config.grid, config, seed),
  prepare: (raw, { config }) => {
    if (config.predictionSteps >= config.grid)
      throw new SslError(
        `CPC predictionSteps ${config.predictionSteps} must be < grid ${config.grid}: there are only ${config.grid - 1} rows below the first.`,
      );
    return { x: cpcPatches(raw, config) };
  },
  loss: ({ encode, heads, batch, config }) => {
    const codes = encode(batch.x);
    const contexts = cpcContext(heads.context!, codes, config.grid);
    const predictors = Array.from({ length: config.predictionSteps }, (_, i) => heads[`predict${i + 1}`]!);
    return cpcInfoNCE(codes, contexts, predictors, config.grid);
  },
});
