import * as tf from '@tensorflow/tfjs';
import { Optimizer, Rng } from '@ssl/core';
import { checkPair, type FeatureSet } from './features';

/** Options of {@link linearProbe}. */
export interface LinearProbeOptions {
  numClasses?: number;
  epochs?: number;
  lr?: number;
  weightDecay?: number;
  batchSize?: number;
  seed?: number;
}

/** What {@link linearProbe} returns. */
export interface ProbeResult {
  /** Test top-1 accuracy in [0, 1]. */
  accuracy: number;
  trainAccuracy: number;
  epochs: number;
}

function standardise(train: FeatureSet, rows: Float32Array, n: number): Float32Array {
  const d = train.dim;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < train.n; i++)
    for (let j = 0; j < d; j++) {
      const v = train.features[i * d + j]!;
      mean[j] = mean[j]! + v;
      sq[j] = sq[j]! + v * v;
    }
  const std = new Float64Array(d);
  for (let j = 0; j < d; j++) {
    mean[j] = mean[j]! / train.n;
    std[j] = Math.sqrt(Math.max(sq[j]! / train.n - mean[j]! ** 2, 0)) + 1e-6;
  }
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (rows[i * d + j]! - mean[j]!) / std[j]!;
  return out;
}

function accuracyOf(w: tf.Tensor2D, b: tf.Tensor1D, x: Float32Array, labels: Int32Array, dim: number): number {
  const pred = tf.tidy(() => tf.tensor2d(x, [labels.length, dim]).matMul(w).add(b).argMax(-1).dataSync());
  let ok = 0;
  for (let i = 0; i < labels.length; i++) if (pred[i] === labels[i]) ok++;
  return ok / labels.length;
}

/**
 * The linear probe: features of a frozen encoder, standardised with the train statistics,
 * then multinomial logistic regression trained with Adam on seeded mini-batches (weight
 * decay on W). Reports test top-1.
 *
 * @example
 * const { accuracy } = await linearProbe(trainFeatures, testFeatures, { epochs: 30 });
 */
export async function linearProbe(train: FeatureSet, test: FeatureSet, options: LinearProbeOptions = {}): Promise<ProbeResult> {
  const classes = checkPair(train, test, options.numClasses);
  const { epochs = 30, lr = 1e-2, weightDecay = 1e-4, batchSize = 256, seed = 0 } = options;
  const d = train.dim;
  const xTrain = standardise(train, train.features, train.n);
  const xTest = standardise(train, test.features, test.n);
  const w = tf.tidy(() => tf.variable(tf.zeros([d, classes]), true));
  const b = tf.tidy(() => tf.variable(tf.zeros([classes]), true));
  const opt = new Optimizer({ kind: 'adam', momentum: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }, [w, b]);
  const xAll = tf.tensor2d(xTrain, [train.n, d]);
  const yAll = tf.tidy(() => tf.oneHot(tf.tensor1d(train.labels!, 'int32'), classes));
  try {
    for (let e = 0; e < epochs; e++) {
      const order = Rng.derive(seed, 'probe', e).permutation(train.n);
      for (let s = 0; s < train.n; s += batchSize) {
        const idx = tf.tensor1d(order.subarray(s, s + batchSize), 'int32');
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => {
            const x = tf.gather(xAll, idx);
            const y = tf.gather(yAll, idx);
            const ce = tf.losses.softmaxCrossEntropy(y, x.matMul(w).add(b));
            return ce.add(w.square().sum().mul(weightDecay / 2)) as tf.Scalar;
          }, [w, b]);
          opt.apply([grads[w.name], grads[b.name]], lr);
          value.dispose();
        });
        idx.dispose();
      }
    }
    return {
      accuracy: accuracyOf(w as tf.Variable<tf.Rank.R2>, b as tf.Variable<tf.Rank.R1>, xTest, test.labels!, d),
      trainAccuracy: accuracyOf(w as tf.Variable<tf.Rank.R2>, b as tf.Variable<tf.Rank.R1>, xTrain, train.labels!, d),
      epochs,
    };
  } finally {
    tf.dispose([w, b, xAll, yAll]);
    opt.dispose();
  }
}
