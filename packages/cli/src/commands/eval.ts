import path from 'node:path';
import { SslError, initBackend, type Registry } from '@ssl/core';
import { loadLayersModel } from '@ssl/encoders';
import { fineTune, labelFractionSplit, parseLabelFraction } from '@ssl/eval';
import { numberFlag, parseFlags } from '../args';
import { exampleShape, knnAccuracy, loadSplit, probeAccuracy, probeFeatures, randomInitEncoder } from '../experiment';
import type { Io } from '../io';
import { readRunConfig } from '../run-config';

export const EVAL_HELP = `Usage: ssl eval --run DIR [--protocol linear|knn|finetune] [--labels 1%|10%|100%] [--json]

Evaluates a pretrained encoder (DIR/encoder) beside the same encoder at random init.
  --protocol   linear (default): softmax probe on frozen features
               knn: cosine kNN, k=20, temperature-weighted votes
               finetune: encoder + linear head trained end to end
  --labels     fraction of labelled training images (class-balanced, seeded); default 100%
  --epochs N   fine-tuning epochs (default 5)
  --backend B  tensorflow | wasm | cpu
  --json       print one JSON object
`;

const PROTOCOLS = ['linear', 'knn', 'finetune'] as const;

/** `ssl eval`: measure a run's encoder with a protocol, beside random init. */
export async function evalCommand(argv: string[], io: Io, registry: Registry): Promise<number> {
  const { values } = parseFlags('eval', argv, {
    run: { type: 'string' },
    protocol: { type: 'string' },
    labels: { type: 'string' },
    epochs: { type: 'string' },
    backend: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  } as const);
  if (values.help) {
    io.out(EVAL_HELP);
    return 0;
  }
  if (!values.run) throw new SslError('ssl eval needs --run DIR: the --out folder of `ssl pretrain`.');
  const protocol = values.protocol ?? 'linear';
  if (!(PROTOCOLS as readonly string[]).includes(protocol)) {
    throw new SslError(`Unsupported protocol "${protocol}". Must be one of [${PROTOCOLS.join(', ')}].`);
  }
  const fraction = parseLabelFraction(values.labels ?? '100%');
  const cfg = readRunConfig(values.run);
  registry.find(cfg.method);
  const backend = await initBackend({ ...(values.backend ? { backend: values.backend } : {}), log: io.err });
  const start = performance.now();
  const encoder = await loadLayersModel(path.join(values.run, 'encoder'));
  let probeTrain = loadSplit(cfg, 'train', cfg.probe.trainLimit);
  const probeTest = loadSplit(cfg, 'test', cfg.probe.testLimit);
  if (fraction < 1) {
    if (!probeTrain.labels) throw new SslError(`Dataset "${cfg.dataset}" has no labels; --labels needs a labelled dataset.`);
    probeTrain = probeTrain.subset(labelFractionSplit(probeTrain.labels, fraction, cfg.seed));
  }
  const random = randomInitEncoder(cfg, exampleShape(probeTrain));
  let accuracy: number;
  let randomInitAccuracy: number;
  if (protocol === 'finetune') {
    const epochs = numberFlag('epochs', values.epochs) ?? 5;
    if (!Number.isInteger(epochs) || epochs < 1) throw new SslError(`Invalid --epochs ${epochs}: must be a whole number ≥ 1.`);
    const opts = { epochs, seed: cfg.seed };
    accuracy = (await fineTune(encoder, probeTrain, probeTest, opts)).accuracy;
    randomInitAccuracy = (await fineTune(random, probeTrain, probeTest, opts)).accuracy;
  } else {
    const f = await probeFeatures(encoder, probeTrain, probeTest);
    const fr = await probeFeatures(random, probeTrain, probeTest);
    accuracy = protocol === 'knn' ? await knnAccuracy(f) : await probeAccuracy(f, cfg);
    randomInitAccuracy = protocol === 'knn' ? await knnAccuracy(fr) : await probeAccuracy(fr, cfg);
  }
  encoder.dispose();
  random.dispose();
  const seconds = (performance.now() - start) / 1000;
  const result = { run: values.run, method: cfg.method, dataset: cfg.dataset, protocol, labels: fraction, accuracy, randomInitAccuracy, backend: backend.name, seconds };
  if (values.json) io.out(JSON.stringify(result));
  else {
    const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
    io.out(`${protocol} (${Math.round(fraction * 100)}% labels, test top-1): pretrained ${pct(accuracy)}   random init ${pct(randomInitAccuracy)}   (${seconds.toFixed(0)} s on ${backend.name})`);
  }
  return 0;
}
