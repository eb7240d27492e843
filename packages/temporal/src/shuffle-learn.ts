import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type Rng, type SequenceBatch } from '@ssl/core';
import { z } from 'zod';
import { cropPatch, findMovingPatches, padPatchToFrame, type FrameView } from './tracking';
import { gatherUnits, motionAt, unitCount } from './units';

/**
 * Config of Shuffle and Learn; defaults follow Misra et al. 2016 (3-frame tuples, 5 candidate frames,
 * high-motion whole frames). `crop` > 0 shows video tuples through one window on the moving object
 * instead (an experiment: a globally pooled convnet cannot see where whole digits are; see the README).
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
      .describe('video: side of one window, placed on the moving object of frame b (frame differencing), cut from all three frames and pasted centred in a blank frame; 0 = whole frames. A globally pooled encoder cannot see where a whole object is, but it does see which part of it a fixed window shows'),
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
  if (slack < 0) throw new SslError(`Shuffle and Learn needs 5 frames ${gap} step(s) apart; sequences have ${steps} usable steps. Use longer sequences or a smaller minGap/chunk.`);
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
  if (crop > h || crop > w) throw new SslError(`Shuffle and Learn: crop ${crop} is larger than the ${h}×${w} frames; use crop ≤ ${Math.min(h, w)} (0 = whole frames).`);
  const size = h * w * c;
  const frame = (seq: number, t: number): FrameView => ({ data: raw.frames.subarray((seq * raw.length + t) * size, (seq * raw.length + t + 1) * size), height: h, width: w, channels: c });
  const out = new Float32Array(tuples.length * 3 * size);
  tuples.forEach((tuple, k) => {
    const b = tuple.times[0];
    const [win] = findMovingPatches(frame(tuple.seq, b), frame(tuple.seq, Math.min(b + 1, raw.length - 1)), crop, 1);
    tuple.times.forEach((t, j) => padPatchToFrame(cropPatch(frame(tuple.seq, t), win!.y, win!.x, crop), crop, h, w, c, out, (3 * k + j) * size));
  });
  return tf.tensor4d(out, [tuples.length * 3, h, w, c]);
}

/**
 * Shuffle and Learn (Misra et al., ECCV 2016): a shared encoder embeds three frames of a
 * high-motion window; a classifier on their concatenated features tells whether they are in
 * temporal order. Ordering frames needs the pose/position of what moves.
 *
 * @example
 * const registry = createRegistry().use(shuffleLearnTask);
 */
export const shuffleLearnTask = definePretextTask({
  name: 'shuffle-learn',
  family: 'temporal',
  modality: 'sequence',
  title: 'Shuffle and Learn (temporal order verification)',
  paper: 'Misra, Zitnick, Hebert. Shuffle and Learn: Unsupervised Learning using Temporal Order Verification. ECCV 2016',
  description:
    'From the highest-motion 5-frame window a<b<c<d<e of each sequence, the ordered tuple (b,c,d) and a shuffled one ((b,a,d) or (b,e,d)) are embedded by the shared encoder; a classifier on the three concatenated features predicts in order vs out of order (binary cross-entropy, balanced batches). With `crop` > 0, video frames are seen through one `crop`² window on the moving object of frame b, so the order shows as which part of the object is visible.',
  config: shuffleLearnConfig,
  trainDefaults: { epochs: 3, batchSize: 16, lr: 1e-3, optimizer: 'adam', limit: 600 },
  examplesPerInput: () => 6,
  createHeads: ({ featureDim, config, seed }) => {
    const layers: tf.layers.Layer[] = [];
    if (config.hidden > 0) layers.push(tf.layers.dense({ inputShape: [3 * featureDim], units: config.hidden, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }));
    layers.push(tf.layers.dense({ ...(config.hidden > 0 ? {} : { inputShape: [3 * featureDim] }), units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }));
    return { classifier: tf.sequential({ layers }) };
  },
  prepare: (raw, { config, rng }) => {
    const gap = raw.frameShape.length === 1 ? Math.max(config.minGap, config.chunk) : config.minGap;
    const tuples = sampleOrderTuples(raw, config.chunk, gap, config.candidates, rng);
    const picks = tuples.flatMap((t) => t.times.map((time) => [t.seq, time] as const));
    return {
      x: raw.frameShape.length === 3 && config.crop > 0 ? cropTuples(raw, tuples, config.crop) : gatherUnits(raw, picks, config.chunk),
      y: tf.tensor2d(Float32Array.from(tuples, (t) => t.label), [tuples.length, 1]),
    };
  },
  loss: ({ encode, heads, batch }) => {
    const f = encode(batch.x!);
    const m = batch.y!.shape[0];
    const logits = heads.classifier.apply(f.reshape([m, 3 * f.shape[1]])) as tf.Tensor2D;
    return tf.losses.sigmoidCrossEntropy(batch.y!, logits) as tf.Scalar;
  },
});
