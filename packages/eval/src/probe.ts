import { z } from 'zod';
import { Rng, parseWith } from '@ssl/core';
import type { FeatureSet } from './features';
import { checkLabelledPair } from './validate';

/**
 * Options of {@link linearProbe}; defaults follow the usual frozen-feature protocol.
 *
 * @example
 * const opts: LinearProbeOptions = { epochs: 100, lr: 1e-2, weightDecay: 1e-4, batchSize: 256, seed: 0 };
 */
export interface LinearProbeOptions {
  /** Number of classes; default 1 + the largest label. */
  numClasses?: number;
  /** Passes over the training features; default 100. */
  epochs?: number;
  /** Adam's peak learning rate, cosine-annealed to 0; default 1e-2. */
  lr?: number;
  /** L2 penalty on the weight matrix (not the bias); default 1e-4. */
  weightDecay?: number;
  /** Mini-batch size; default 256. */
  batchSize?: number;
  /** Seeds the mini-batch shuffling; default 0. */
  seed?: number;
}

/**
 * What {@link linearProbe} returns.
 *
 * @example
 * const { accuracy, trainAccuracy, epochs }: ProbeResult = await linearProbe(train, test);
 */
export interface ProbeResult {
  /** Test top-1 accuracy in [0, 1]. */
  accuracy: number;
  /** Top-1 on the training features (a large gap to `accuracy` means over-fitting). */
  trainAccuracy: number;
  /** Epochs trained. */
  epochs: number;
}

const probeOptions = z
  .object({
    numClasses: z.number().int().min(2).optional(),
    epochs: z.number().int().min(1).default(100),
    lr: z.number().positive().finite().default(1e-2),
    weightDecay: z.number().min(0).finite().default(1e-4),
    batchSize: z.number().int().min(1).default(256),
    seed: z.number().int().default(0),
  })
  .strict();

/**
 * The linear probe: frozen features standardised with the train mean/std, then multinomial
 * logistic regression (softmax) trained with Adam on seeded mini-batches, L2 weight decay on W;
 * reports test top-1.
 *
 * @example
 * const { accuracy } = await linearProbe(trainFeatures, testFeatures, { epochs: 100, seed: 0 });
 */
export async function linearProbe(train: FeatureSet, test: FeatureSet, options: LinearProbeOptions = {}): Promise<ProbeResult> {
  const { numClasses, epochs, lr, weightDecay, batchSize, seed } = parseWith(probeOptions, options, 'linear probe options');
  const { classes: C, trainLabels, testLabels } = checkLabelledPair(train, test, numClasses);
  const D = train.dim;
  const N = train.n;
  const { mean, invStd } = columnStats(train);
  const xTrain = standardise(train.features, N, D, mean, invStd);
  const xTest = standardise(test.features, test.n, D, mean, invStd);

  // Plain JS rather than tfjs: with ~20 tiny ops per step, tfjs's per-op overhead (wasm) made an epoch
  // of 60k×128 take ~0.4–1 s; these fused loops take ~0.15 s and give the same result on every backend.
  // W is class-major (C rows of D) so both the logits and the gradient walk contiguous memory.
  const W = new Float64Array(C * D);
  const bias = new Float64Array(C);
  const gW = new Float64Array(C * D);
  const gb = new Float64Array(C);
  const mW = new Float64Array(C * D);
  const vW = new Float64Array(C * D);
  const mb = new Float64Array(C);
  const vb = new Float64Array(C);
  const p = new Float64Array(C);
  const beta1 = 0.9;
  const beta2 = 0.999;
  const eps = 1e-8;
  const stepsPerEpoch = Math.ceil(N / batchSize);
  const totalSteps = epochs * stepsPerEpoch;
  let t = 0;

  for (let e = 0; e < epochs; e++) {
    const order = Rng.derive(seed, 'linear-probe', e).permutation(N);
    for (let s = 0; s < N; s += batchSize) {
      const end = Math.min(N, s + batchSize);
      gW.fill(0);
      gb.fill(0);
      for (let r = s; r < end; r++) {
        const i = order[r]!;
        const xo = i * D;
        logits(xTrain, xo, W, bias, D, C, p);
        softmaxInPlace(p);
        p[trainLabels[i]!] = p[trainLabels[i]!]! - 1; // dCE/dlogits = softmax - onehot
        for (let c = 0; c < C; c++) {
          const g = p[c]!;
          gb[c] = gb[c]! + g;
          const wo = c * D;
          let j = 0;
          for (; j + 3 < D; j += 4) {
            gW[wo + j] = gW[wo + j]! + g * xTrain[xo + j]!;
            gW[wo + j + 1] = gW[wo + j + 1]! + g * xTrain[xo + j + 1]!;
            gW[wo + j + 2] = gW[wo + j + 2]! + g * xTrain[xo + j + 2]!;
            gW[wo + j + 3] = gW[wo + j + 3]! + g * xTrain[xo + j + 3]!;
          }
          for (; j < D; j++) gW[wo + j] = gW[wo + j]! + g * xTrain[xo + j]!;
        }
      }
      t += 1;
      // Cosine annealing: constant-lr Adam ends wherever the last noisy mini-batch left it;
      // annealing to 0 lands on the optimum, so the reported accuracy does not hinge on one batch.
      const stepLr = 0.5 * lr * (1 + Math.cos((Math.PI * (t - 1)) / totalSteps));
      const a = (stepLr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
      const inv = 1 / (end - s);
      for (let k = 0; k < C * D; k++) {
        const g = gW[k]! * inv + weightDecay * W[k]!;
        mW[k] = beta1 * mW[k]! + (1 - beta1) * g;
        vW[k] = beta2 * vW[k]! + (1 - beta2) * g * g;
        W[k] = W[k]! - (a * mW[k]!) / (Math.sqrt(vW[k]!) + eps);
      }
      for (let c = 0; c < C; c++) {
        const g = gb[c]! * inv;
        mb[c] = beta1 * mb[c]! + (1 - beta1) * g;
        vb[c] = beta2 * vb[c]! + (1 - beta2) * g * g;
        bias[c] = bias[c]! - (a * mb[c]!) / (Math.sqrt(vb[c]!) + eps);
      }
    }
    // Yield to the event loop once per epoch so progress output and timers keep running.
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }
  return {
    accuracy: accuracyOf(xTest, testLabels, W, bias, D, C),
    trainAccuracy: accuracyOf(xTrain, trainLabels, W, bias, D, C),
    epochs,
  };
}

function columnStats(set: FeatureSet): { mean: Float64Array; invStd: Float64Array } {
  const { n, dim: d, features } = set;
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = mean[j]! + features[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] = mean[j]! / n;
  // Two passes (mean, then squared deviations) avoid the cancellation of E[x²] − E[x]².
  const varSum = new Float64Array(d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++) {
      const v = features[i * d + j]! - mean[j]!;
      varSum[j] = varSum[j]! + v * v;
    }
  const invStd = new Float64Array(d);
  // Constant columns (dead units) get std 1 instead of dividing by ~0.
  for (let j = 0; j < d; j++) {
    const std = Math.sqrt(varSum[j]! / n);
    invStd[j] = std > 1e-8 ? 1 / std : 1;
  }
  return { mean, invStd };
}

function standardise(rows: Float32Array, n: number, d: number, mean: Float64Array, invStd: Float64Array): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (rows[i * d + j]! - mean[j]!) * invStd[j]!;
  return out;
}

/** Writes the C logits of row `xo` into `out`. Four accumulators let V8 pipeline the multiply-adds. */
function logits(x: Float32Array, xo: number, W: Float64Array, bias: Float64Array, D: number, C: number, out: Float64Array): void {
  for (let c = 0; c < C; c++) {
    const wo = c * D;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let j = 0;
    for (; j + 3 < D; j += 4) {
      a0 += x[xo + j]! * W[wo + j]!;
      a1 += x[xo + j + 1]! * W[wo + j + 1]!;
      a2 += x[xo + j + 2]! * W[wo + j + 2]!;
      a3 += x[xo + j + 3]! * W[wo + j + 3]!;
    }
    for (; j < D; j++) a0 += x[xo + j]! * W[wo + j]!;
    out[c] = a0 + a1 + a2 + a3 + bias[c]!;
  }
}

function softmaxInPlace(p: Float64Array): void {
  let max = -Infinity;
  for (const v of p) if (v > max) max = v;
  let sum = 0;
  for (let c = 0; c < p.length; c++) {
    p[c] = Math.exp(p[c]! - max);
    sum += p[c]!;
  }
  for (let c = 0; c < p.length; c++) p[c] = p[c]! / sum;
}

function accuracyOf(x: Float32Array, labels: Int32Array, W: Float64Array, bias: Float64Array, D: number, C: number): number {
  const z = new Float64Array(C);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    logits(x, i * D, W, bias, D, C, z);
    let best = 0;
    for (let c = 1; c < C; c++) if (z[c]! > z[best]!) best = c;
    if (best === labels[i]) correct++;
  }
  return correct / labels.length;
}
