// ESM consumer of the packed @ssl/core + @ssl/contrastive: a short SimCLR pretrain, then a linear
// probe (softmax regression in plain TensorFlow.js) beside the same encoder at random init.
import * as tf from '@tensorflow/tfjs';
import { initBackend, train } from '@ssl/core';
import { simclrTask } from '@ssl/contrastive';
import { loadMnist, type ImageDataset } from '@ssl/data';
import { createConvNet } from '@ssl/encoders';

async function probe(encoder: tf.LayersModel, trainSet: ImageDataset, testSet: ImageDataset): Promise<number> {
  const feats = (ds: ImageDataset) => {
    const b = ds.batch(Int32Array.from({ length: ds.size }, (_, i) => i));
    return tf.tidy(() => encoder.predict(tf.tensor4d(b.images, [b.n, b.height, b.width, b.channels])) as tf.Tensor2D);
  };
  const [xtr, xte] = [feats(trainSet), feats(testSet)];
  const ytr = tf.oneHot(tf.tensor1d(trainSet.labels!, 'int32'), 10);
  const head = tf.sequential({ layers: [tf.layers.dense({ inputShape: [xtr.shape[1]], units: 10, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })] });
  head.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  await head.fit(xtr, ytr, { epochs: 30, batchSize: 128, shuffle: false, verbose: 0 });
  const pred = tf.tidy(() => (head.predict(xte) as tf.Tensor2D).argMax(1).dataSync());
  const labels = testSet.labels!;
  const acc = Array.from(pred).filter((p, i) => p === labels[i]).length / labels.length;
  tf.dispose([xtr, xte, ytr]);
  head.dispose();
  return acc;
}

const backend = await initBackend();
const encoder = createConvNet({ widths: [16, 32, 64], seed: 0 });
const random = createConvNet({ widths: [16, 32, 64], seed: 0 });
const result = await train({ task: simclrTask, encoder, source: loadMnist('train', { limit: 512 }), config: { epochs: 1, batchSize: 64, seed: 0 } });
const trainSet = loadMnist('train', { limit: 1000 });
const testSet = loadMnist('test', { limit: 500 });
const out = { consumer: 'esm', backend: backend.name, steps: result.steps, finalLoss: result.history.at(-1)!.loss, probe: await probe(encoder, trainSet, testSet), randomInit: await probe(random, trainSet, testSet) };
console.log(JSON.stringify(out));
if (!(out.probe > 0.3) || !Number.isFinite(out.finalLoss)) throw new Error(`SimCLR consumer failed: ${JSON.stringify(out)}`);
