// Supervised training with and without a rotation auxiliary (Lee et al. 2019 style), same
// encoder, budget and seed, on a labelled subset of Fashion-MNIST; test top-1 of the trained head.
// Usage: npx tsx --tsconfig packages/cli/tsconfig.json tools/aux-fashion.ts DATA_DIR [LABELLED] [EPOCHS] [LAMBDA]
import * as tf from '@tensorflow/tfjs';
import { initBackend, train } from '@ssl/core';
import { rotationTask } from '@ssl/context';
import { loadFashionMnist } from '@ssl/data';
import { createEncoder } from '@ssl/encoders';
import { extractFeatures, supervisedTask, withAuxiliary } from '@ssl/eval';

const [dir = '../shared/datasets/fashion-mnist', labelled = '2000', epochs = '3', lambda = '1'] = process.argv.slice(2);
await initBackend({ log: (s) => process.stderr.write(`${s}\n`) });
const trainSet = loadFashionMnist(dir, 'train', { limit: Number(labelled) });
const testSet = loadFashionMnist(dir, 'test', { limit: 10000 });
const config = { epochs: Number(epochs), batchSize: 64, lr: 2e-3, seed: 0 };

async function run(withRotation: boolean) {
  const start = performance.now();
  const encoder = createEncoder('convnet', {}, [28, 28, 1], 0);
  const task = withRotation ? withAuxiliary(supervisedTask, rotationTask, { weight: Number(lambda) }) : supervisedTask;
  const r = await train({ task, taskConfig: withRotation ? { main: { numClasses: 10 } } : { numClasses: 10 }, encoder, source: trainSet, config });
  const head = r.heads[withRotation ? 'main_classifier' : 'classifier']!;
  const f = await extractFeatures(encoder, testSet);
  const pred = tf.tidy(() => (head.apply(tf.tensor2d(f.features, [f.n, f.dim])) as tf.Tensor).argMax(-1).dataSync());
  let ok = 0;
  for (let i = 0; i < f.n; i++) if (pred[i] === f.labels![i]) ok++;
  return { auxiliary: withRotation ? `rotation, λ=${lambda}` : 'none', accuracy: ok / f.n, seconds: (performance.now() - start) / 1000 };
}

const rows = [await run(false), await run(true)];
console.log(JSON.stringify({ labelled: trainSet.size, epochs: config.epochs, rows }, null, 1));
