/**
 * A complete @ssl plugin in one file: flip prediction, a pretext task that mirrors half of each
 * batch left-right and trains the encoder (plus a linear head) to tell which images were mirrored.
 * Handwritten digits and clothes are not left-right symmetric, so the task needs shape.
 *
 * Use it from the CLI (after `npm run build`):
 *
 *     ssl --plugin ./examples/plugin-flip/dist/index.js pretrain --method flip-prediction
 *
 * or from the API: `createRegistry().use(flipTask)` and `train({ task: flipTask, ... })`.
 */
import * as tf from '@tensorflow/tfjs';
import { definePretextTask } from '@ssl/core';
import { z } from 'zod';
import { nearestMeanProtocol, stripesDataset, tinyDenseEncoder } from './more';

/** Config of flip prediction. Every field has a default, so `{}` parses. */
export const flipConfig = z
  .object({
    probability: z.number().min(0).max(1).default(0.5).describe('chance that an image is mirrored left-right'),
  })
  .strict();

/**
 * Flip prediction: half of each batch is mirrored; a linear head predicts which.
 *
 * @example
 * import { createRegistry, train } from '@ssl/core';
 * const registry = createRegistry().use(flipTask);
 * await train({ task: flipTask, encoder, source, config: { epochs: 1 } });
 */
export const flipTask = definePretextTask({
  name: 'flip-prediction',
  family: 'context',
  modality: 'image',
  title: 'Flip prediction (plugin example)',
  paper: 'An example for plugin authors, not a paper',
  description:
    'Each image is mirrored left-right with probability p; a linear head on the encoder predicts whether it was. Mirroring is only detectable from asymmetric shape, so the encoder must learn some.',
  config: flipConfig,
  trainDefaults: { epochs: 1, batchSize: 64, lr: 1e-3, limit: 2000 },
  createHeads: ({ featureDim, seed }) => ({
    classifier: tf.sequential({
      layers: [tf.layers.dense({ inputShape: [featureDim], units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed }) })],
    }),
  }),
  // Runs inside tf.tidy. All randomness comes from `rng`, which makes runs reproducible and resumable.
  prepare: (raw, { config, rng }) => {
    const flips = Int32Array.from({ length: raw.n }, () => (rng.bernoulli(config.probability) ? 1 : 0));
    const x = tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]);
    const mask = tf.tensor1d(flips, 'float32').reshape([raw.n, 1, 1, 1]);
    const mixed = x.mul(tf.scalar(1).sub(mask)).add(tf.reverse(x, 2).mul(mask));
    return { x: mixed, y: tf.oneHot(tf.tensor1d(flips, 'int32'), 2) };
  },
  // Runs inside the trainer's gradient tape.
  loss: ({ encode, heads, batch }) => tf.losses.softmaxCrossEntropy(batch.y, heads.classifier.apply(encode(batch.x)) as tf.Tensor) as tf.Scalar,
});

/** The plugin value `ssl --plugin` loads (any task, list of tasks or `{ tasks }` works). */
export { nearestMeanAccuracy, nearestMeanProtocol, stripes, stripesDataset, tinyDenseEncoder } from './more';

/** The plugin: the task, plus a dataset, a protocol and an encoder (see ./more.ts). */
export default { tasks: [flipTask], datasets: [stripesDataset], protocols: [nearestMeanProtocol], encoders: [tinyDenseEncoder] } as const;

declare module '@ssl/core' {
  interface TaskRegister {
    'flip-prediction': typeof flipTask;
  }
}
