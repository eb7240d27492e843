import * as tf from '@tensorflow/tfjs';
import { checkPair, type FeatureSet } from './features';

/**
 * Weighted kNN on frozen features (Wu et al. 2018): cosine similarity on L2-normalised
 * features, the k nearest training rows vote with weight exp(sim / T). Test rows are
 * processed in chunks so memory stays bounded.
 *
 * @example
 * const { accuracy } = await knnClassify(trainFeatures, testFeatures, { k: 20, temperature: 0.07 });
 */
export async function knnClassify(
  train: FeatureSet,
  test: FeatureSet,
  options: { k?: number; temperature?: number; numClasses?: number; chunk?: number } = {},
): Promise<{ accuracy: number; predictions: Int32Array }> {
  const classes = checkPair(train, test, options.numClasses);
  const k = Math.min(options.k ?? 20, train.n);
  const t = options.temperature ?? 0.07;
  const chunk = options.chunk ?? 512;
  const bank = tf.tidy(() => tf.tensor2d(train.features, [train.n, train.dim]).div(tf.tensor2d(train.features, [train.n, train.dim]).norm('euclidean', 1, true).add(1e-12)));
  const trainLabels = tf.tensor1d(train.labels!, 'int32');
  const predictions = new Int32Array(test.n);
  try {
    for (let s = 0; s < test.n; s += chunk) {
      const m = Math.min(chunk, test.n - s);
      const pred = tf.tidy(() => {
        const q = tf.tensor2d(test.features.subarray(s * test.dim, (s + m) * test.dim), [m, test.dim]);
        const qn = q.div(q.norm('euclidean', 1, true).add(1e-12));
        const sims = qn.matMul(bank, false, true);
        const { values, indices } = tf.topk(sims, k);
        const weights = values.div(t).exp();
        const votes = tf.oneHot(tf.gather(trainLabels, indices.flatten()), classes).reshape([m, k, classes]);
        return votes.mul(weights.expandDims(2)).sum(1).argMax(-1);
      });
      predictions.set(await pred.data(), s);
      pred.dispose();
    }
  } finally {
    tf.dispose([bank, trainLabels]);
  }
  let ok = 0;
  for (let i = 0; i < test.n; i++) if (predictions[i] === test.labels![i]) ok++;
  return { accuracy: ok / test.n, predictions };
}
