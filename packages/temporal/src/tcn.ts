import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type Rng } from '@ssl/core';
import { unitShape } from '@ssl/data';
import { z } from 'zod';
import { candidateInfoNce, l2Normalize, tripletLoss } from './losses';
import { gatherUnits, unitCount } from './units';

/** Config of the time-contrastive network; defaults follow Sermanet et al. 2018 (margin 0.2, multi-view) except the loss (InfoNCE; see `loss`). */
export const tcnConfig = z
  .object({
    views: z
      .enum(['single', 'multi'])
      .default('multi')
      .describe(
        'single: positive = another frame within `window` of the anchor; multi: positive = the same frame seen by a second view (a fixed shift + blur)',
      ),
    loss: z
      .enum(['triplet', 'infonce'])
      .default('infonce')
      .describe(
        "triplet: the paper's loss with margin (on Moving MNIST it reaches 0 within an epoch and the probe falls below random init); infonce (default here): every positive and negative of the batch is a candidate, so other sequences' frames are negatives too",
      ),
    window: z.number().int().min(1).default(1).describe('single-view: positives are at most this many steps from the anchor'),
    negativeMargin: z.number().int().min(1).default(4).describe('negatives are at least this many steps from the anchor (same sequence)'),
    margin: z.number().min(0).default(0.2).describe('triplet margin on squared distances of L2-normalised embeddings'),
    temperature: z.number().positive().default(0.1).describe('InfoNCE temperature'),
    embeddingDim: z.number().int().min(2).max(1024).default(32).describe('size of the L2-normalised embedding head'),
    anchorsPerSequence: z.number().int().min(1).max(64).default(2).describe('triplets drawn from each sequence of a batch'),
    shift: z.number().int().min(0).max(16).default(3).describe('multi-view: pixel shift of the second view (images)'),
    chunk: z.number().int().min(1).max(1024).default(8).describe('time series: steps per encoder input'),
  })
  .strict();

/**
 * One triplet of time steps within a sequence.
 *
 * @example
 * const t: TcnTriplet = { seq: 0, anchor: 5, positive: 6, negative: 12 };
 */
export interface TcnTriplet {
  seq: number;
  anchor: number;
  positive: number;
  negative: number;
}

/**
 * Samples TCN triplets: for each sequence, anchors with a positive at distance 1..`window` (or the
 * same time when `window` is 0: the multi-view case) and a negative at distance ≥ `negativeMargin`.
 *
 * @example
 * const ts = sampleTcnTriplets(8, 20, 1, 4, 2, new Rng(0));
 */
export function sampleTcnTriplets(sequences: number, steps: number, window: number, negativeMargin: number, perSequence: number, rng: Rng): TcnTriplet[] {
  if (steps - 1 < negativeMargin)
    throw new SslError(`TCN: sequences have ${steps} steps, too few for negatives at distance ≥ ${negativeMargin}; lower negativeMargin below ${steps}.`);
  const out: TcnTriplet[] = [];
  for (let s = 0; s < sequences; s++) {
    for (let k = 0; k < perSequence; k++) {
      const anchor = rng.int(steps);
      let positive = anchor;
      if (window > 0) {
        const cands: number[] = [];
        for (let t = Math.max(0, anchor - window); t <= Math.min(steps - 1, anchor + window); t++) if (t !== anchor) cands.push(t);
        positive = cands[rng.int(cands.length)]!;
      }
      const negs: number[] = [];
      for (let t = 0; t < steps; t++) if (Math.abs(t - anchor) >= negativeMargin) negs.push(t);
      if (negs.length === 0) {
        k--;
        continue;
      }
      out.push({ seq: s, anchor, positive, negative: negs[rng.int(negs.length)]! });
    }
  }
  return out;
}

/**
 * The second view of multi-view TCN: images shifted by `shift` pixels down-right (zero fill) then
 * 3×3 box-blurred; series chunks smoothed by a 3-step moving average.
 *
 * @example
 * const v = secondView(frame, [64, 64, 1], 3);
 */
export function secondView(unit: Float32Array, shape: number[], shift: number): Float32Array {
  if (shape.length === 2) {
    const [len, f] = shape as [number, number];
    const out = new Float32Array(unit.length);
    for (let t = 0; t < len; t++) {
      for (let c = 0; c < f; c++) {
        let s = 0;
        let m = 0;
        for (let u = Math.max(0, t - 1); u <= Math.min(len - 1, t + 1); u++, m++) s += unit[u * f + c]!;
        out[t * f + c] = s / m;
      }
    }
    return out;
  }
  const [h, w, ch] = shape as [number, number, number];
  const shifted = new Float32Array(unit.length);
  for (let y = shift; y < h; y++)
    for (let x = shift; x < w; x++) for (let c = 0; c < ch; c++) shifted[(y * w + x) * ch + c] = unit[((y - shift) * w + x - shift) * ch + c]!;
  const out = new Float32Array(unit.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < ch; c++) {
        let s = 0;
        for (let dy = -1; dy <= 1; dy++)
          for (let dx = -1; dx <= 1; dx++) {
            const yy = y + dy;
            const xx = x + dx;
            if (yy >= 0 && yy < h && xx >= 0 && xx < w) s += shifted[(yy * w + xx) * ch + c]!;
          }
        out[(y * w + x) * ch + c] = s / 9;
      }
    }
  }
  return out;
}

/**
 * Time-contrastive network (Sermanet et al., ICRA 2018): embeddings of the same moment (another
 * view, or a nearby frame) are pulled together, frames of the same sequence far in time pushed
 * apart, with a triplet loss (or an InfoNCE variant). Teaches what changes over time, not the background.
 *
 * @example
 * const registry = createRegistry().use(tcnTask);
 */
export const tcnTask = definePretextTask({
  name: 'tcn',
  family: 'temporal',
  modality: 'sequence',
  encoderInputShape: (sample, config) => unitShape(sample, config.chunk),
  title: 'Time-contrastive network (TCN)',
  paper: 'Sermanet, Lynch, Chebotar, Hsu, Jang, Schaal, Levine. Time-Contrastive Networks: Self-Supervised Learning from Video. ICRA 2018',
  description:
    'Anchor frames are embedded (L2-normalised) next to a positive — the same moment seen by a second view (multi-view: a fixed shift + blur rendering) or a frame within a small window (single-view) — and a negative from the same sequence beyond a temporal margin; a triplet loss with margin (or InfoNCE) makes the embedding track what moves rather than what stays.',
  config: tcnConfig,
  trainDefaults: { epochs: 2, batchSize: 16, lr: 1e-3, optimizer: 'adam', limit: 600 },
  examplesPerInput: (c) => 3 * c.anchorsPerSequence,
  createHeads: ({ featureDim, config, seed }) => ({
    embed: tf.sequential({
      layers: [tf.layers.dense({ inputShape: [featureDim], units: config.embeddingDim, kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
    }),
  }),
  prepare: (raw, { config, rng }) => {
    const steps = unitCount(raw, config.chunk);
    const multi = config.views === 'multi';
    const ts = sampleTcnTriplets(raw.n, steps, multi ? 0 : config.window, config.negativeMargin, config.anchorsPerSequence, rng);
    const view = multi ? (u: Float32Array, shape: number[]) => secondView(u, shape, config.shift) : undefined;
    return {
      anchor: gatherUnits(
        raw,
        ts.map((t) => [t.seq, t.anchor] as const),
        config.chunk,
      ),
      positive: gatherUnits(
        raw,
        ts.map((t) => [t.seq, t.positive] as const),
        config.chunk,
        view,
      ),
      negative: gatherUnits(
        raw,
        ts.map((t) => [t.seq, t.negative] as const),
        config.chunk,
      ),
    };
  },
  loss: ({ encode, heads, batch, config }) => {
    const emb = (x: tf.Tensor) => l2Normalize(heads.embed.apply(encode(x)) as tf.Tensor2D);
    const a = emb(batch.anchor);
    const p = emb(batch.positive);
    const n = emb(batch.negative);
    if (config.loss === 'triplet') return tripletLoss(a, p, n, config.margin);
    const rows = a.shape[0];
    return candidateInfoNce(
      a,
      tf.concat([p, n], 0),
      Int32Array.from({ length: rows }, (_, i) => i),
      config.temperature,
    );
  },
});
