import { SslError } from '@ssl/core';
import type { FeatureSet } from './features';

/**
 * Options of {@link multiLabelProbe}.
 *
 * @example
 * const o: MultiLabelProbeOptions = { labels: 10, epochs: 100, balance: true };
 */
export interface MultiLabelProbeOptions {
  /** Number of binary labels K; `FeatureSet.labels` holds each example's label set as a bitmask (bit k = label k). */
  labels: number;
  /** Full-batch gradient steps (default 200). */
  epochs?: number;
  /** Learning rate of the Adam steps (default 0.05). */
  lr?: number;
  /** L2 penalty on the weights (default 1e-4). */
  weightDecay?: number;
  /** Weight positives by negatives/positives per label, for rare labels (default false). */
  balance?: boolean;
}

/**
 * Scores of {@link multiLabelProbe} on the test set.
 *
 * @example
 * const { microF1, balancedAccuracy } = await multiLabelProbe(train, test, { labels: 10 });
 */
export interface MultiLabelProbeResult {
  /** Micro-averaged F1 over every (example, label) decision at threshold 0.5. */
  microF1: number;
  /** Mean over labels of the per-label accuracy. */
  meanAccuracy: number;
  /** Mean over labels of (true-positive rate + true-negative rate) / 2. */
  balancedAccuracy: number;
}

/**
 * A multi-label linear probe: K one-vs-rest logistic regressions on standardised frozen features
 * (full-batch Adam, plain JS), scored on the test set.
 *
 * @example
 * const r = await multiLabelProbe(trainFeatures, testFeatures, { labels: 10 }); // r.microF1
 */
export async function multiLabelProbe(train: FeatureSet, test: FeatureSet, options: MultiLabelProbeOptions): Promise<MultiLabelProbeResult> {
  const K = options.labels;
  if (!Number.isInteger(K) || K < 1 || K > 30) throw new SslError(`multiLabelProbe: labels ${K} must be a whole number in [1, 30].`);
  if (!train.labels || !test.labels) throw new SslError('multiLabelProbe needs label bitmasks on both the train and the test features.');
  if (train.dim !== test.dim) throw new SslError(`multiLabelProbe: train features have ${train.dim} dims, test ${test.dim}.`);
  const epochs = options.epochs ?? 200;
  const lr = options.lr ?? 0.05;
  const wd = options.weightDecay ?? 1e-4;
  const D = train.dim;
  const N = train.n;
  const mean = new Float64Array(D);
  const inv = new Float64Array(D);
  for (let i = 0; i < N; i++) for (let d = 0; d < D; d++) mean[d]! += train.features[i * D + d]! / N;
  for (let i = 0; i < N; i++) for (let d = 0; d < D; d++) inv[d]! += (train.features[i * D + d]! - mean[d]!) ** 2 / N;
  for (let d = 0; d < D; d++) inv[d] = 1 / Math.sqrt(inv[d]! + 1e-8);
  const std = (f: FeatureSet) => Float64Array.from(f.features, (v, j) => (v - mean[j % D]!) * inv[j % D]!);
  const xTrain = std(train);
  const xTest = std(test);
  const target = (labels: Int32Array, i: number, k: number) => ((labels[i]! >> k) & 1) as 0 | 1;

  const W = new Float64Array(K * (D + 1));
  const m = new Float64Array(W.length);
  const v = new Float64Array(W.length);
  const g = new Float64Array(W.length);
  const posWeight = new Float64Array(K).fill(1);
  if (options.balance) {
    for (let k = 0; k < K; k++) {
      let pos = 0;
      for (let i = 0; i < N; i++) pos += target(train.labels, i, k);
      posWeight[k] = pos > 0 ? (N - pos) / pos : 1;
    }
  }
  for (let t = 1; t <= epochs; t++) {
    g.fill(0);
    for (let k = 0; k < K; k++) {
      const w = k * (D + 1);
      let norm = 0;
      for (let i = 0; i < N; i++) norm += target(train.labels, i, k) ? posWeight[k]! : 1;
      for (let i = 0; i < N; i++) {
        let z = W[w + D]!;
        for (let d = 0; d < D; d++) z += W[w + d]! * xTrain[i * D + d]!;
        const y = target(train.labels, i, k);
        const err = ((1 / (1 + Math.exp(-z)) - y) * (y ? posWeight[k]! : 1)) / norm;
        for (let d = 0; d < D; d++) g[w + d]! += err * xTrain[i * D + d]!;
        g[w + D]! += err;
      }
      for (let d = 0; d < D; d++) g[w + d]! += wd * W[w + d]!;
    }
    for (let j = 0; j < W.length; j++) {
      m[j] = 0.9 * m[j]! + 0.1 * g[j]!;
      v[j] = 0.999 * v[j]! + 0.001 * g[j]! ** 2;
      W[j]! -= (lr * (m[j]! / (1 - 0.9 ** t))) / (Math.sqrt(v[j]! / (1 - 0.999 ** t)) + 1e-8);
    }
  }
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let acc = 0;
  let bal = 0;
  for (let k = 0; k < K; k++) {
    const w = k * (D + 1);
    let c = 0;
    let tpk = 0;
    let pk = 0;
    let tnk = 0;
    let nk = 0;
    for (let i = 0; i < test.n; i++) {
      let z = W[w + D]!;
      for (let d = 0; d < D; d++) z += W[w + d]! * xTest[i * D + d]!;
      const pred = z > 0 ? 1 : 0;
      const y = target(test.labels, i, k);
      if (pred === y) c++;
      if (y) {
        pk++;
        if (pred) tpk++;
        else fn++;
      } else {
        nk++;
        if (!pred) tnk++;
        else fp++;
      }
    }
    tp += tpk;
    acc += c / test.n;
    bal += ((pk ? tpk / pk : 1) + (nk ? tnk / nk : 1)) / 2;
  }
  return { microF1: tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn), meanAccuracy: acc / K, balancedAccuracy: bal / K };
}
