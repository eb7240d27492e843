import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type Rng } from '@ssl/core';
import { z } from 'zod';
import { classifierHead } from './heads';
import { cropPatch, encodePatches } from './patches';

/** Config of relative patch location; defaults follow Doersch et al. 2015 (gap = half a patch, jitter ≈ 7/96 of a patch). */
export const relativeLocationConfig = z
  .object({
    gap: z
      .number()
      .min(0)
      .max(2)
      .default(0.5)
      .describe('gap between neighbouring grid patches, as a fraction of the patch side (paper: 48 px for 96 px patches)'),
    jitter: z
      .number()
      .min(0)
      .max(0.5)
      .default(7 / 96)
      .describe('maximum random shift of each patch, as a fraction of the patch side (paper: up to 7 px for 96 px patches); at least 1 px when > 0'),
    hidden: z.number().int().min(0).max(4096).default(512).describe('hidden units of the late-fusion classifier on the concatenated pair features (0: linear)'),
    resize: z.boolean().default(false).describe('upsample patches to the image size before encoding (for encoders with a fixed input size, e.g. mlp)'),
  })
  .strict();

/** Parsed relative-location config. */
export type RelativeLocationConfig = z.output<typeof relativeLocationConfig>;

/**
 * Grid offsets (dy, dx) of the 8 neighbours, in label order: row by row around the centre,
 * 0 = top-left, 1 = top, 2 = top-right, 3 = left, 4 = right, 5 = bottom-left, 6 = bottom, 7 = bottom-right.
 */
export const NEIGHBOUR_OFFSETS: ReadonlyArray<readonly [number, number]> = [
  [-1, -1],
  [-1, 0],
  [-1, 1],
  [0, -1],
  [0, 1],
  [1, -1],
  [1, 0],
  [1, 1],
];

/** Pixel geometry of the 3×3 patch grid for one image size. */
export interface PatchGrid {
  /** Patch side in pixels. */
  patch: number;
  /** Gap between neighbouring patches before jitter, in pixels. */
  gap: number;
  /** Maximum shift of each patch in each direction, in pixels. */
  jitter: number;
  /** Top-left corner of grid cell 0 (before jitter), per axis. */
  origin: [number, number];
}

/**
 * The largest patch grid that fits: 3 patches of side p and 2 gaps of `gap`·p, plus jitter room,
 * centred in the image. Throws when the image is too small for 3×3 patches of at least 3 px.
 *
 * @example
 * patchGrid(28, 28, 0.5, 7 / 96); // { patch: 6, gap: 3, jitter: 1, origin: [2, 2] }
 */
export function patchGrid(height: number, width: number, gap: number, jitter: number): PatchGrid {
  const side = Math.min(height, width);
  // Largest p with 3p + 2·round(gap·p) + 2·jitter(p) ≤ side.
  const jit = (p: number) => (jitter > 0 ? Math.max(1, Math.round(jitter * p)) : 0);
  let p = Math.floor(side / 3);
  while (p >= 3 && 3 * p + 2 * Math.round(gap * p) + 2 * jit(p) > side) p--;
  if (p < 3) {
    throw new SslError(
      `Relative patch location needs images big enough for a 3×3 grid of patches of at least 3 px with gap ${gap} and jitter ${jitter}; got ${height}×${width}. Lower --set gap / --set jitter or use larger images.`,
    );
  }
  const g = Math.round(gap * p);
  const span = 3 * p + 2 * g;
  return { patch: p, gap: g, jitter: jit(p), origin: [Math.floor((height - span) / 2), Math.floor((width - span) / 2)] };
}

/** Top-left corner of grid cell (row, col) ∈ {0,1,2}², jittered by up to ±grid.jitter per axis. */
function cellCorner(grid: PatchGrid, row: number, col: number, rng: Rng): [number, number] {
  const shift = () => (grid.jitter > 0 ? rng.int(2 * grid.jitter + 1) - grid.jitter : 0);
  return [grid.origin[0] + row * (grid.patch + grid.gap) + shift(), grid.origin[1] + col * (grid.patch + grid.gap) + shift()];
}

/** Pretext pairs of relative patch location, as plain arrays. */
export interface RelativeLocationPairs {
  /** `n` centre patches, NHWC (patch × patch × channels). */
  centres: Float32Array;
  /** `n` neighbour patches, NHWC. */
  neighbours: Float32Array;
  /** Neighbour position 0..7 (see {@link NEIGHBOUR_OFFSETS}). */
  labels: Int32Array;
  /** Top-left corners [y, x] of the centre and neighbour patch of each pair (for inspection and tests). */
  corners: Int32Array;
  grid: PatchGrid;
}

/**
 * Builds Doersch et al.'s pretext pairs: for each image, the centre patch of a 3×3 grid and one of
 * its 8 neighbours, separated by a gap and each jittered independently, so that no pair can be
 * solved by matching edges or continuing lines. Labels are balanced: a shuffled cycle 0..7 over
 * the batch, so every position appears ⌊n/8⌋ or ⌈n/8⌉ times.
 *
 * @example
 * const pairs = relativeLocationPairs(raw.images, raw.n, 28, 28, 1, relativeLocationConfig.parse({}), rng);
 */
export function relativeLocationPairs(
  images: Float32Array,
  n: number,
  height: number,
  width: number,
  channels: number,
  config: Pick<RelativeLocationConfig, 'gap' | 'jitter'>,
  rng: Rng,
): RelativeLocationPairs {
  const grid = patchGrid(height, width, config.gap, config.jitter);
  const size = grid.patch * grid.patch * channels;
  const centres = new Float32Array(n * size);
  const neighbours = new Float32Array(n * size);
  const corners = new Int32Array(n * 4);
  const labels = Int32Array.from(rng.shuffle(Array.from({ length: n }, (_, i) => i % 8)));
  for (let i = 0; i < n; i++) {
    const [dy, dx] = NEIGHBOUR_OFFSETS[labels[i]!]!;
    const [cy, cx] = cellCorner(grid, 1, 1, rng);
    // patchGrid leaves room for the jitter, so every corner is inside the image.
    const [ny, nx] = cellCorner(grid, 1 + dy, 1 + dx, rng);
    cropPatch(images, i, height, width, channels, cy, cx, grid.patch, centres, i * size);
    cropPatch(images, i, height, width, channels, ny, nx, grid.patch, neighbours, i * size);
    corners.set([cy, cx, ny, nx], i * 4);
  }
  return { centres, neighbours, labels, corners, grid };
}

/**
 * Relative patch location (Doersch, Gupta, Efros, ICCV 2015): show the network the centre patch
 * of a 3×3 grid and one of its 8 neighbours (with a gap and jitter) and classify where the
 * neighbour lies. A siamese encoder (shared weights) embeds both patches; the features are
 * concatenated (late fusion) and an MLP predicts the 8-way position.
 *
 * The shared encoder runs on the patches at their own size (e.g. 6×6 for 28×28 images); the
 * convnet and resnet18 encoders end in global average pooling, so the same weights embed full
 * images for the linear probe. With `resize: true` patches are bilinearly upsampled to the image
 * size first (needed for fixed-size encoders such as mlp; slower).
 *
 * @example
 * const registry = createRegistry().use(contextTasks);
 * await train({ task: relativeLocationTask, encoder: createConvNet({ seed: 0 }), source });
 */
export const relativeLocationTask = definePretextTask({
  name: 'relative-location',
  family: 'context',
  modality: 'image',
  title: 'Relative patch location',
  paper: 'Doersch, Gupta, Efros. Unsupervised Visual Representation Learning by Context Prediction. ICCV 2015',
  description:
    'Takes the centre patch of a 3×3 grid and one of its 8 neighbours (a gap between them and a random jitter on each, so edges and lines cannot simply be continued), embeds both with the shared encoder (siamese, late fusion: features concatenated) and classifies the neighbour position (8-way cross-entropy). Solving it needs recognising object parts and their layout.',
  config: relativeLocationConfig,
  // Scaled to run in a few minutes on 2 cores (the paper trains for weeks on ImageNet).
  trainDefaults: { epochs: 4, batchSize: 64, lr: 2e-3, optimizer: 'adam', weightDecay: 5e-4, limit: 10000 },
  examplesPerInput: () => 1,
  createHeads: ({ featureDim, config, seed }) => ({ classifier: classifierHead(2 * featureDim, config.hidden, 8, seed) }),
  prepare: (raw, { config, rng }) => {
    const { centres, neighbours, labels, grid } = relativeLocationPairs(raw.images, raw.n, raw.height, raw.width, raw.channels, config, rng);
    const shape: [number, number, number, number] = [raw.n, grid.patch, grid.patch, raw.channels];
    const patches = (a: Float32Array) => (config.resize ? tf.image.resizeBilinear(tf.tensor4d(a, shape), [raw.height, raw.width]) : tf.tensor4d(a, shape));
    return { centre: patches(centres), neighbour: patches(neighbours), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 8) };
  },
  loss: ({ encode, heads, batch }) => {
    const n = batch.y.shape[0]!;
    // One encoder call for both branches (shared weights and batch statistics).
    const f = encodePatches(encode, tf.concat([batch.centre, batch.neighbour], 0) as tf.Tensor4D, 'relative-location');
    const fused = tf.concat([f.slice([0, 0], [n, -1]), f.slice([n, 0], [n, -1])], 1);
    const logits = heads.classifier.apply(fused) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(batch.y, logits) as tf.Scalar;
  },
});
