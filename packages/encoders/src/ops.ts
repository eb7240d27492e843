import * as tf from '@tensorflow/tfjs';

/**
 * a·b for 2-D tensors, with gradients dy·bᵀ and aᵀ·dy computed through explicit transposes: the
 * wasm backend's transposed-operand matmul (what tf.matMul's own gradient uses) is many times slower.
 *
 * @example
 * const logits = matMulPlainGrads(h, tf.transpose(table)); // [m, d] · [d, vocab]
 */
export const matMulPlainGrads = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const g = dy as tf.Tensor2D;
      const [as, bs] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(g, tf.transpose(bs)), tf.matMul(tf.transpose(as), g)];
    },
  };
}) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;
