import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type Rng, type SequenceBatch, type TaskState } from '@ssl/core';
import { unitShape } from '@ssl/data';
import { z } from 'zod';
import { cropPatch, findMovingPatches, padPatchToFrame, type FrameView } from './tracking';
import { gatherUnits, motionAt, unitCount } from './units';

/**
 * Config of Shuffle and Learn; defaults follow Misra et al. 2016 (3-frame tuples, 5 candidate frames,
 * high-motion whole frames, a per-frame tower that keeps the spatial layout, as CaffeNet's
 * pool5→fc6→fc7 does: `grid`, `fc`). `crop` > 0 shows video tuples through one window on the moving
 * object instead (an experiment; see the README).
 */
export const shuffleLearnConfig = z
  .object({
    candidates: z.number().int().min(1).max(64).default(8).describe('random 5-frame windows scored per sequence; the one with the most motion is used'),
    minGap: z.number().int().min(1).default(1).describe('minimum steps between the 5 frames a<b<c<d<e (series: at least `chunk`, so chunks never overlap)'),
    hidden: z.number().int().min(0).max(4096).default(64).describe('hidden units of the order classifier on the concatenated features'),
    chunk: z.number().int().min(1).max(1024).default(8).describe('time series: steps per encoder input'),
    crop: z
      .number()
      .int()
      .min(0)
      .max(1024)
      .default(0)
      .describe(
        'video: side of one window, placed on the moving object of frame b (frame differencing), cut from all three frames and pasted centred in a blank frame; 0 = whole frames. A globally pooled encoder cannot see where a whole object is, but it does see which part of it a fixed window shows',
      ),
    grid: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(16)
      .describe(
        "convolutional encoders: the order classifier reads each frame's last encoder feature map average-pooled to grid×grid cells (capped at the map's size: 16 keeps the whole 16×16 map of 64×64 frames, as CaffeNet's pool5→fc6 tower of the paper keeps the layout), not the globally pooled features; 0 = the encoder's features",
      ),
    fc: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .default(128)
      .describe('grid > 0: units of the per-frame Dense-ReLU (fc6) on the pooled grid, shared by the three frames'),
  })
  .strict();

/**
 * One frame tuple and its label: 1 when `times` is in order (b, c, d), 0 when out of order
 * ((b, a, d) or (b, e, d)).
 *
 * @example
 * const t: OrderTuple = { seq: 0, times: [2, 5, 9], label: 1 };
 */
export interface OrderTuple {
  seq: number;
  times: [number, number, number];
  label: 0 | 1;
}

/**
 * The highest-motion of `candidates` random windows a<b<c<d<e (gaps ≥ `gap`, `slack` = usable steps − 1 − 4·gap)
 * of sequence `seq`, motion being the summed frame differences from a to e.
 *
 * @example
 * const [a, b, c, d, e] = highMotionWindow(raw, 0, 1, 1, 15, 8, new Rng(0));
 */
export function highMotionWindow(raw: SequenceBatch, seq: number, chunk: number, gap: number, slack: number, candidates: number, rng: Rng): number[] {
  let best: number[] = [];
  let bestMotion = -1;
  for (let c = 0; c < candidates; c++) {
    const offs = Array.from({ length: 5 }, () => rng.int(slack + 1)).sort((a, b) => a - b);
    const times = offs.map((o, i) => o + i * gap);
    let m = 0;
    for (let t = times[0]!; t < times[4]!; t++) m += motionAt(raw, seq, t, chunk);
    if (m > bestMotion) {
      bestMotion = m;
      best = times;
    }
  }
  return best;
}

/**
 * Samples Shuffle-and-Learn tuples: per sequence, the highest-motion of `candidates` random windows
 * a<b<c<d<e (gaps ≥ `gap`) gives one ordered tuple (b,c,d) and one shuffled tuple ((b,a,d) or
 * (b,e,d)), so every batch is exactly balanced.
 *
 * @example
 * const tuples = sampleOrderTuples(raw, 1, 1, 8, new Rng(0));
 */
export function sampleOrderTuples(raw: SequenceBatch, chunk: number, gap: number, candidates: number, rng: Rng): OrderTuple[] {
  const steps = unitCount(raw, chunk);
  const slack = steps - 1 - 4 * gap;
  if (slack < 0)
    throw new SslError(
      `Shuffle and Learn needs 5 frames ${gap} step(s) apart; sequences have ${steps} usable steps. Use longer sequences or a smaller minGap/chunk.`,
    );
  const out: OrderTuple[] = [];
  for (let s = 0; s < raw.n; s++) {
    const best = highMotionWindow(raw, s, chunk, gap, slack, candidates, rng);
    const [a, b, c, d, e] = best as [number, number, number, number, number];
    out.push({ seq: s, times: [b, c, d], label: 1 });
    out.push({ seq: s, times: rng.bernoulli(0.5) ? [b, a, d] : [b, e, d], label: 0 });
  }
  return out;
}

/**
 * Encoder inputs of video tuples seen through one window per tuple: the `crop`² square of the most
 * motion between frames b and b+1 (b is the first frame of every tuple, ordered or not, so the window
 * does not depend on the label), cut from each of the three frames and pasted centred in a blank frame.
 *
 * @example
 * const x = cropTuples(raw, sampleOrderTuples(raw, 1, 1, 8, new Rng(0)), 20); // [3 * tuples, h, w, c]
 */
export function cropTuples(raw: SequenceBatch, tuples: readonly OrderTuple[], crop: number): tf.Tensor4D {
  const [h, w, c] = raw.frameShape as [number, number, number];
  if (crop > h || crop > w)
    throw new SslError(`Shuffle and Learn: crop ${crop} is larger than the ${h}×${w} frames; use crop ≤ ${Math.min(h, w)} (0 = whole frames).`);
  const size = h * w * c;
  const frame = (seq: number, t: number): FrameView => ({
    data: raw.frames.subarray((seq * raw.length + t) * size, (seq * raw.length + t + 1) * size),
    height: h,
    width: w,
    channels: c,
  });
  const out = new Float32Array(tuples.length * 3 * size);
  tuples.forEach((tuple, k) => {
    const b = tuple.times[0];
    const [win] = findMovingPatches(frame(tuple.seq, b), frame(tuple.seq, Math.min(b + 1, raw.length - 1)), crop, 1);
    tuple.times.forEach((t, j) => padPatchToFrame(cropPatch(frame(tuple.seq, t), win!.y, win!.x, crop), crop, h, w, c, out, (3 * k + j) * size));
  });
  return tf.tensor4d(out, [tuples.length * 3, h, w, c]);
}

/** Shuffle and Learn's heads: the order classifier and, when it reads the grid, the per-frame tower. */
export interface ShuffleLearnHeads {
  classifier: tf.LayersModel;
  frame?: tf.LayersModel;
}

/** Shuffle and Learn's state: the encoder up to its last feature map (shares its weights), when the order classifier reads the grid. */
export interface ShuffleLearnState extends TaskState {
  trunk?: tf.LayersModel;
}

/**
 * The encoder up to its last spatial feature map (the last non-input layer with a [n, h, w, c] output
 * of more than one position), sharing its layers and weights; undefined for encoders without one (mlp).
 *
 * @example
 * const trunk = spatialTrunk(createConvNet({ inputShape: [64, 64, 1], seed: 0 })); // [n,64,64,1] → [n,16,16,128]
 */
export function spatialTrunk(encoder: tf.LayersModel): tf.LayersModel | undefined {
  const layer = lastSpatialLayer(encoder);
  return layer && tf.model({ inputs: encoder.inputs, outputs: layer.output as tf.SymbolicTensor });
}

/** The encoder's last non-input layer with a [n, h, w, c] output of more than one position, if any. */
function lastSpatialLayer(encoder: tf.LayersModel): tf.layers.Layer | undefined {
  for (let i = encoder.layers.length - 1; i >= 0; i--) {
    const layer = encoder.layers[i]!;
    const shape = layer.outputShape as Array<number | null>;
    if (layer.getClassName() !== 'InputLayer' && !Array.isArray(shape[0]) && shape.length === 4 && (shape[1] ?? 0) * (shape[2] ?? 0) > 1) return layer;
  }
  return undefined;
}

/**
 * The per-frame order tower on a [h, w, c] feature map: average pooling to `grid`×`grid` cells
 * (window = stride = ⌊side / grid⌋; a grid larger than the map keeps every position), flattened,
 * then a `fc`-unit Dense-ReLU.
 *
 * @example
 * const tower = gridTower([16, 16, 128], 4, 128, 0); // [n,16,16,128] → [n,128]
 */
export function gridTower(mapShape: number[], grid: number, fc: number, seed: number): tf.LayersModel {
  const [h, w] = mapShape as [number, number, number];
  if (!Number.isInteger(grid) || grid < 1)
    throw new SslError(`Shuffle and Learn: grid ${grid} must be an integer ≥ 1 for the tower (0 = no tower: the encoder's pooled features).`);
  const win: [number, number] = [Math.max(1, Math.floor(h / grid)), Math.max(1, Math.floor(w / grid))];
  return tf.sequential({
    layers: [
      tf.layers.averagePooling2d({ inputShape: mapShape, poolSize: win, strides: win }),
      tf.layers.flatten(),
      tf.layers.dense({ units: fc, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }),
    ],
  });
}

/**
 * Shuffle and Learn (Misra et al., ECCV 2016): a shared encoder embeds three frames of a
 * high-motion window; a classifier on their concatenated features tells whether they are in
 * temporal order. Ordering frames needs the pose/position of what moves, so with a convolutional
 * encoder the per-frame features come from its last feature map through a grid tower ({@link gridTower}).
 *
 * @example
 * const registry = createRegistry().use(shuffleLearnTask);
 */
export const shuffleLearnTask = definePretextTask({
  name: 'shuffle-learn',
  family: 'temporal',
  modality: 'sequence',
  encoderInputShape: (sample, config) => unitShape(sample, config.chunk),
  title: 'Shuffle and Learn (temporal order verification)',
  paper: 'Misra, Zitnick, Hebert. Shuffle and Learn: Unsupervised Learning using Temporal Order Verification. ECCV 2016',
  description:
    "From the highest-motion 5-frame window a<b<c<d<e of each sequence, the ordered tuple (b,c,d) and a shuffled one ((b,a,d) or (b,e,d)) are embedded by the shared encoder; a classifier on the three concatenated features predicts in order vs out of order (binary cross-entropy, balanced batches). With a convolutional encoder, each frame's features for the classifier are its last feature map average-pooled to a `grid`×`grid` grid and a shared Dense-ReLU (`fc`), so they say where things are (a globally pooled vector does not; the paper's CaffeNet tower keeps the layout the same way); the encoder itself, and so the probe, keeps its own pooling. With `crop` > 0, video frames are seen through one `crop`² window on the moving object of frame b, so the order shows as which part of the object is visible.",
  config: shuffleLearnConfig,
  // lr 3e-4: on Moving MNIST the order loss then falls (≈0.66 after 3 epochs); at 1e-3 a grid-pooled
  // encoder's order loss stayed at ln 2 (its output collapsed to a constant).
  trainDefaults: { epochs: 3, batchSize: 16, lr: 3e-4, optimizer: 'adam', limit: 600 },
  examplesPerInput: () => 6,
  createHeads: ({ featureDim, config, seed, encoder }) => {
    // Only the map's shape is needed here; createState builds the trunk model itself.
    const map = config.grid > 0 && encoder ? lastSpatialLayer(encoder) : undefined;
    const frame = map ? gridTower((map.outputShape as number[]).slice(1), config.grid, config.fc, seed + 2) : undefined;
    const d = frame ? config.fc : featureDim;
    const layers: tf.layers.Layer[] = [];
    if (config.hidden > 0)
      layers.push(tf.layers.dense({ inputShape: [3 * d], units: config.hidden, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }));
    layers.push(
      tf.layers.dense({
        ...(config.hidden > 0 ? {} : { inputShape: [3 * d] }),
        units: 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      }),
    );
    const classifier = tf.sequential({ layers });
    const heads: ShuffleLearnHeads = { classifier };
    if (frame) heads.frame = frame;
    return heads as ShuffleLearnHeads & Record<string, tf.LayersModel>;
  },
  // The trunk shares the encoder's layers, so there is nothing of its own to save or dispose.
  createState: ({ encoder, config }): ShuffleLearnState => ({
    ...(config.grid > 0 ? { trunk: spatialTrunk(encoder) } : {}),
    variables: () => [],
    dispose: () => {},
  }),
  prepare: (raw, { config, rng }) => {
    const gap = raw.frameShape.length === 1 ? Math.max(config.minGap, config.chunk) : config.minGap;
    const tuples = sampleOrderTuples(raw, config.chunk, gap, config.candidates, rng);
    const picks = tuples.flatMap((t) => t.times.map((time) => [t.seq, time] as const));
    return {
      x: raw.frameShape.length === 3 && config.crop > 0 ? cropTuples(raw, tuples, config.crop) : gatherUnits(raw, picks, config.chunk),
      y: tf.tensor2d(
        Float32Array.from(tuples, (t) => t.label),
        [tuples.length, 1],
      ),
    };
  },
  loss: ({ encode, heads, batch, state, training }) => {
    const f = state.trunk && heads.frame ? (heads.frame.apply(state.trunk.apply(batch.x, { training })) as tf.Tensor2D) : encode(batch.x);
    const m = batch.y.shape[0];
    const logits = heads.classifier.apply(f.reshape([m, 3 * f.shape[1]])) as tf.Tensor2D;
    return tf.losses.sigmoidCrossEntropy(batch.y, logits) as tf.Scalar;
  },
});
