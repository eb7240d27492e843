/**
 * CMC probe on view 1: `ssl pretrain --method cmc` probes the shared encoder on plain RGB images,
 * but CMC trains it on the L view (lightness copied to the 3 channels). This script probes the
 * pretrained encoder of a CMC run and the same encoder at random init on the same view-1 images.
 *
 * Usage: npx tsx --tsconfig packages/cli/tsconfig.json tools/cmc-probe.ts --run runs/cmc-cifar \
 *          [--train-limit N] [--test-limit N] [--epochs N]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type * as tf from '@tensorflow/tfjs';
import { Rng, initBackend, type DataSource, type ImageBatch } from '@ssl/core';
import { cmcConfig, cmcViews } from '@ssl/contrastive';
import { loadDataset } from '@ssl/data';
import { createEncoder, loadLayersModel } from '@ssl/encoders';
import { extractFeatures, linearProbe } from '@ssl/eval';

const { values } = parseArgs({
  options: { run: { type: 'string' }, 'train-limit': { type: 'string', default: '10000' }, 'test-limit': { type: 'string', default: '10000' }, epochs: { type: 'string', default: '30' } },
});

async function main(): Promise<void> {
  if (!values.run) throw new Error('--run DIR (a CMC run directory) is required');
  const backend = await initBackend();
  const run = JSON.parse(readFileSync(path.join(values.run, 'config.json'), 'utf8')) as {
    dataset: string; encoder: string; encoderConfig: Record<string, unknown>; taskConfig: unknown; seed?: number; trainer: { seed: number };
  };
  const config = cmcConfig.parse(run.taskConfig);
  const view1 = (src: DataSource<ImageBatch>): DataSource<ImageBatch> => ({ modality: 'image', size: src.size, batch: (idx, rng) => cmcViews(src.batch(idx, rng), config).view1 });
  const train = view1(loadDataset(run.dataset, { split: 'train', limit: Number(values['train-limit']) }));
  const test = view1(loadDataset(run.dataset, { split: 'test', limit: Number(values['test-limit']) }));
  const probe = async (enc: tf.LayersModel) =>
    (await linearProbe(await extractFeatures(enc, train), await extractFeatures(enc, test), { epochs: Number(values.epochs), seed: run.trainer.seed })).accuracy;
  const b = train.batch(Int32Array.of(0), new Rng(0));
  const random = createEncoder(run.encoder, run.encoderConfig, [b.height, b.width, b.channels], run.trainer.seed);
  const pretrained = await loadLayersModel(path.join(values.run, 'encoder'));
  const [p, r] = [await probe(pretrained), await probe(random)];
  console.log(`CMC view-1 (L) linear probe on ${run.dataset} (${backend.name}): pretrained ${(100 * p).toFixed(2)} %   random init ${(100 * r).toFixed(2)} %`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
