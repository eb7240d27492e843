import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { l2NormalizeRows, parseWith } from '@ssl/core';
import type { FeatureSet } from './features';
import { checkLabelledPair } from './validate';

/**
 * Options of {@link knnClassify}; defaults are Wu et al. 2018's (k = 20, T = 0.07).
 *
 * @example
 * const opts: KnnOptions = { k: 20, temperature: 0.07 };
 */
export interface KnnOptions {
  /** Neighbours that vote; default 20 (capped at the train size). */
  k?: number;
  /** Vote weight is exp(sim / temperature); default 0.07. */
  temperature?: number;
  /** Number of classes; default 1 + the largest label. */
  numClasses?: number;
  /** Test rows per similarity block; default keeps a block near 16M floats (64 MB). */
  chunkSize?: number;
}

/**
 * What {@link knnClassify} returns.
 *
 * @example
 * const { accuracy, predictions }: KnnResult = await knnClassify(train, test);
 */
export interface KnnResult {
  /** Test top-1 accuracy in [0, 1]. */
  accuracy: number;
  /** Predicted class per test row. */
  predictions: Int32Array;
}

const knnOptions = z
  .object({
    k: z.number().int().min(1).default(20),
    temperature: z.number().positive().finite().default(0.07),
    numClasses: z.number().int().min(2).optional(),
    chunkSize: z.number().int().min(1).optional(),
  })
  .strict();

/**
 * Weighted kNN on frozen features (Wu et al. 2018): cosine similarity of L2-normalised rows, the
 * k most similar train rows vote with weight exp(sim / T); test rows go in chunks so memory stays bounded.
 *
 * @example
 * const { accuracy } = await knnClassify(trainFeatures, testFeatures, { k: 20, temperature: 0.07 });
 */
export async function knnClassify(train: FeatureSet, test: FeatureSet, options: KnnOptions = {}): Promise<KnnResult> {
  const opts = parseWith(knnOptions, options, 'kNN options');
  const { classes, trainLabels, testLabels } = checkLabelledPair(train, test, opts.numClasses);
  const k = Math.min(opts.k, train.n);
  const T = opts.temperature;
  const chunk = opts.chunkSize ?? Math.max(1, Math.min(1024, Math.floor(2 ** 24 / train.n)));
  // The bank is stored transposed ([dim, nTrain]): tfjs-wasm's matMul is ~5× slower with transposeB.
  const bankT = tf.tidy(() => l2NormalizeRows(tf.tensor2d(train.features, [train.n, train.dim])).transpose());
  const bankLabels = tf.tensor1d(trainLabels, 'int32');
  const predictions = new Int32Array(test.n);
  try {
    for (let s = 0; s < test.n; s += chunk) {
      const m = Math.min(chunk, test.n - s);
      const pred = tf.tidy(() => {
        const q = l2NormalizeRows(tf.tensor2d(test.features.subarray(s * test.dim, (s + m) * test.dim), [m, test.dim]));
        const { values, indices } = tf.topk(tf.matMul(q, bankT), k);
        // exp((sim − max sim)/T) is exp(sim/T) scaled by a per-row constant: same vote winner,
        // but no overflow for small T (e^{1/0.01} is beyond float32).
        const weights = tf.exp(tf.div(tf.sub(values, tf.max(values, 1, true)), T));
        const votes = tf.oneHot(tf.gather(bankLabels, indices.reshape([m * k])), classes).reshape([m, k, classes]);
        return tf.argMax(tf.sum(tf.mul(votes, weights.expandDims(2)), 1), 1);
      });
      try {
        predictions.set(await pred.data<'int32'>(), s);
      } finally {
        pred.dispose();
      }
    }
  } finally {
    tf.dispose([bankT, bankLabels]);
  }
  let correct = 0;
  for (let i = 0; i < test.n; i++) if (predictions[i] === testLabels[i]) correct++;
  return { accuracy: correct / test.n, predictions };
}
