import * as tf from '@tensorflow/tfjs';

/**
 * Divides each row (the last axis) by its Euclidean norm; all-zero rows stay zero. Written as
 * x·rsqrt(max(‖x‖², 1e-24)) so its gradient stays finite at a zero row (tfjs's norm has a NaN
 * gradient there, which heads ending in a ReLU can hit). The one L2 normalisation every loss, bank
 * and kNN uses.
 *
 * @example
 * l2NormalizeRows(tf.tensor2d([[3, 4]])); // [[0.6, 0.8]]
 */
export function l2NormalizeRows<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.mul(x, tf.rsqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-24))) as T);
}
