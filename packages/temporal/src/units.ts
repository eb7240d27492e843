import * as tf from '@tensorflow/tfjs';
import { SslError, type SequenceBatch } from '@ssl/core';
import { unitShape } from '@ssl/data';

export { unitShape };

/**
 * How many time steps of a sequence have a full unit (frames, or chunk start positions).
 *
 * @example
 * unitCount({ length: 64, frameShape: [2] } as SequenceBatch, 16); // 49
 */
export function unitCount(raw: Pick<SequenceBatch, 'length' | 'frameShape'>, chunk: number): number {
  const n = raw.frameShape.length === 1 ? raw.length - chunk + 1 : raw.length;
  if (n < 1) throw new SslError(`Sequences of ${raw.length} steps are shorter than chunk ${chunk}; use a smaller chunk or longer windows.`);
  return n;
}

/**
 * Copies the unit of sequence `seq` at time `t` into `out` at `offset` (frames are contiguous, so a
 * chunk of a series is a contiguous slice too).
 *
 * @example
 * copyUnit(raw, 0, 3, 1, out, 0);
 */
export function copyUnit(raw: SequenceBatch, seq: number, t: number, chunk: number, out: Float32Array, offset: number): void {
  const frameSize = raw.frameShape.reduce((a, b) => a * b, 1);
  const span = raw.frameShape.length === 1 ? chunk : 1;
  const start = (seq * raw.length + t) * frameSize;
  out.set(raw.frames.subarray(start, start + span * frameSize), offset);
}

/**
 * Stacks units given as (sequence, time) pairs into one encoder input tensor.
 *
 * @example
 * const x = gatherUnits(raw, [[0, 1], [0, 5]], 1); // [2, 64, 64, 1]
 */
export function gatherUnits(
  raw: SequenceBatch,
  picks: ReadonlyArray<readonly [number, number]>,
  chunk: number,
  transform?: (unit: Float32Array, shape: number[]) => Float32Array,
): tf.Tensor {
  const shape = unitShape(raw.frameShape, chunk);
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(picks.length * size);
  const tmp = new Float32Array(size);
  picks.forEach(([s, t], k) => {
    if (transform) {
      copyUnit(raw, s, t, chunk, tmp, 0);
      out.set(transform(tmp, shape), k * size);
    } else copyUnit(raw, s, t, chunk, out, k * size);
  });
  return tf.tensor(out, [picks.length, ...shape]);
}

/**
 * Mean absolute difference between the units at t and t+1 of a sequence: the motion used to pick
 * high-motion windows.
 *
 * @example
 * const m = motionAt(raw, 0, 4, 1);
 */
export function motionAt(raw: SequenceBatch, seq: number, t: number, chunk: number): number {
  const frameSize = raw.frameShape.reduce((a, b) => a * b, 1);
  const span = (raw.frameShape.length === 1 ? chunk : 1) * frameSize;
  const a = (seq * raw.length + t) * frameSize;
  const b = a + frameSize;
  let sum = 0;
  for (let i = 0; i < span; i++) sum += Math.abs(raw.frames[b + i]! - raw.frames[a + i]!);
  return sum / span;
}
