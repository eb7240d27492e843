import path from 'node:path';
import type { LayersModel } from '@tensorflow/tfjs';
import { SslError, initBackend, type Registry } from '@ssl/core';
import { loadLayersModel, loadLayersModelArchitecture } from '@ssl/encoders';
import { fineTune, labelFractionSplit, parseLabelFraction, type FeatureSet } from '@ssl/eval';
import { loadDataset } from '@ssl/data';
import { numberFlag, parseFlags } from '../args';
import { buildEncoder, knnScore, probeScore, resolveDataset, taskView, viewSource, type ProbeFeatures } from '../datasets';
import type { Io } from '../io';
import { readRunConfig, runDataContext } from '../run-config';

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
  // `ssl train` runs (method "train:...") hold a supervised encoder with no registered pretext task.
  const view = cfg.method.startsWith('train:') ? undefined : taskView(registry.find(cfg.method), cfg.taskConfig);
  const backend = await initBackend({ ...(values.backend ? { backend: values.backend } : {}), log: io.err });
  const start = performance.now();
  const encoder = await loadLayersModel(path.join(values.run, 'encoder'));
  const { dataset, arg } = resolveDataset(cfg.dataset);
  const ctx = { ...runDataContext(cfg), log: io.err };
  const noProbe = dataset.probeUnavailable?.(arg, ctx);
  if (noProbe) throw new SslError(`Cannot evaluate run "${values.run}": ${noProbe}`);
  const random = await randomInitBaseline(path.join(values.run, 'encoder'), encoder, () =>
    buildEncoder(dataset, cfg.encoder, cfg.encoderConfig, dataset.trainSource(arg, { ...ctx, limit: Math.min(cfg.limit, 64) }), cfg.seed),
  );
  let accuracy: number;
  let randomInitAccuracy: number;
  if (protocol === 'finetune') {
    if (dataset.modality !== 'image') throw new SslError(`--protocol finetune supports image datasets; "${cfg.dataset}" is ${dataset.modality} data. Use --protocol linear or knn.`);
    const load = (split: 'train' | 'test', limit: number) =>
      loadDataset(cfg.dataset, { split, limit, ...(cfg.dataDir ? { dataDir: cfg.dataDir } : {}), ...(cfg.imageSize ? { size: [cfg.imageSize, cfg.imageSize] as [number, number] } : {}), ...(cfg.testFraction ? { testFraction: cfg.testFraction } : {}) });
    let probeTrain = load('train', cfg.probe.trainLimit);
    const probeTest = load('test', cfg.probe.testLimit);
    if (fraction < 1) {
      if (!probeTrain.labels) throw new SslError(`Dataset "${cfg.dataset}" has no labels; --labels needs a labelled dataset.`);
      probeTrain = probeTrain.subset(labelFractionSplit(probeTrain.labels, fraction, cfg.seed));
    }
    const epochs = numberFlag('epochs', values.epochs) ?? 5;
    if (!Number.isInteger(epochs) || epochs < 1) throw new SslError(`Invalid --epochs ${epochs}: must be a whole number ≥ 1.`);
    const opts = { epochs, seed: cfg.seed };
    const [viewTrain, viewTest] = [viewSource(probeTrain, view), viewSource(probeTest, view)];
    accuracy = (await fineTune(encoder, viewTrain, viewTest, opts)).accuracy;
    randomInitAccuracy = (await fineTune(random, viewTrain, viewTest, opts)).accuracy;
  } else {
    const probeCtx = { ...ctx, trainLimit: cfg.probe.trainLimit, testLimit: cfg.probe.testLimit, ...(view ? { view } : {}) };
    const measure = async (enc: typeof encoder) => {
      const f = withLabelFraction(await dataset.probeFeatures(enc, arg, probeCtx), fraction, cfg.seed, cfg.dataset);
      return protocol === 'knn' ? knnScore(dataset, f) : (await probeScore(dataset, f, { epochs: cfg.probe.epochs, seed: cfg.seed })).value;
    };
    accuracy = await measure(encoder);
    randomInitAccuracy = await measure(random);
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

/** Keeps a class-balanced, seeded fraction of the labelled training rows. */
function withLabelFraction(f: ProbeFeatures, fraction: number, seed: number, name: string): ProbeFeatures {
  if (fraction >= 1) return f;
  const labels = f.train.labels;
  if (!labels) throw new SslError(`Dataset "${name}" has no labels; --labels needs a labelled dataset.`);
  const keep = labelFractionSplit(labels, fraction, seed);
  const { dim } = f.train;
  const train: FeatureSet = { features: new Float32Array(keep.length * dim), n: keep.length, dim, labels: new Int32Array(keep.length) };
  keep.forEach((row, i) => {
    train.features.set(f.train.features.subarray(row * dim, (row + 1) * dim), i * dim);
    train.labels![i] = labels[row]!;
  });
  return { train, test: f.test };
}

/**
 * The random-init baseline: the SAVED encoder's architecture (encoder/model.json) with its seeded
 * initial weights, so an edited config.json cannot change it. Encoders whose layers tfjs cannot
 * rebuild from JSON fall back to the run config's build, which must then match the saved weights' shapes.
 */
async function randomInitBaseline(dir: string, saved: LayersModel, fromConfig: () => LayersModel): Promise<LayersModel> {
  let random: LayersModel;
  try {
    random = await loadLayersModelArchitecture(dir);
  } catch (e) {
    if (e instanceof SslError) throw e;
    random = fromConfig();
  }
  const shapes = (m: LayersModel) => JSON.stringify(m.weights.map((w) => w.shape));
  if (shapes(random) !== shapes(saved)) {
    random.dispose();
    throw new SslError(`The run's config.json does not describe its saved encoder "${dir}/model.json" (different weight shapes). Restore config.json or re-run the training.`);
  }
  return random;
}
