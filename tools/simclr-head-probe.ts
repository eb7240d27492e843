/**
 * SimCLR pre-head vs post-head probe: trains SimCLR with its default budget, then fits the same
 * linear probe on the encoder's features (what `ssl pretrain` reports) and on the projection
 * head's output, and prints both (Chen et al. 2020, §4.2: the pre-head layer is the better one).
 *
 * Usage: npx tsx --tsconfig packages/cli/tsconfig.json tools/simclr-head-probe.ts \
 *          [--dataset fashion-mnist] [--data-dir DIR] [--epochs N] [--limit N] [--seed S] [--out FILE]
 */
import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import { parseArgs } from 'node:util';
import { initBackend, train } from '@ssl/core';
import { simclrTask } from '@ssl/contrastive';
import { buildEncoder, probeScore, resolveDataset } from '../packages/cli/src/datasets';
import '../packages/cli/src/data';

const { values } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'fashion-mnist' },
    'data-dir': { type: 'string' },
    epochs: { type: 'string' },
    limit: { type: 'string' },
    seed: { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});

async function main(): Promise<void> {
  const backend = await initBackend({ log: (l) => process.stderr.write(`${l}\n`) });
  const seed = Number(values.seed);
  const { dataset, arg } = resolveDataset(values.dataset!);
  const ctx = { seed, ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}) };
  const limit = Number(values.limit ?? simclrTask.trainDefaults?.limit ?? 6000);
  const source = dataset.trainSource(arg, { ...ctx, limit });
  const encoder = buildEncoder(dataset, dataset.defaultEncoder, {}, source, seed);
  const t0 = performance.now();
  const result = await train({
    task: simclrTask,
    encoder,
    source: source as never,
    config: { seed, ...(values.epochs ? { epochs: Number(values.epochs) } : {}) },
    log: (l) => process.stderr.write(`${l}\n`),
  });
  // The projection head on top of the (frozen) encoder: the post-head features.
  const projected = tf.model({ inputs: encoder.inputs, outputs: result.heads.projector!.apply(encoder.outputs[0]!) as tf.SymbolicTensor });
  const probeCtx = { ...ctx, trainLimit: 10000, testLimit: 10000 };
  const opts = { epochs: 30, seed };
  const pre = await probeScore(dataset, await dataset.probeFeatures(encoder, arg, probeCtx), opts);
  const post = await probeScore(dataset, await dataset.probeFeatures(projected, arg, probeCtx), opts);
  const out = {
    method: 'simclr',
    dataset: values.dataset,
    backend: backend.name,
    epochs: result.epochs,
    trainImages: source.size,
    metric: pre.metric,
    preHeadProbe: pre.value,
    postHeadProbe: post.value,
    seconds: (performance.now() - t0) / 1000,
  };
  const line = JSON.stringify(out);
  process.stdout.write(`${line}\n`);
  if (values.out) await fsp.writeFile(values.out, `${line}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
