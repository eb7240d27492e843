import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type Rng } from '@ssl/core';
import { z } from 'zod';
import { classifierHead } from './heads';
import { cropPatch, encodePatches } from './patches';
import { hammingPermutations, permutationStats } from './permutations';

/** Config of the jigsaw puzzle task; defaults follow Noroozi & Favaro 2016 except where noted (tile size, tile normalisation), P=64 (paper: 100). */
export const jigsawConfig = z
  .object({
    permutations: z.number().int().min(2).max(2000).default(64).describe('size P of the maximal-Hamming permutation set, the number of classes (paper: 100)'),
    permutationSeed: z.number().int().min(0).default(0).describe('seed of the greedy permutation set (the set is a deterministic function of P and this seed)'),
    // Paper ratio 64/75 leaves ~1 px between 8-px tiles of 28-px images: edge continuation solves the
    // puzzle (pretext loss 0.01) and the Fashion-MNIST probe fell 2.9 points below random init.
    // 2/3 (6-px tiles in 9-px cells, gaps 0–6 px) keeps the gap/tile ratio near the paper's.
    tileFraction: z
      .number()
      .gt(0)
      .max(1)
      .default(2 / 3)
      .describe(
        'tile side as a fraction of its grid cell; the tile is cropped at a random place inside the cell (paper: 64 of 75 px; 2/3 here for 28–32 px images)',
      ),
    // Paper: on. Off by default here: the probe embeds raw [0, 1] images and batch-norm statistics
    // learnt on normalised tiles do not fit them (Fashion-MNIST probe +0.2 points with, +1.2 without).
    normalizeTiles: z
      .boolean()
      .default(false)
      .describe('normalise each tile to zero mean and unit variance on its own, so low-level statistics cannot match neighbours (paper: on)'),
    hidden: z.number().int().min(0).max(4096).default(512).describe('hidden units of the classifier on the 9 concatenated tile features (0: linear)'),
    resize: z.boolean().default(false).describe('upsample tiles to the image size before encoding (for encoders with a fixed input size, e.g. mlp)'),
  })
  .strict();

/** Parsed jigsaw config. */
export type JigsawConfig = z.output<typeof jigsawConfig>;

/** A jigsaw permutation set with its Hamming statistics. */
export interface JigsawPermutationSet {
  /** P permutations of the 9 tile indices; permutation k is class k. */
  permutations: Int32Array[];
  /** Minimum pairwise Hamming distance of the set. */
  minHamming: number;
  /** Mean pairwise Hamming distance of the set. */
  meanHamming: number;
}

const SETS = new Map<string, JigsawPermutationSet>();

/**
 * The greedy maximal-Hamming set of `p` permutations of 9 tiles for `seed` (memoised: the set is a
 * deterministic function of (p, seed)). For seed 0: P=64 gives min 6, mean 8.08;
 * P=100 gives min 6, mean 8.06 (64 uniformly random permutations: min 3, mean 8.00).
 *
 * @example
 * const { permutations, minHamming, meanHamming } = jigsawPermutationSet(64, 0);
 */
export function jigsawPermutationSet(p: number, seed = 0): JigsawPermutationSet {
  const key = `${p}:${seed}`;
  let set = SETS.get(key);
  if (!set) {
    const permutations = hammingPermutations(p, 9, seed);
    const { min, mean } = permutationStats(permutations);
    set = { permutations, minHamming: min, meanHamming: mean };
    SETS.set(key, set);
  }
  return set;
}

/** Pixel geometry of the 3×3 jigsaw grid for one image size. */
export interface TileGrid {
  /** Side of a grid cell in pixels. */
  cell: number;
  /** Side of a tile (cropped inside its cell) in pixels. */
  tile: number;
  /** Top-left corner of the grid (centred in the image), per axis. */
  origin: [number, number];
}

/**
 * The 3×3 grid of cells of side ⌊min(h, w)/3⌋, centred, with tiles of `tileFraction` of a cell.
 *
 * @example
 * tileGrid(28, 28, 2 / 3); // { cell: 9, tile: 6, origin: [0, 0] }
 */
export function tileGrid(height: number, width: number, tileFraction: number): TileGrid {
  const cell = Math.floor(Math.min(height, width) / 3);
  const tile = Math.min(cell, Math.round(cell * tileFraction));
  if (tile < 2)
    throw new SslError(
      `Jigsaw needs tiles of at least 2 px; a ${height}×${width} image with tileFraction ${tileFraction} gives ${tile} px. Use larger images or a larger --set tileFraction.`,
    );
  return { cell, tile, origin: [Math.floor((height - 3 * cell) / 2), Math.floor((width - 3 * cell) / 2)] };
}

/** A jigsaw batch as plain arrays. */
export interface JigsawPuzzles {
  /** `9n` tiles, NHWC; tiles 9i..9i+8 are puzzle i, slot j holding cell `permutations[label][j]`. */
  tiles: Float32Array;
  /** Permutation index (class) of each puzzle. */
  labels: Int32Array;
  grid: TileGrid;
}

/**
 * Builds Noroozi & Favaro's puzzles: cut each image into a 3×3 grid, crop a tile at a random place
 * inside each cell (so tiles do not share edges), pick a permutation k uniformly from the set and
 * put cell `perm[j]` into slot j. Optionally normalises each tile on its own.
 *
 * @example
 * const { tiles, labels } = jigsawPuzzles(raw.images, raw.n, 28, 28, 1, jigsawPermutationSet(64).permutations, 64 / 75, true, rng);
 */
export function jigsawPuzzles(
  images: Float32Array,
  n: number,
  height: number,
  width: number,
  channels: number,
  permutations: readonly Int32Array[],
  tileFraction: number,
  normalizeTiles: boolean,
  rng: Rng,
): JigsawPuzzles {
  const grid = tileGrid(height, width, tileFraction);
  const size = grid.tile * grid.tile * channels;
  const tiles = new Float32Array(9 * n * size);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const k = rng.int(permutations.length);
    labels[i] = k;
    const perm = permutations[k]!;
    for (let slot = 0; slot < 9; slot++) {
      const cellIndex = perm[slot]!;
      const y0 = grid.origin[0] + Math.floor(cellIndex / 3) * grid.cell + rng.int(grid.cell - grid.tile + 1);
      const x0 = grid.origin[1] + (cellIndex % 3) * grid.cell + rng.int(grid.cell - grid.tile + 1);
      const offset = (9 * i + slot) * size;
      cropPatch(images, i, height, width, channels, y0, x0, grid.tile, tiles, offset);
      if (normalizeTiles) normalize(tiles.subarray(offset, offset + size));
    }
  }
  return { tiles, labels, grid };
}

function normalize(v: Float32Array): void {
  let mean = 0;
  for (const x of v) mean += x;
  mean /= v.length;
  let sq = 0;
  for (const x of v) sq += (x - mean) ** 2;
  const inv = 1 / Math.sqrt(sq / v.length + 1e-5);
  for (let i = 0; i < v.length; i++) v[i] = (v[i]! - mean) * inv;
}

/**
 * Jigsaw puzzles (Noroozi & Favaro, ECCV 2016): shuffle the 9 tiles of a 3×3 grid with one of P
 * permutations (a greedy maximal-Hamming set, so classes are far apart) and classify which one
 * was used. A shared tile encoder embeds each tile, the 9 features are concatenated in slot order
 * and an MLP predicts the P-way permutation class.
 *
 * The encoder runs on the tiles at their own size (e.g. 6×6 for 28×28 images); the convnet and
 * resnet18 encoders end in global average pooling, so the same weights embed full images for the
 * linear probe. With `resize: true` tiles are upsampled to the image size (for fixed-size encoders).
 * Permutation set of the defaults (P=64, seed 0): minimum pairwise Hamming distance 6, mean 8.08
 * (P=100: 6 and 8.06).
 *
 * @example
 * await train({ task: jigsawTask, taskConfig: { permutations: 100 }, encoder: createConvNet({ seed: 0 }), source });
 */
export const jigsawTask = definePretextTask({
  name: 'jigsaw',
  family: 'context',
  modality: 'image',
  title: 'Jigsaw puzzles',
  paper: 'Noroozi & Favaro. Unsupervised Learning of Visual Representations by Solving Jigsaw Puzzles. ECCV 2016',
  description:
    'Cuts each image into a 3×3 grid, crops a tile at a random place inside each cell, shuffles the tiles with one of P permutations chosen greedily for maximal Hamming distance, embeds every tile with the shared encoder (context-free network: no tile sees another), concatenates the 9 features and classifies the permutation (P-way cross-entropy). Solving it needs recognising object parts and where they belong.',
  config: jigsawConfig,
  // Scaled to run in a few minutes on 2 cores (the paper trains for 350k steps on ImageNet).
  trainDefaults: { epochs: 4, batchSize: 64, lr: 2e-3, optimizer: 'adam', weightDecay: 5e-4, limit: 5000 },
  examplesPerInput: () => 1,
  createHeads: ({ featureDim, config, seed }) => ({ classifier: classifierHead(9 * featureDim, config.hidden, config.permutations, seed) }),
  prepare: (raw, { config, rng }) => {
    const { permutations } = jigsawPermutationSet(config.permutations, config.permutationSeed);
    const { tiles, labels, grid } = jigsawPuzzles(
      raw.images,
      raw.n,
      raw.height,
      raw.width,
      raw.channels,
      permutations,
      config.tileFraction,
      config.normalizeTiles,
      rng,
    );
    let x: tf.Tensor4D = tf.tensor4d(tiles, [9 * raw.n, grid.tile, grid.tile, raw.channels]);
    if (config.resize) x = tf.image.resizeBilinear(x, [raw.height, raw.width]);
    return { tiles: x, y: tf.oneHot(tf.tensor1d(labels, 'int32'), config.permutations) };
  },
  loss: ({ encode, heads, batch }) => {
    const n = batch.y.shape[0]!;
    const f = encodePatches(encode, batch.tiles, 'jigsaw');
    // Rows 9i..9i+8 are puzzle i's slots in order: a reshape concatenates them slot by slot.
    const logits = heads.classifier.apply(f.reshape([n, -1])) as tf.Tensor2D;
    return tf.losses.softmaxCrossEntropy(batch.y, logits) as tf.Scalar;
  },
});
