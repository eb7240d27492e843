import * as tf from '@tensorflow/tfjs';

/**
 * Divides each row (the last axis) by its Euclidean norm; all-zero rows stay zero (the norm is
 * floored at 1e-12). The one L2 normalisation every loss, bank and kNN uses.
 *
 * @example
 * l2NormalizeRows(tf.tensor2d([[3, 4]])); // [[0.6, 0.8]]
 */
export function l2NormalizeRows<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.norm(x, 'euclidean', -1, true), 1e-12)) as T);
}
