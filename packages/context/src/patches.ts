import type * as tf from '@tensorflow/tfjs';
import { SslError } from '@ssl/core';

/**
 * Copies the `size`×`size` patch whose top-left corner is (`y0`, `x0`) out of image `index` of an
 * NHWC batch into `out` at float offset `outOffset` (exact copy, no interpolation).
 *
 * @example
 * const patch = new Float32Array(7 * 7);
 * cropPatch(images, 0, 28, 28, 1, 10, 10, 7, patch, 0); // the 7×7 patch at (10, 10) of image 0
 */
export function cropPatch(
  images: Float32Array,
  index: number,
  height: number,
  width: number,
  channels: number,
  y0: number,
  x0: number,
  size: number,
  out: Float32Array,
  outOffset: number,
): void {
  if (y0 < 0 || x0 < 0 || y0 + size > height || x0 + size > width) {
    throw new SslError(`cropPatch: a ${size}×${size} patch at (${y0}, ${x0}) does not fit in a ${height}×${width} image.`);
  }
  const base = index * height * width * channels;
  const row = size * channels;
  for (let y = 0; y < size; y++) {
    const src = base + ((y0 + y) * width + x0) * channels;
    out.set(images.subarray(src, src + row), outOffset + y * row);
  }
}

/**
 * Runs the shared encoder on patches smaller than the images it was built for. Convolutional
 * encoders with global pooling (convnet, resnet18) accept any spatial size; for the others the
 * error says to upsample the patches instead.
 *
 * @example
 * const f = encodePatches(encode, patches, 'relative-location'); // [n, featureDim]
 */
export function encodePatches(encode: (x: tf.Tensor) => tf.Tensor2D, patches: tf.Tensor4D, method: string): tf.Tensor2D {
  try {
    return encode(patches);
  } catch (e) {
    throw new SslError(
      `${method}: the encoder cannot run on ${patches.shape[1]}×${patches.shape[2]} patches (${(e as Error).message}). Use a fully convolutional encoder with global pooling (--encoder convnet or resnet18), or upsample the patches to the image size with --set resize=true.`,
    );
  }
}
