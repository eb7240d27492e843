import * as tf from '@tensorflow/tfjs';

/**
 * A classifier head: linear, or one hidden ReLU layer when `hidden > 0`. Seeded initialisers.
 *
 * @example
 * const head = classifierHead(128, 0, 4, 7); // 128-d features → 4 logits
 */
export function classifierHead(inputDim: number, hidden: number, classes: number, seed: number): tf.LayersModel {
  const layers: tf.layers.Layer[] = [];
  if (hidden > 0) {
    layers.push(tf.layers.dense({ inputShape: [inputDim], units: hidden, activation: 'relu', kernelInitializer: tf.initializers.heNormal({ seed }) }));
  }
  layers.push(
    tf.layers.dense({
      ...(hidden > 0 ? {} : { inputShape: [inputDim] }),
      units: classes,
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
    }),
  );
  return tf.sequential({ layers });
}
