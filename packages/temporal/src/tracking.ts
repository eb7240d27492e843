import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type Rng, type SequenceBatch, l2NormalizeRows } from '@ssl/core';
import { z } from 'zod';

/**
 * Config of tracking-based similarity; defaults follow Wang & Gupta 2015 (cosine distance,
 * margin 0.5, top-K = 4 hard negatives from the batch), with patch sizes and track lengths scaled
 * to 64×64 Moving MNIST clips of 20 frames.
 */
export const trackingConfig = z
  .object({
    patchSize: z
      .number()
      .int()
      .min(4)
      .max(512)
      .default(28)
      .describe('side in pixels of the square patches found by frame differencing and tracked (28 = one MNIST digit)'),
    patchesPerSequence: z
      .number()
      .int()
      .min(1)
      .max(8)
      .default(2)
      .describe('moving patches taken from each sequence (non-overlapping by at least half a patch)'),
    radius: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(6)
      .describe('tracker search radius in pixels per frame (normalised cross-correlation over a (2r+1)² window)'),
    minGap: z.number().int().min(1).default(5).describe('the positive is the patch tracked at least this many frames after the anchor'),
    maxGap: z.number().int().min(1).default(15).describe('... and at most this many frames after it (clipped to the sequence)'),
    margin: z.number().min(0).default(0.5).describe('ranking margin M on cosine distances: max(0, D(a, p) − D(a, n) + M)'),
    hardNegatives: z
      .number()
      .int()
      .min(1)
      .max(256)
      .default(4)
      .describe('K: per anchor, only the K negatives with the highest loss in the batch count (hard-negative mining)'),
    embeddingDim: z.number().int().min(2).max(4096).default(64).describe('size of the embedding head on the encoder features (distances are taken there)'),
  })
  .strict();

/**
 * Top-left corner of a square patch, in pixels.
 *
 * @example
 * const p: PatchPos = { y: 10, x: 20 };
 */
export interface PatchPos {
  y: number;
  x: number;
}

/**
 * A frame of a sequence as the tracker sees it: `data` holds `height * width * channels` floats (HWC).
 *
 * @example
 * const f: FrameView = { data: new Float32Array(64 * 64), height: 64, width: 64, channels: 1 };
 */
export interface FrameView {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * Finds the `count` squares of side `size` with the most motion between two frames by frame
 * differencing: motion at a pixel is |next − frame| · frame (summed over channels), i.e. the change
 * of the pixels the object covers in `frame`, so a patch sits on the object's position in `frame`
 * rather than between its two positions. Squares are picked greedily (each later one at least size/2
 * away in x or y from the earlier ones), then re-centred twice on the intensity centroid of `frame`
 * inside them.
 *
 * @example
 * const [p] = findMovingPatches(frame0, frame1, 28, 1); // p.y, p.x: top-left of the most moving 28×28 patch
 */
export function findMovingPatches(frame: FrameView, next: FrameView, size: number, count: number): PatchPos[] {
  const { height: h, width: w, channels: c } = frame;
  if (size > h || size > w) throw new SslError(`Tracking: patchSize ${size} is larger than the ${h}×${w} frames; use patchSize ≤ ${Math.min(h, w)}.`);
  // Integral image of the motion map, (h+1) × (w+1).
  const integ = new Float64Array((h + 1) * (w + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      let m = 0;
      for (let k = 0; k < c; k++) {
        const i = (y * w + x) * c + k;
        m += Math.abs(next.data[i]! - frame.data[i]!) * Math.abs(frame.data[i]!);
      }
      row += m;
      integ[(y + 1) * (w + 1) + x + 1] = integ[y * (w + 1) + x + 1]! + row;
    }
  }
  const boxSum = (y: number, x: number) =>
    integ[(y + size) * (w + 1) + x + size]! - integ[y * (w + 1) + x + size]! - integ[(y + size) * (w + 1) + x]! + integ[y * (w + 1) + x]!;
  // Re-centres a window on the intensity centroid of `frame` inside it (a window larger than the
  // object has many maxima, and motion alone is biased towards the object's trailing edge).
  const centre = (p: PatchPos): PatchPos => {
    let sy = 0;
    let sx = 0;
    let sm = 0;
    for (let y = p.y; y < p.y + size; y++) {
      for (let x = p.x; x < p.x + size; x++) {
        let m = 0;
        for (let k = 0; k < c; k++) m += Math.abs(frame.data[(y * w + x) * c + k]!);
        sy += m * y;
        sx += m * x;
        sm += m;
      }
    }
    if (sm <= 0) return p;
    const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, Math.round(v - (size - 1) / 2)));
    return { y: clamp(sy / sm, h - size), x: clamp(sx / sm, w - size) };
  };
  const out: PatchPos[] = [];
  for (let k = 0; k < count; k++) {
    let best: PatchPos | undefined;
    let bestM = -1;
    for (let y = 0; y + size <= h; y++) {
      for (let x = 0; x + size <= w; x++) {
        if (out.some((p) => Math.abs(p.y - y) < size / 2 && Math.abs(p.x - x) < size / 2)) continue;
        const m = boxSum(y, x);
        if (m > bestM) {
          bestM = m;
          best = { y, x };
        }
      }
    }
    // No room for another non-overlapping patch: reuse the most moving one.
    out.push(best ? centre(centre(best)) : out[0]!);
  }
  return out;
}

/**
 * Normalised cross-correlation between a template (`size`², HWC) and the patch of `frame` at (y, x):
 * Σ(P−P̄)(T−T̄) / √(Σ(P−P̄)² Σ(T−T̄)²), in [−1, 1]; 0 when either is constant.
 *
 * @example
 * const s = ncc(frame, 3, 4, template, 28); // 1 when the patch equals the template up to gain and offset
 */
export function ncc(frame: FrameView, y: number, x: number, template: Float32Array, size: number): number {
  const { width: w, channels: c } = frame;
  const n = size * size * c;
  let sp = 0;
  let st = 0;
  let spp = 0;
  let stt = 0;
  let spt = 0;
  for (let dy = 0; dy < size; dy++) {
    const rowStart = ((y + dy) * w + x) * c;
    const tStart = dy * size * c;
    for (let i = 0; i < size * c; i++) {
      const p = frame.data[rowStart + i]!;
      const t = template[tStart + i]!;
      sp += p;
      st += t;
      spp += p * p;
      stt += t * t;
      spt += p * t;
    }
  }
  const cov = spt - (sp * st) / n;
  const vp = spp - (sp * sp) / n;
  const vt = stt - (st * st) / n;
  return vp > 1e-9 && vt > 1e-9 ? cov / Math.sqrt(vp * vt) : 0;
}

/**
 * Copies the `size`² patch of `frame` at (y, x) (HWC, all channels).
 *
 * @example
 * const t = cropPatch(frame, 10, 12, 28); // 28 * 28 * channels floats
 */
export function cropPatch(frame: FrameView, y: number, x: number, size: number): Float32Array {
  const { width: w, channels: c } = frame;
  const out = new Float32Array(size * size * c);
  for (let dy = 0; dy < size; dy++) out.set(frame.data.subarray(((y + dy) * w + x) * c, ((y + dy) * w + x + size) * c), dy * size * c);
  return out;
}

/**
 * Tracks a patch through `frames` (the first holds it at `start`) by template matching: in each
 * next frame, the position within `radius` pixels of the previous one that maximises the sum of the
 * normalised cross-correlations with the first frame's patch (a fixed template: no drift) and with
 * the previous frame's patch (follows appearance changes such as a second object passing over).
 * Uses the pixels only: no ground truth.
 *
 * @example
 * const track = trackPatch([f0, f1, f2], { y: 5, x: 9 }, 28, 6); // track[2]: position in f2
 */
export function trackPatch(frames: readonly FrameView[], start: PatchPos, size: number, radius: number): PatchPos[] {
  const first = frames[0];
  if (!first) throw new SslError('trackPatch: pass at least one frame.');
  const template = cropPatch(first, start.y, start.x, size);
  const track: PatchPos[] = [start];
  for (let f = 1; f < frames.length; f++) {
    const frame = frames[f]!;
    const cur = track[f - 1]!;
    const last = cropPatch(frames[f - 1]!, cur.y, cur.x, size);
    let best = cur;
    let bestScore = -Infinity;
    for (let y = Math.max(0, cur.y - radius); y <= Math.min(frame.height - size, cur.y + radius); y++) {
      for (let x = Math.max(0, cur.x - radius); x <= Math.min(frame.width - size, cur.x + radius); x++) {
        const s = ncc(frame, y, x, template, size) + ncc(frame, y, x, last, size);
        // Ties go to the smaller move.
        if (
          s > bestScore + 1e-9 ||
          (Math.abs(s - bestScore) <= 1e-9 && Math.abs(y - cur.y) + Math.abs(x - cur.x) < Math.abs(best.y - cur.y) + Math.abs(best.x - cur.x))
        ) {
          bestScore = s;
          best = { y, x };
        }
      }
    }
    track.push(best);
  }
  return track;
}

/**
 * The encoder input for a patch: the patch at native scale, centred in an otherwise blank (zero)
 * frame of the encoder's input size. Keeping the scale matches what the probe sees (whole frames
 * with digits at their native 28 px), and the global average pooling of the convnet makes the blank
 * surround harmless. Writes into `out` at `offset`.
 *
 * @example
 * padPatchToFrame(cropPatch(frame, 3, 4, 28), 28, 64, 64, 1, out, 0); // patch at rows/cols 18..45
 */
export function padPatchToFrame(patch: Float32Array, size: number, height: number, width: number, channels: number, out: Float32Array, offset: number): void {
  const y0 = Math.floor((height - size) / 2);
  const x0 = Math.floor((width - size) / 2);
  out.fill(0, offset, offset + height * width * channels);
  for (let dy = 0; dy < size; dy++) out.set(patch.subarray(dy * size * channels, (dy + 1) * size * channels), offset + ((y0 + dy) * width + x0) * channels);
}

/**
 * One tracked pair: patch `patch` of sequence `seq`, found moving at frame `from`, followed to frame `to`.
 *
 * @example
 * const t: TrackedPair = { seq: 0, patch: 0, from: 2, to: 9, anchor: { y: 4, x: 5 }, positive: { y: 14, x: 9 } };
 */
export interface TrackedPair {
  seq: number;
  patch: number;
  from: number;
  to: number;
  anchor: PatchPos;
  positive: PatchPos;
}

/** The frames of sequence `seq` of a batch, as tracker views. */
function framesOf(raw: SequenceBatch, seq: number, from: number, to: number): FrameView[] {
  const [h, w, c] = raw.frameShape as [number, number, number];
  const size = h * w * c;
  const out: FrameView[] = [];
  for (let t = from; t <= to; t++) {
    const start = (seq * raw.length + t) * size;
    out.push({ data: raw.frames.subarray(start, start + size), height: h, width: w, channels: c });
  }
  return out;
}

/**
 * Builds the (anchor, positive) pairs of a batch: per sequence, a start frame s is drawn, the
 * `patchesPerSequence` most moving patches between frames s and s+1 are found by frame
 * differencing and tracked with {@link trackPatch} to frame s + gap (gap drawn in [minGap, maxGap]).
 *
 * @example
 * const pairs = sampleTrackedPairs(raw, trackingConfig.parse({}), new Rng(0));
 */
export function sampleTrackedPairs(raw: SequenceBatch, config: z.output<typeof trackingConfig>, rng: Rng): TrackedPair[] {
  if (raw.frameShape.length !== 3)
    throw new SslError(
      `Tracking needs video frames [height, width, channels]; got frames of shape [${raw.frameShape.join(', ')}]. Use a video dataset such as moving-mnist.`,
    );
  if (raw.length < 2) throw new SslError(`Tracking needs sequences of at least 2 frames; got ${raw.length}.`);
  const minGap = Math.min(config.minGap, raw.length - 1);
  const maxGap = Math.max(minGap, Math.min(config.maxGap, raw.length - 1));
  const out: TrackedPair[] = [];
  for (let s = 0; s < raw.n; s++) {
    const from = rng.int(raw.length - minGap);
    const to = from + minGap + rng.int(Math.min(maxGap, raw.length - 1 - from) - minGap + 1);
    const frames = framesOf(raw, s, from, to);
    const starts = findMovingPatches(frames[0]!, frames[1]!, config.patchSize, config.patchesPerSequence);
    starts.forEach((p, k) => {
      const track = trackPatch(frames, p, config.patchSize, config.radius);
      out.push({ seq: s, patch: k, from, to, anchor: p, positive: track.at(-1)! });
    });
  }
  return out;
}

/**
 * Triplet ranking loss with hard-negative mining (Wang & Gupta 2015): with D = 1 − cosine
 * similarity, each anchor i scores every allowed negative j with max(0, D(aᵢ, pᵢ) − D(aᵢ, nⱼ) + margin);
 * only its `k` highest-loss negatives (the hardest, i.e. the most similar) count, and the loss is the
 * mean over those. `allowed[i * M + j]` is 1 when candidate j may be a negative of anchor i.
 *
 * @example
 * const loss = hardNegativeTripletLoss(a, p, n, allowed, 4, 0.5); // a, p: [N, D], n: [M, D]
 */
export function hardNegativeTripletLoss(
  anchor: tf.Tensor2D,
  positive: tf.Tensor2D,
  negatives: tf.Tensor2D,
  allowed: Uint8Array,
  k: number,
  margin = 0.5,
): tf.Scalar {
  const [n, d] = anchor.shape;
  const m = negatives.shape[0];
  if (positive.shape[0] !== n || positive.shape[1] !== d || negatives.shape[1] !== d) {
    throw new SslError(
      `hardNegativeTripletLoss: anchor [${anchor.shape}], positive [${positive.shape}] and negatives [${negatives.shape}] must share the feature size, with one positive per anchor.`,
    );
  }
  if (allowed.length !== n * m) throw new SslError(`hardNegativeTripletLoss: allowed has ${allowed.length} entries; expected anchors × negatives = ${n * m}.`);
  if (!Number.isInteger(k) || k < 1) throw new SslError(`hardNegativeTripletLoss: k ${k} must be a whole number ≥ 1.`);
  if (!(margin >= 0)) throw new SslError(`hardNegativeTripletLoss: margin ${margin} must be ≥ 0.`);
  return tf.tidy(() => {
    const unit = (x: tf.Tensor2D) => l2NormalizeRows(x);
    const a = unit(anchor);
    const dPos = tf.scalar(1).sub(a.mul(unit(positive)).sum(1, true)); // [N, 1]
    const dNeg = tf.scalar(1).sub(a.matMul(unit(negatives), false, true)); // [N, M]
    const losses = dPos.sub(dNeg).add(margin).relu(); // [N, M]
    // Mining picks which terms count; the choice is data, not part of the gradient.
    const values = losses.dataSync();
    const select = new Float32Array(n * m);
    let picked = 0;
    for (let i = 0; i < n; i++) {
      const cands: number[] = [];
      for (let j = 0; j < m; j++) if (allowed[i * m + j]) cands.push(j);
      cands.sort((u, v) => values[i * m + v]! - values[i * m + u]! || u - v);
      for (const j of cands.slice(0, k)) select[i * m + j] = 1;
      picked += Math.min(k, cands.length);
    }
    if (picked === 0)
      throw new SslError('hardNegativeTripletLoss: no anchor has an allowed negative; a batch needs patches from at least two sequences (batchSize ≥ 2).');
    return losses
      .mul(tf.tensor2d(select, [n, m]))
      .sum()
      .div(picked) as tf.Scalar;
  });
}

/**
 * Tracking-based similarity (Wang & Gupta, ICCV 2015): patches that move (frame differencing) are
 * followed by a normalised-cross-correlation tracker; the first and the tracked patch must embed
 * closer (cosine distance) than the anchor and patches of other sequences, by a margin, with the
 * hardest K negatives of the batch. Patches enter the encoder at native scale, centred in a blank
 * frame of the encoder's input size (see {@link padPatchToFrame}).
 *
 * @example
 * const registry = createRegistry().use(trackingTask);
 */
export const trackingTask = definePretextTask({
  name: 'tracking',
  family: 'temporal',
  modality: 'sequence',
  title: 'Tracking-based similarity (Wang & Gupta)',
  paper: 'Wang, Gupta. Unsupervised Learning of Visual Representations using Videos. ICCV 2015',
  description:
    'Moving patches are found by frame differencing and tracked by normalised cross-correlation template matching; (first patch, tracked patch) pairs are pulled together and patches of other sequences pushed away by a triplet ranking loss on cosine distance with hard-negative mining (the K hardest negatives of the batch), so the encoder learns what stays the same about an object while it moves.',
  config: trackingConfig,
  trainDefaults: { epochs: 2, batchSize: 16, lr: 1e-3, optimizer: 'adam', limit: 600 },
  examplesPerInput: (c) => 2 * c.patchesPerSequence,
  createHeads: ({ featureDim, config, seed }) => ({
    embed: tf.sequential({
      layers: [tf.layers.dense({ inputShape: [featureDim], units: config.embeddingDim, kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
    }),
  }),
  prepare: (raw, { config, rng }) => {
    const pairs = sampleTrackedPairs(raw, config, rng);
    const [h, w, c] = raw.frameShape as [number, number, number];
    const size = h * w * c;
    const anchors = new Float32Array(pairs.length * size);
    const positives = new Float32Array(pairs.length * size);
    pairs.forEach((p, i) => {
      const [first] = framesOf(raw, p.seq, p.from, p.from);
      const [last] = framesOf(raw, p.seq, p.to, p.to);
      padPatchToFrame(cropPatch(first!, p.anchor.y, p.anchor.x, config.patchSize), config.patchSize, h, w, c, anchors, i * size);
      padPatchToFrame(cropPatch(last!, p.positive.y, p.positive.x, config.patchSize), config.patchSize, h, w, c, positives, i * size);
    });
    return {
      anchor: tf.tensor4d(anchors, [pairs.length, h, w, c]),
      positive: tf.tensor4d(positives, [pairs.length, h, w, c]),
      seq: tf.tensor1d(
        Int32Array.from(pairs, (p) => p.seq),
        'int32',
      ),
    };
  },
  loss: ({ encode, heads, batch, config }) => {
    const n = batch.anchor.shape[0];
    const emb = heads.embed.apply(encode(tf.concat([batch.anchor, batch.positive], 0))) as tf.Tensor2D;
    const a = emb.slice([0, 0], [n, -1]);
    const p = emb.slice([n, 0], [n, -1]);
    // Negatives: every anchor and tracked patch of the other sequences in the batch.
    const seq = batch.seq.dataSync();
    const allowed = new Uint8Array(n * 2 * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < 2 * n; j++) allowed[i * 2 * n + j] = seq[i] !== seq[j % n] ? 1 : 0;
    return hardNegativeTripletLoss(a, p, emb, allowed, config.hardNegatives, config.margin);
  },
});
