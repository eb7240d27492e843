// S4L (Zhai et al. 2019) vs supervised-only at a label fraction: rotation loss on all images plus
// cross-entropy on a class-balanced, seeded labelled subset, vs cross-entropy on that subset alone.
// Supervised-only trains on the labelled subset for about as many steps as S4L takes; test top-1 of the trained head.
// Usage: npx tsx --tsconfig packages/cli/tsconfig.json tools/s4l-fashion.ts DATA_DIR [IMAGES] [FRACTION] [EPOCHS]
import * as tf from '@tensorflow/tfjs';
import { initBackend, train, type DataSource, type ImageBatch } from '@ssl/core';
import { rotationTask } from '@ssl/context';
import { loadFashionMnist } from '@ssl/data';
import { createEncoder } from '@ssl/encoders';
import { extractFeatures, labelFractionSplit, maskLabels, supervisedTask, withAuxiliary } from '@ssl/eval';

const [dir = '../shared/datasets/fashion-mnist', images = '6000', fraction = '0.1', epochs = '2'] = process.argv.slice(2);
await initBackend({ log: (s) => process.stderr.write(`${s}\n`) });
const all = loadFashionMnist(dir, 'train', { limit: Number(images) });
const testSet = loadFashionMnist(dir, 'test', { limit: 10000 });
const keep = labelFractionSplit(all.labels!, Number(fraction), 0);
const labelledOnly = all.subset(keep);
const masked = maskLabels(all.labels!, keep);
// Every image, but only the labelled subset keeps its label (-1 elsewhere).
const semi: DataSource<ImageBatch> = { modality: 'image', size: all.size, batch: (idx, rng) => ({ ...all.batch(idx, rng), labels: Int32Array.from(idx, (i) => masked[i]!) }) };

async function evaluate(encoder: tf.LayersModel, head: tf.LayersModel): Promise<number> {
  const f = await extractFeatures(encoder, testSet);
  const pred = tf.tidy(() => (head.apply(tf.tensor2d(f.features, [f.n, f.dim])) as tf.Tensor).argMax(-1).dataSync());
  let ok = 0;
  for (let i = 0; i < f.n; i++) if (pred[i] === f.labels![i]) ok++;
  return ok / f.n;
}

async function run(s4l: boolean) {
  const start = performance.now();
  const encoder = createEncoder('convnet', {}, [28, 28, 1], 0);
  // Supervised-only sees the labelled subset for the same number of steps as S4L takes over all images.
  const stepsS4l = Math.floor(all.size / 64) * Number(epochs);
  const r = s4l
    ? await train({ task: withAuxiliary(supervisedTask, rotationTask), taskConfig: { main: { numClasses: 10 } }, encoder, source: semi, config: { epochs: Number(epochs), batchSize: 64, lr: 2e-3, seed: 0 } })
    : await train({ task: supervisedTask, taskConfig: { numClasses: 10 }, encoder, source: labelledOnly, config: { epochs: Math.max(1, Math.round(stepsS4l / Math.floor(labelledOnly.size / 64))), batchSize: 64, lr: 2e-3, seed: 0 } });
  const acc = await evaluate(encoder, r.heads[s4l ? 'main_classifier' : 'classifier']!);
  return { method: s4l ? 'S4L (rotation on all images)' : 'supervised only', steps: r.steps, accuracy: acc, seconds: (performance.now() - start) / 1000 };
}

console.log(JSON.stringify({ images: all.size, labelled: keep.length, rows: [await run(false), await run(true)] }, null, 1));
