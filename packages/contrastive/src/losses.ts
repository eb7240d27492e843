import * as tf from '@tensorflow/tfjs';
import { SslError, l2NormalizeRows as l2Normalize } from '@ssl/core';
import { detach } from './momentum';

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
    const logits = z
      .matMul(z, false, true)
      .div(temperature)
      .sub(tf.eye(2 * n).mul(1e9));
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

function sameShape(name: string, a: tf.Tensor, b: tf.Tensor): void {
  if (a.rank !== 2 || a.shape.join() !== b.shape.join()) {
    throw new SslError(`${name} needs two [N, D] inputs of the same shape, got [${a.shape}] and [${b.shape}].`);
  }
}

/**
 * Row-wise cosine similarity of two [N, D] tensors, averaged over the rows.
 *
 * @example
 * meanCosine(p, z); // scalar in [−1, 1]
 */
export function meanCosine(a: tf.Tensor2D, b: tf.Tensor2D): tf.Scalar {
  sameShape('meanCosine', a, b);
  return tf.tidy(() => l2Normalize(a).mul(l2Normalize(b)).sum(1).mean() as tf.Scalar);
}

/**
 * BYOL's normalised MSE for one direction: mean over rows of ‖p/‖p‖ − z/‖z‖‖² = 2 − 2·cos(p, z).
 * Symmetrise by adding the swapped-view term; detach `z` (the target's projection) first.
 *
 * @example
 * const loss = byolLoss(p1, detach(zt2)).add(byolLoss(p2, detach(zt1)));
 */
export function byolLoss(p: tf.Tensor2D, z: tf.Tensor2D): tf.Scalar {
  sameShape('byolLoss', p, z);
  return tf.tidy(() => tf.scalar(2).sub(meanCosine(p, z).mul(2)) as tf.Scalar);
}

/**
 * Batch standardisation of each column (mean 0, biased std 1 over the batch), as a batch-norm
 * layer without affine parameters: (z − mean) / √(var + ε).
 *
 * @example
 * const zn = standardizeColumns(z); // [N, D]
 */
export function standardizeColumns(z: tf.Tensor2D, epsilon = 1e-5): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(z, 0, true);
    return z.sub(mean).div(variance.add(epsilon).sqrt()) as tf.Tensor2D;
  });
}

/**
 * Barlow Twins' cross-correlation C = z̃1ᵀ z̃2 / N of the batch-standardised embeddings, [D, D].
 *
 * @example
 * const c = crossCorrelation(z1, z2); // C_ij ∈ [−1, 1]
 */
export function crossCorrelation(z1: tf.Tensor2D, z2: tf.Tensor2D): tf.Tensor2D {
  sameShape('crossCorrelation', z1, z2);
  return tf.tidy(() => standardizeColumns(z1).matMul(standardizeColumns(z2), true, false).div(z1.shape[0]) as tf.Tensor2D);
}

/**
 * Barlow Twins loss: Σ_i (1 − C_ii)² + λ Σ_{i≠j} C_ij² on the cross-correlation of the two views.
 *
 * @example
 * const loss = barlowTwinsLoss(z1, z2, 5e-3);
 */
export function barlowTwinsLoss(z1: tf.Tensor2D, z2: tf.Tensor2D, lambda: number): tf.Scalar {
  if (!(lambda >= 0)) throw new SslError(`barlowTwinsLoss lambda must be ≥ 0, got ${lambda}.`);
  return tf.tidy(() => {
    const c = crossCorrelation(z1, z2);
    const eye = tf.eye(c.shape[0]);
    const onDiag = tf.scalar(1).sub(c.mul(eye).sum(1)).square().sum();
    const offDiag = c.mul(tf.scalar(1).sub(eye)).square().sum();
    return onDiag.add(offDiag.mul(lambda)) as tf.Scalar;
  });
}

/** The three VICReg terms (unweighted) and their weighted sum. */
export interface VicregTerms {
  /** Mean squared error between the two views' embeddings. */
  invariance: tf.Scalar;
  /** Mean over dimensions of relu(γ − √(Var + ε)), averaged over the two views (γ = 1). */
  variance: tf.Scalar;
  /** Σ_{i≠j} Cov_ij² / D, summed over the two views (unbiased covariance). */
  covariance: tf.Scalar;
  /** λ·invariance + μ·variance + ν·covariance. */
  loss: tf.Scalar;
}

/**
 * VICReg (Bardes et al. 2022): weights λ = 25 (invariance), μ = 25 (variance), ν = 1 (covariance),
 * variance hinge at std 1 with ε = 1e-4.
 *
 * @example
 * const { loss } = vicregTerms(z1, z2);
 */
export function vicregTerms(
  z1: tf.Tensor2D,
  z2: tf.Tensor2D,
  weights: { invariance?: number; variance?: number; covariance?: number } = {},
  epsilon = 1e-4,
): VicregTerms {
  sameShape('vicregTerms', z1, z2);
  const [n, d] = z1.shape;
  if (n < 2) throw new SslError(`vicregTerms needs at least 2 rows for a variance, got ${n}. Use a batch size ≥ 2.`);
  return tf.tidy(() => {
    const invariance = tf.losses.meanSquaredError(z1, z2) as tf.Scalar;
    const eye = tf.eye(d);
    const perView = (z: tf.Tensor2D) => {
      const c = z.sub(z.mean(0, true));
      const cov = c.matMul(c, true, false).div(n - 1);
      const std = cov.mul(eye).sum(1).add(epsilon).sqrt();
      return { hinge: tf.relu(tf.scalar(1).sub(std)).mean(), off: cov.mul(tf.scalar(1).sub(eye)).square().sum().div(d) };
    };
    const a = perView(z1);
    const b = perView(z2);
    const variance = a.hinge.add(b.hinge).div(2) as tf.Scalar;
    const covariance = a.off.add(b.off) as tf.Scalar;
    const loss = invariance
      .mul(weights.invariance ?? 25)
      .add(variance.mul(weights.variance ?? 25))
      .add(covariance.mul(weights.covariance ?? 1)) as tf.Scalar;
    return { invariance, variance, covariance, loss };
  });
}

/**
 * Sinkhorn-Knopp codes (SwAV): Q = exp(scores/ε) as [K, B], alternately scaled so that the
 * prototypes (rows) each hold mass 1/K and the samples (columns) 1/B, `iterations` times; returned
 * as [B, K] with each sample's row summing to 1 (the prototype marginals are then ≈ uniform).
 * No gradient flows through it.
 *
 * @example
 * const q = sinkhornKnopp(scores, 0.05, 3); // scores [B, K] → codes [B, K]
 */
export function sinkhornKnopp(scores: tf.Tensor2D, epsilon = 0.05, iterations = 3): tf.Tensor2D {
  if (!(epsilon > 0)) throw new SslError(`sinkhornKnopp epsilon must be > 0, got ${epsilon}.`);
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new SslError(`sinkhornKnopp iterations must be an integer ≥ 1, got ${iterations}.`);
  return tf.tidy(() => {
    const [b, k] = scores.shape;
    const s = detach(scores);
    // Subtracting the global max changes nothing after the first normalisation and avoids overflow.
    let q = tf.exp(s.sub(s.max()).div(epsilon)).transpose() as tf.Tensor2D; // [K, B]
    q = q.div(q.sum());
    for (let i = 0; i < iterations; i++) {
      q = q.div(q.sum(1, true)).div(k);
      q = q.div(q.sum(0, true)).div(b);
    }
    return q.mul(b).transpose() as tf.Tensor2D;
  });
}

/**
 * Swapped-prediction cross-entropy: −mean_b Σ_k q_bk · log softmax(scores_b / τ)_k, the codes of
 * one view predicted from the prototype scores of another (SwAV, τ = 0.1).
 *
 * @example
 * const loss = swappedPrediction(q1, scores2, 0.1).add(swappedPrediction(q2, scores1, 0.1)).div(2);
 */
export function swappedPrediction(codes: tf.Tensor2D, scores: tf.Tensor2D, temperature = 0.1): tf.Scalar {
  sameShape('swappedPrediction', codes, scores);
  if (!(temperature > 0)) throw new SslError(`swappedPrediction temperature must be > 0, got ${temperature}.`);
  return tf.tidy(
    () =>
      codes
        .mul(tf.logSoftmax(scores.div(temperature), -1))
        .sum(1)
        .mean()
        .neg() as tf.Scalar,
  );
}

/**
 * DINO's loss: the teacher's outputs are centred and sharpened, softmax((t − c)/τ_t), the student's
 * log-softmax(s/τ_s), and the cross-entropy is averaged over every (teacher view i, student view v)
 * pair with v ≠ i. Teacher views are the first entries of `student` (the global views).
 *
 * @example
 * const loss = dinoLoss([s1, s2, ...sLocal], [t1, t2], center, 0.1, 0.04);
 */
export function dinoLoss(student: tf.Tensor2D[], teacher: tf.Tensor2D[], center: tf.Tensor, studentTemp = 0.1, teacherTemp = 0.04): tf.Scalar {
  if (teacher.length < 1 || student.length < 2)
    throw new SslError(`dinoLoss needs ≥ 1 teacher and ≥ 2 student views, got ${teacher.length} and ${student.length}.`);
  if (!(studentTemp > 0 && teacherTemp > 0)) throw new SslError(`dinoLoss temperatures must be > 0, got τ_s ${studentTemp}, τ_t ${teacherTemp}.`);
  return tf.tidy(() => {
    const targets = teacher.map((t) => tf.softmax(t.sub(center).div(teacherTemp), -1));
    const logProbs = student.map((s) => tf.logSoftmax(s.div(studentTemp), -1));
    let total: tf.Tensor = tf.scalar(0);
    let pairs = 0;
    targets.forEach((q, i) =>
      logProbs.forEach((lp, v) => {
        if (v === i) return;
        total = total.add(q.mul(lp).sum(1).mean().neg());
        pairs++;
      }),
    );
    return total.div(pairs) as tf.Scalar;
  });
}
