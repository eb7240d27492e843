import * as tf from '@tensorflow/tfjs';
import { centredChannelSums, channelAffine } from '@ssl/core';

/**
 * Batch normalisation whose training step is one op with a hand-written gradient.
 *
 * tfjs-layers computes training-mode batch norm as moments (mean, x − mean, square, mean) then
 * batchNorm, and the gradient tape keeps x − mean and its square for the backward pass: two extra
 * activation-sized tensors per layer, about 40 % of what a ResNet step holds. Here the forward
 * pass keeps only its input x (which the preceding convolution keeps anyway) and the per-channel
 * mean and 1/σ; the backward pass recomputes x̂ and applies the standard formula
 * dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)), dγ = Σ dy · x̂, dβ = Σ dy.
 * On the wasm backend with our SIMD kernels (@ssl/core's centredChannelSums and channelAffine) each
 * direction takes two fused passes over the activations (forward: Σ (x − mean)², then x·a + b;
 * backward: Σ dy and Σ dy·(x − mean), then dy·k1 + x·k2 + k3) instead of about a dozen.
 * Same math as tfjs's; weights, config and serialisation are those of `tf.layers.batchNormalization`
 * (the class name is unchanged, so saved models load as the standard layer).
 */

type LayerArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type BnFields = {
  axis: number;
  momentum: number;
  epsilon: number;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
};

const BatchNormalizationBase = Object.getPrototypeOf(tf.layers.batchNormalization({})).constructor as new (args: LayerArgs) => tf.layers.Layer;

/** Training-mode batch norm over all axes but the last; returns y and (kept) batch mean, variance. */
function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number): { y: tf.Tensor; mean: tf.Tensor; variance: tf.Tensor } {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  let stats: { mean: tf.Tensor; variance: tf.Tensor } | undefined;
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const mean = tf.mean(xi, axes);
    const m = xi.size / (xi.shape[xi.rank - 1] ?? 1);
    // On wasm, our fused kernels: one pass for Σ (x − mean)², one for y = x·a + (β − mean·a).
    const squares = centredChannelSums(xi, mean);
    const variance = squares ? tf.div(squares, m) : tf.mean(tf.square(tf.sub(xi, mean)), axes);
    const rstd = tf.rsqrt(tf.add(variance, epsilon));
    const a = tf.mul(rstd, g);
    const y = channelAffine(xi, a, tf.sub(b, tf.mul(mean, a))) ?? tf.add(tf.mul(tf.sub(xi, mean), a), b);
    stats = { mean: tf.keep(mean), variance: tf.keep(variance) };
    save([xi, mean, rstd, g]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const d = Array.isArray(dy) ? dy[0]! : dy;
        const [sx, sMean, sRstd, sGamma] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const m = sx.size / (sx.shape[sx.rank - 1] ?? 1);
        // On wasm, one fused pass gives Σ dy and Σ dy · (x − mean); elsewhere every
        // activation-sized temporary lives inside a tidy of its own, so at most three exist at
        // once (the formula written out directly holds seven until the gradient returns).
        const sums = centredChannelSums(sx, sMean, d);
        let dBeta: tf.Tensor;
        let dGamma: tf.Tensor;
        if (sums) {
          const [s1, s2] = tf.unstack(sums) as [tf.Tensor, tf.Tensor];
          dBeta = s1;
          dGamma = tf.mul(s2, sRstd);
          tf.dispose([sums, s2]);
        } else {
          dBeta = tf.sum(d, axes);
          dGamma = tf.tidy(() => tf.sum(tf.mul(d, tf.mul(tf.sub(sx, sMean), sRstd)), axes));
        }
        // dx = γ/σ · (dy − dβ/m − x̂ · dγ/m) = dy·k1 + x·k2 + k3, per channel:
        // k1 = γ/σ, k2 = −γ/σ² · dγ/m, k3 = −k1 · dβ/m − k2 · mean.
        const dx = tf.tidy(() => {
          const k1 = tf.mul(sRstd, sGamma);
          const k2 = tf.neg(tf.mul(tf.mul(k1, sRstd), tf.div(dGamma, m)));
          const k3 = tf.neg(tf.add(tf.mul(k1, tf.div(dBeta, m)), tf.mul(k2, sMean)));
          const fused = channelAffine(sx, k2, k3, d, k1);
          if (fused) return fused;
          const a = tf.mul(d, k1);
          const b = tf.tidy(() => tf.add(tf.mul(sx, k2), k3));
          return tf.add(a, b);
        });
        return [dx, dGamma, dBeta];
      },
    };
  });
  const y = op(x, gamma, beta);
  return { y, ...stats! };
}

class MemoryLeanBatchNormalization extends BatchNormalizationBase {
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const self = this as unknown as BnFields;
    const input = Array.isArray(inputs) ? inputs[0]! : inputs;
    const lastAxis = self.axis === -1 || self.axis === input.rank - 1;
    if (!kwargs['training'] || !lastAxis || !self.gamma || !self.beta) return super.call(inputs, kwargs);
    return tf.tidy(() => {
      const { y, mean, variance } = batchNormTraining(input, self.gamma!.read(), self.beta!.read(), self.epsilon);
      // Moving statistics exactly as tf.layers.batchNormalization updates them.
      for (const [v, value] of [
        [self.movingMean, mean],
        [self.movingVariance, variance],
      ] as const) {
        tf.tidy(() => {
          const orig = v.read();
          v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - self.momentum)));
        });
      }
      tf.dispose([mean, variance]);
      return y;
    });
  }
}

/**
 * `tf.layers.batchNormalization` with a memory-lean training step (see the file comment).
 *
 * @example
 * const bn = batchNormalization({ momentum: 0.9 }); // drop-in for tf.layers.batchNormalization
 */
export function batchNormalization(args: LayerArgs = {}): tf.layers.Layer {
  return new MemoryLeanBatchNormalization(args);
}
