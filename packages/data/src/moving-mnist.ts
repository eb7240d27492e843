import { Rng, SslError } from '@ssl/core';
import type { ImageDataset } from './dataset';
import { SequenceDataset } from './sequence';

/**
 * Options of {@link createMovingMnist}; defaults are Srivastava et al. (2015)'s.
 *
 * @example
 * const o: MovingMnistOptions = { size: 1000, seed: 1 };
 */
export interface MovingMnistOptions {
  /** Number of sequences. */
  size: number;
  /** Seed: the same seed and index always give the same sequence. */
  seed?: number;
  /** Frame side in pixels (default 64). */
  canvas?: number;
  /** Digits per sequence (default 2). */
  digits?: number;
  /** Frames per sequence (default 20). */
  length?: number;
  /** Step per frame, as a fraction of the free range (default 0.1). */
  step?: number;
}

/**
 * Where the digits of one Moving MNIST sequence are, for evaluation only (never for pretext tasks).
 *
 * @example
 * const t = mm.trajectory(0); // t.positions[(f * digits + d) * 2] is digit d's top-left row in frame f
 */
export interface MovingMnistTrajectory {
  /** Class label of each digit. */
  labels: number[];
  /** MNIST index of each digit. */
  sources: number[];
  /** `length * digits * 2` integers: top-left (row, col) of each digit in each frame. */
  positions: Int32Array;
}

/**
 * A seeded Moving MNIST generator: digits of `mnist` (28×28) bouncing in a `canvas`² frame, moving
 * `step` of the free range per frame in a random direction, reflected at the borders, combined by
 * pixel-wise max. Sequences are generated lazily from (seed, index), so memory stays small.
 * `frameLabels` holds, per frame, the bitmask of digit classes present (bit d for digit d).
 *
 * @example
 * const mm = createMovingMnist(loadMnist('train', { limit: 2000 }), { size: 500, seed: 0 });
 * const clip = mm.batch(Int32Array.of(0), new Rng(0)); // clip.frames: 20 × 64 × 64 × 1
 */
export class MovingMnist extends SequenceDataset {
  readonly canvas: number;
  readonly digits: number;
  readonly step: number;
  readonly seed: number;
  private readonly mnist: ImageDataset;

  constructor(mnist: ImageDataset, opts: MovingMnistOptions) {
    const canvas = opts.canvas ?? 64;
    const digits = opts.digits ?? 2;
    const length = opts.length ?? 20;
    const step = opts.step ?? 0.1;
    if (mnist.channels !== 1 || mnist.height > canvas || mnist.width > canvas)
      throw new SslError(
        `Moving MNIST needs single-channel digits no larger than the canvas (${canvas}); got ${mnist.height}×${mnist.width}×${mnist.channels}.`,
      );
    if (!Number.isInteger(digits) || digits < 1) throw new SslError(`Moving MNIST: digits ${digits} must be a whole number ≥ 1.`);
    if (!(step > 0 && step <= 1)) throw new SslError(`Moving MNIST: step ${step} must be in (0, 1].`);
    super({
      size: opts.size,
      length,
      frameShape: [canvas, canvas, 1],
      hasFrameLabels: mnist.labels !== undefined,
      fill: (i, out, fl) => this.render(i, out, fl),
      name: 'moving-mnist',
    });
    this.mnist = mnist;
    this.canvas = canvas;
    this.digits = digits;
    this.step = step;
    this.seed = opts.seed ?? 0;
  }

  /** The digits and their per-frame positions of sequence `i` (evaluation only). */
  trajectory(i: number): MovingMnistTrajectory {
    const rng = new Rng(`moving-mnist:${this.seed}:${i}`);
    const { height: h, width: w } = this.mnist;
    const rangeY = this.canvas - h;
    const rangeX = this.canvas - w;
    const sources: number[] = [];
    const positions = new Int32Array(this.length * this.digits * 2);
    for (let d = 0; d < this.digits; d++) {
      sources.push(rng.int(this.mnist.size));
      let y = rng.float();
      let x = rng.float();
      const theta = rng.uniform(0, 2 * Math.PI);
      let vy = Math.sin(theta) * this.step;
      let vx = Math.cos(theta) * this.step;
      for (let f = 0; f < this.length; f++) {
        positions[(f * this.digits + d) * 2] = Math.round(y * rangeY);
        positions[(f * this.digits + d) * 2 + 1] = Math.round(x * rangeX);
        [y, vy] = reflect(y + vy, vy);
        [x, vx] = reflect(x + vx, vx);
      }
    }
    return { labels: sources.map((s) => this.mnist.labels?.[s] ?? -1), sources, positions };
  }

  private render(i: number, out: Float32Array, frameLabels?: Int32Array): void {
    const t = this.trajectory(i);
    const { height: h, width: w, pixels } = this.mnist;
    const c = this.canvas;
    out.fill(0);
    for (let f = 0; f < this.length; f++) {
      const base = f * c * c;
      for (let d = 0; d < this.digits; d++) {
        const y0 = t.positions[(f * this.digits + d) * 2]!;
        const x0 = t.positions[(f * this.digits + d) * 2 + 1]!;
        const src = t.sources[d]! * h * w;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const v = pixels[src + y * w + x]! / 255;
            const o = base + (y0 + y) * c + x0 + x;
            if (v > out[o]!) out[o] = v;
          }
        }
      }
      if (frameLabels) frameLabels[f] = t.labels.reduce((m, l) => m | (1 << l), 0);
    }
  }
}

/** Reflects a coordinate in [0, 1] off the borders, flipping the velocity when it bounces. */
function reflect(p: number, v: number): [number, number] {
  if (p < 0) return [-p, -v];
  if (p > 1) return [2 - p, -v];
  return [p, v];
}

/**
 * Builds a {@link MovingMnist} dataset from MNIST digits.
 *
 * @example
 * const mm = createMovingMnist(loadMnist('test', { limit: 1000 }), { size: 200, seed: 3 });
 */
export function createMovingMnist(mnist: ImageDataset, opts: MovingMnistOptions): MovingMnist {
  return new MovingMnist(mnist, opts);
}
