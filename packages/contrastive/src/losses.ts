import * as tf from '@tensorflow/tfjs';
import { SslError, l2NormalizeRows as l2Normalize } from '@ssl/core';


/**
 * NT-Xent (SimCLR): the two views of N examples give 2N anchors; for each, its other view is
 * the positive and the remaining 2N−2 embeddings are negatives; cosine similarity / τ,
 * cross-entropy averaged over all 2N anchors. Symmetric in the two views.
 *
 * @example
 * const loss = ntXentLoss(z1, z2, 0.5); // z1, z2: [N, D]
 */
export function ntXentLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, temperature = 0.5): tf.Scalar {
  if (z1.shape[0] !== z2.shape[0] || z1.shape[1] !== z2.shape[1]) {
    throw new SslError(`ntXentLoss needs two views of the same shape, got [${z1.shape}] and [${z2.shape}].`);
  }
  if (!(temperature > 0)) throw new SslError(`ntXentLoss temperature must be > 0, got ${temperature}.`);
  return tf.tidy(() => {
    const n = z1.shape[0];
    const z = l2Normalize(tf.concat([z1, z2], 0));
    // A large negative on the diagonal removes self-similarity from the softmax.
    const logits = z.matMul(z, false, true).div(temperature).sub(tf.eye(2 * n).mul(1e9));
    const positives = tf.concat([tf.range(n, 2 * n, 1, 'int32'), tf.range(0, n, 1, 'int32')]);
    return tf.losses.softmaxCrossEntropy(tf.oneHot(positives, 2 * n), logits) as tf.Scalar;
  });
}

/**
 * InfoNCE (CPC / MoCo): for each query, the positive key against K negatives, scores / τ,
 * cross-entropy with the positive as the target. Negatives are per-query [N, K, D] or a shared
 * bank [K, D] (MoCo's queue, a memory bank). Vectors are L2-normalised first unless
 * `normalize: false` (use that for bilinear scores computed by the caller).
 *
 * @example
 * const loss = infoNCELoss(q, kPos, queue, 0.07); // q, kPos: [N, D]; queue: [K, D]
 */
export function infoNCELoss(
  query: tf.Tensor2D,
  positiveKey: tf.Tensor2D,
  negativeKeys: tf.Tensor2D | tf.Tensor3D,
  temperature = 0.07,
  options: { normalize?: boolean } = {},
): tf.Scalar {
  const [n, d] = query.shape;
  if (positiveKey.shape[0] !== n || positiveKey.shape[1] !== d) {
    throw new SslError(`infoNCELoss: positive keys [${positiveKey.shape}] must match queries [${query.shape}].`);
  }
  if (negativeKeys.shape.at(-1) !== d || (negativeKeys.rank === 3 && negativeKeys.shape[0] !== n)) {
    throw new SslError(`infoNCELoss: negatives must be [N, K, ${d}] or [K, ${d}], got [${negativeKeys.shape}].`);
  }
  if (!(temperature > 0)) throw new SslError(`infoNCELoss temperature must be > 0, got ${temperature}.`);
  return tf.tidy(() => {
    const norm = options.normalize ?? true;
    const q = norm ? l2Normalize(query) : query;
    const kp = norm ? l2Normalize(positiveKey) : positiveKey;
    const kn = norm ? l2Normalize(negativeKeys) : negativeKeys;
    const pos = q.mul(kp).sum(1, true);
    const neg = kn.rank === 2 ? q.matMul(kn as tf.Tensor2D, false, true) : tf.squeeze(tf.matMul(q.expandDims(1), kn as tf.Tensor3D, false, true), [1]);
    const logits = tf.concat([pos, neg], 1).div(temperature);
    // Target is column 0; log-softmax written out for numerical stability.
    return tf.neg(tf.mean(logits.slice([0, 0], [n, 1]).squeeze([1]).sub(tf.logSumExp(logits, 1)))) as tf.Scalar;
  });
}
