import * as tf from '@tensorflow/tfjs';
import { SslError, l2NormalizeRows } from '@ssl/core';

/**
 * Triplet loss with margin (Schroff 2015, used by TCN and tracking): mean over rows of
 * max(0, ‖a−p‖² − ‖a−n‖² + margin). Pass L2-normalised embeddings for TCN's setting.
 *
 * @example
 * const loss = tripletLoss(anchor, positive, negative, 0.2); // each [N, D]
 */
export function tripletLoss(anchor: tf.Tensor2D, positive: tf.Tensor2D, negative: tf.Tensor2D, margin = 0.2): tf.Scalar {
  if (anchor.shape.join() !== positive.shape.join() || anchor.shape.join() !== negative.shape.join()) {
    throw new SslError(`tripletLoss: anchor [${anchor.shape}], positive [${positive.shape}] and negative [${negative.shape}] must have the same shape.`);
  }
  if (!(margin >= 0)) throw new SslError(`tripletLoss: margin ${margin} must be ≥ 0.`);
  return tf.tidy(() => {
    const dp = anchor.sub(positive).square().sum(1);
    const dn = anchor.sub(negative).square().sum(1);
    return dp.sub(dn).add(margin).relu().mean() as tf.Scalar;
  });
}

/**
 * InfoNCE over a candidate set: row i of `anchor` must pick candidate `target[i]` among all rows of
 * `candidates` by dot product / τ (cross-entropy). TCN's InfoNCE variant uses every positive and
 * negative of the batch as candidates.
 *
 * @example
 * const loss = candidateInfoNce(a, c, Int32Array.of(0, 1), 0.1); // a: [N, D], c: [M, D]
 */
export function candidateInfoNce(anchor: tf.Tensor2D, candidates: tf.Tensor2D, target: Int32Array, temperature = 0.1): tf.Scalar {
  if (target.length !== anchor.shape[0]) throw new SslError(`candidateInfoNce: ${target.length} targets for ${anchor.shape[0]} anchors.`);
  if (!(temperature > 0)) throw new SslError(`candidateInfoNce: temperature ${temperature} must be > 0.`);
  return tf.tidy(() => {
    const logits = anchor.matMul(candidates, false, true).div(temperature);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(target, 'int32'), candidates.shape[0]), logits) as tf.Scalar;
  });
}

/** Row L2 normalisation (the shared one from @ssl/core). */
export const l2Normalize = (x: tf.Tensor2D): tf.Tensor2D => l2NormalizeRows(x);
