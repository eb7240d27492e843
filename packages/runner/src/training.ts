import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import {
  SslError,
  initBackend,
  openRunDir,
  parseWith,
  train,
  trainerConfigSchema,
  type AnyPretextTask,
  type DataSource,
  type ImageBatch,
  type Registry,
} from '@ssl/core';
import type { ImageDataset } from '@ssl/data';
import { saveLayersModel } from '@ssl/encoders';
import {
  episodicSource,
  evaluateFewShot,
  extractFeatures,
  jointLabelAccuracy,
  jointLabelTask,
  labelFractionSplit,
  linearProbe,
  parseLabelFraction,
  prototypicalTask,
  supervisedTask,
  withAuxiliary,
  type FeatureSet,
  type FewShotResult,
} from '@ssl/eval';
import { z } from 'zod';
import { builtinCatalogue, type Catalogue } from './catalogue';
import { VERSION, probeSchema, runConfigSchema, type RunConfig } from './config';
import { writeRunReport } from './report';
import { fieldsOf, parseSets, routeSets } from './settings';

/** The tasks `runTraining` (`ssl train --task`) trains. */
export const TRAIN_TASKS = ['supervised', 'fewshot', 'semi'] as const;
export type TrainTaskKind = (typeof TRAIN_TASKS)[number];

/** Reads a numeric option; a non-number names the option and the value. */
function numberOption(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  const n = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(n)) throw new SslError(`Invalid --${name} "${String(value)}": must be a number, e.g. --${name} 3.`);
  return n;
}

/** Settings of `ssl train` beyond a pretraining run's; written to `train.json` in the run directory. */
export const trainSettingsSchema = z
  .object({
    task: z.enum(TRAIN_TASKS).describe('supervised, fewshot or semi'),
    aux: z.string().optional().describe('registry name of the auxiliary pretext task'),
    auxWeight: z.number().min(0).default(1).describe('λ, weight of the auxiliary loss'),
    labels: z.number().gt(0).max(1).default(1).describe('labelled fraction of the training images'),
    jointLabels: z
      .boolean()
      .default(false)
      .describe("joint (class, transformation) labels from the auxiliary task's transformations instead of a separate auxiliary head"),
    trainClasses: z.array(z.number().int().min(0)).optional().describe('fewshot: training classes'),
    testClasses: z.array(z.number().int().min(0)).optional().describe('fewshot: held-out test classes'),
    episodes: z.number().int().min(1).default(200).describe('fewshot: training episodes per epoch'),
    testEpisodes: z.number().int().min(1).default(600).describe('fewshot: test episodes per shot setting'),
    evalShots: z.array(z.number().int().min(1)).default([1, 5]).describe('fewshot: shots tested'),
  })
  .strict();

export type TrainSettings = z.output<typeof trainSettingsSchema>;

/** Parses a class list: `0-4`, `0,2,4` or a mix such as `0-2,7`. */
export function parseClassList(value: string): number[] {
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      throw new SslError(`Invalid --train-classes "${value}": must be class ids and ranges such as 0-4 or 0,2,4.`);
    }
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Validates `ssl train`'s own flags (task, auxiliary, labels, few-shot split) against the registry.
 * Every bad value becomes an SslError naming the value and what is allowed.
 *
 * @example
 * parseTrainSettings(registry, { task: 'semi', aux: 'rotation', labels: '1%' });
 * // { task: 'semi', aux: 'rotation', auxWeight: 1, labels: 0.01, ... }
 */
export function parseTrainSettings(registry: Registry, values: Record<string, unknown>): TrainSettings {
  const task = (values.task as string | undefined) ?? 'supervised';
  if (!(TRAIN_TASKS as readonly string[]).includes(task)) throw new SslError(`Unknown --task "${task}". Must be one of [${TRAIN_TASKS.join(', ')}].`);
  const kind = task as TrainTaskKind;
  let aux = values.aux as string | undefined;
  if (aux !== undefined) {
    const t = registry.find(aux);
    if (t.modality !== 'image')
      throw new SslError(`--aux "${aux}" reads ${t.modality} data; \`ssl train\` trains on images. Pick an image pretext task (see \`ssl list\`).`);
  }
  const auxWeight = numberOption('aux-weight', values['aux-weight'] as string | undefined);
  if (auxWeight !== undefined && !(auxWeight >= 0)) throw new SslError(`Invalid --aux-weight ${auxWeight}: must be a number ≥ 0.`);
  if (auxWeight !== undefined && aux === undefined) throw new SslError('--aux-weight needs --aux NAME: the auxiliary task it weighs.');
  const joint = !!values['joint-labels'];
  if (joint) {
    if (kind !== 'supervised') throw new SslError(`--joint-labels works with --task supervised, not "${kind}".`);
    // Joint labels need a task that declares a discrete set of input transformations.
    const withTransforms = registry
      .list()
      .filter((t) => t.modality === 'image' && t.transformations)
      .map((t) => t.name);
    if (aux !== undefined && !registry.find(aux).transformations) {
      throw new SslError(
        `--joint-labels combines the class with an input transformation; it cannot use --aux "${aux}" (it declares none). Use one of [${withTransforms.join(', ')}], or drop --aux.`,
      );
    }
    if (auxWeight !== undefined) throw new SslError('--joint-labels has no auxiliary loss to weigh; drop --aux-weight.');
    if (aux === undefined) {
      if (withTransforms.length !== 1)
        throw new SslError(`--joint-labels needs --aux NAME, a task with input transformations: one of [${withTransforms.join(', ')}].`);
      aux = withTransforms[0]!;
    }
  }
  if (kind === 'semi' && aux === undefined) {
    throw new SslError(
      '--task semi (S4L) needs --aux NAME, the pretext task trained on the unlabelled images (any image task from `ssl list`). For the supervised-only baseline use --task supervised --labels F.',
    );
  }
  let labels = 1;
  if (values.labels !== undefined) {
    if (kind === 'fewshot') throw new SslError('--labels does not apply to --task fewshot (episodes use every training-class image). Drop --labels.');
    labels = parseLabelFraction(values.labels as string);
  } else if (kind === 'semi') labels = 0.1;
  if (kind === 'semi' && labels === 1)
    throw new SslError('--task semi needs a labelled fraction below 100% (e.g. --labels 10%); with every label use --task supervised.');
  const fewOnly = (['train-classes', 'episodes', 'test-episodes', 'eval-shots'] as const).filter((f) => values[f] !== undefined);
  if (kind !== 'fewshot' && fewOnly.length) throw new SslError(`--${fewOnly[0]} applies to --task fewshot only, not "${kind}".`);
  const episodes = numberOption('episodes', values.episodes as string | undefined);
  const testEpisodes = numberOption('test-episodes', values['test-episodes'] as string | undefined);
  const evalShots = values['eval-shots'] === undefined ? undefined : (values['eval-shots'] as string).split(',').map((s) => numberOption('eval-shots', s));
  return parseWith(
    trainSettingsSchema,
    {
      task: kind,
      ...(aux !== undefined ? { aux } : {}),
      ...(auxWeight !== undefined ? { auxWeight } : {}),
      labels,
      jointLabels: joint,
      ...(values['train-classes'] !== undefined ? { trainClasses: parseClassList(values['train-classes'] as string) } : {}),
      ...(episodes !== undefined ? { episodes } : {}),
      ...(testEpisodes !== undefined ? { testEpisodes } : {}),
      ...(evalShots !== undefined ? { evalShots } : {}),
    },
    'ssl train option',
  );
}

/** The task `ssl train` trains, from its settings. */
export function buildTrainTask(registry: Registry, s: TrainSettings): AnyPretextTask {
  if (s.jointLabels) return jointLabelTask(registry.find(s.aux!).transformations!, s.aux!);
  const main: AnyPretextTask = s.task === 'fewshot' ? prototypicalTask : supervisedTask;
  return s.aux ? withAuxiliary(main, registry.find(s.aux), { weight: s.auxWeight }) : main;
}

/** The results `ssl train --json` prints (and `results.json` holds). */
export interface TrainCommandResult {
  task: TrainTaskKind;
  method: string;
  aux: string | null;
  auxWeight: number | null;
  jointLabels: boolean;
  dataset: string;
  encoder: string;
  backend: string;
  /** Threads the wasm kernels ran on. */
  threads: number;
  epochs: number;
  steps: number;
  trainImages: number;
  /** Training images whose label was used (supervised / semi). */
  labelledImages: number;
  labels: number;
  finalLoss: number;
  /** supervised / semi: test top-1 of the trained classifier head. */
  headAccuracy?: number;
  /** supervised / semi: linear probe on frozen features, trained on the labelled images only. */
  probeAccuracy?: number;
  randomInitProbeAccuracy?: number;
  /** fewshot: N-way K-shot accuracy on the held-out classes, trained and random-init encoder. */
  fewShot?: Array<{ trained: FewShotResult; randomInit: FewShotResult }>;
  trainClasses?: number[];
  testClasses?: number[];
  trainSeconds: number;
  seconds: number;
  runDir: string;
}

const DEFAULTS = { epochs: 3, batchSize: 64, lr: 2e-3, limit: 6000 };
const FEWSHOT_DEFAULTS = { epochs: 1, lr: 1e-3 };

/** Options of {@link runTraining}: `ssl train`'s flags as values. */
export interface TrainingOptions {
  /** `--task`, `--aux`, `--aux-weight`, `--labels`, `--joint-labels`, few-shot flags (raw values, validated by {@link parseTrainSettings}). */
  settings: Record<string, unknown>;
  dataset?: string;
  dataDir?: string;
  encoder?: string;
  epochs?: number | string;
  batchSize?: number | string;
  limit?: number | string;
  seed?: number | string;
  out?: string;
  /** Replace whatever run or files `out` holds (otherwise an existing run or a non-empty folder is refused). */
  force?: boolean;
  /** `--image-size N`: resize every image to N×N (image folders of mixed sizes). */
  imageSize?: number | string;
  /** `--test-fraction F`: image folders without train/ and test/ hold out F of each class (default 0.2). */
  testFraction?: number | string;
  backend?: string;
  /** Threads for the wasm kernels (default: `SSL_THREADS`, else every core). */
  threads?: number;
  /** `--set` pairs: an object or `key=value` strings; namespaces trainer, task, aux, encoder, probe. */
  set?: Record<string, unknown> | readonly string[];
  catalogue?: Catalogue;
  log?: (line: string) => void;
  progress?: boolean;
}

/**
 * Task-related self-supervision (`ssl train`): a labelled task (supervised, few-shot, S4L) with
 * an optional pretext task as auxiliary loss, evaluated beside the same encoder at random init;
 * same run directory, config.json and report as {@link runExperiment}.
 *
 * @example
 * const r = await runTraining({ settings: { task: 'semi', aux: 'rotation', labels: '10%' }, dataset: 'mnist', limit: 2000 });
 */
export async function runTraining(options: TrainingOptions): Promise<{ result: TrainCommandResult; table: Array<{ name: string; value: string }> }> {
  const catalogue = options.catalogue ?? builtinCatalogue();
  const registry = catalogue.tasks;
  const values = { ...options.settings, 'batch-size': options.batchSize } as Record<string, unknown>;
  const log = options.log ?? (() => {});
  const start = performance.now();
  const s = parseTrainSettings(registry, options.settings);
  const task = buildTrainTask(registry, s);
  const datasetName = options.dataset ?? 'mnist';
  const { dataset, arg } = catalogue.datasets.resolve(datasetName);
  if (dataset.modality !== 'image') throw new SslError(`\`ssl train\` needs an image dataset; "${datasetName}" is ${dataset.modality} data.`);
  const encoderName = options.encoder ?? dataset.defaultEncoder;
  const encoderSpec = catalogue.encoders.find(encoderName);
  if (s.task === 'fewshot' && values['batch-size'] !== undefined)
    throw new SslError('--task fewshot trains on one episode per step (N·(K+Q) images); drop --batch-size and set nWay / kShot / nQuery with --set.');

  // --set routing by namespace: trainer, task (the main task), aux, encoder, probe.
  const mainTask = s.jointLabels ? task : s.task === 'fewshot' ? prototypicalTask : supervisedTask;
  const auxTask = !s.jointLabels && s.aux ? registry.find(s.aux) : undefined;
  const trainer: Record<string, unknown> = {
    ...(s.task === 'fewshot' ? FEWSHOT_DEFAULTS : { epochs: DEFAULTS.epochs, batchSize: DEFAULTS.batchSize, lr: DEFAULTS.lr }),
  };
  const routed = routeSets(
    Array.isArray(options.set) ? parseSets(options.set as readonly string[]) : ((options.set ?? {}) as Record<string, unknown>),
    {
      trainer: fieldsOf(trainerConfigSchema),
      task: fieldsOf(mainTask.config).filter((x) => x !== 'numClasses'),
      ...(auxTask ? { aux: fieldsOf(auxTask.config) } : {}),
      encoder: fieldsOf(encoderSpec.config),
      probe: fieldsOf(probeSchema),
    },
    `\`ssl train --task ${s.task}\`${s.aux ? ` --aux ${s.aux}` : ''}`,
  );
  Object.assign(trainer, routed.trainer);
  const mainCfg = routed.task!;
  const auxCfg = routed.aux ?? {};
  const encCfg = routed.encoder!;
  const probe = routed.probe!;
  const nums = {
    epochs: numberOption('epochs', options.epochs),
    batchSize: numberOption('batch-size', options.batchSize),
    limit: numberOption('limit', options.limit),
    seed: numberOption('seed', options.seed),
    imageSize: numberOption('image-size', options.imageSize),
    testFraction: numberOption('test-fraction', options.testFraction),
  };
  if (nums.epochs !== undefined) trainer.epochs = nums.epochs;
  if (nums.batchSize !== undefined) trainer.batchSize = nums.batchSize;
  if (nums.seed !== undefined) trainer.seed = nums.seed;
  if (nums.limit !== undefined && !(Number.isInteger(nums.limit) && nums.limit >= 2))
    throw new SslError(`Invalid --limit ${nums.limit}: must be a whole number ≥ 2.`);
  const limit = nums.limit ?? DEFAULTS.limit;
  const dataDir = options.dataDir;
  if (nums.imageSize !== undefined && !(Number.isInteger(nums.imageSize) && nums.imageSize >= 4))
    throw new SslError(`Invalid --image-size ${nums.imageSize}: must be a whole number ≥ 4, e.g. --image-size 32.`);
  if (nums.testFraction !== undefined && !(nums.testFraction > 0 && nums.testFraction < 1))
    throw new SslError(`Invalid --test-fraction ${nums.testFraction}: must be between 0 and 1, e.g. --test-fraction 0.2.`);
  const { imageSize, testFraction } = nums;
  const ctx = { seed: 0, log, ...(dataDir ? { dataDir } : {}), ...(imageSize ? { imageSize } : {}), ...(testFraction ? { testFraction } : {}) };
  // Image datasets' splits are labelled ImageDatasets (labels, numClasses, subset, classNames).
  const load = (split: 'train' | 'test', n: number) => {
    const splits = dataset.probeSplits(arg, { ...ctx, trainLimit: n, testLimit: n, inputShape: [] });
    return (split === 'train' ? splits.train : splits.test) as ImageDataset;
  };
  const trainData = load('train', limit);
  if (!trainData.labels) throw new SslError(`Dataset "${datasetName}" has no labels; \`ssl train\` needs a labelled dataset.`);
  const numClasses = trainData.numClasses ?? 2;

  // Few-shot class split: training classes, and every other class held out.
  if (s.task === 'fewshot') {
    const train = s.trainClasses ?? Array.from({ length: Math.floor(numClasses / 2) }, (_, i) => i);
    const bad = train.filter((c) => c >= numClasses);
    if (bad.length)
      throw new SslError(`--train-classes [${bad.join(', ')}] ${bad.length > 1 ? 'are' : 'is'} not a class of "${datasetName}" (classes 0-${numClasses - 1}).`);
    s.trainClasses = train;
    s.testClasses = Array.from({ length: numClasses }, (_, i) => i).filter((c) => !train.includes(c));
  }

  const taskConfig = parseWith(
    task.config,
    s.jointLabels
      ? { numClasses }
      : s.aux
        ? { main: s.task === 'fewshot' ? mainCfg : { numClasses }, aux: auxCfg, weight: s.auxWeight }
        : s.task === 'fewshot'
          ? mainCfg
          : { numClasses },
    `config for "${task.name}"`,
  ) as Record<string, unknown>;
  const shape = (s.aux && !s.jointLabels ? taskConfig.main : taskConfig) as { nWay: number; kShot: number; nQuery: number };
  if (s.task === 'fewshot') {
    if (s.testClasses!.length < shape.nWay) {
      throw new SslError(
        `${shape.nWay}-way testing needs at least ${shape.nWay} held-out classes, but --train-classes leaves ${s.testClasses!.length} ([${s.testClasses!.join(', ')}]). Train on fewer classes or lower nWay (--set nWay=...).`,
      );
    }
    if (s.trainClasses!.length < shape.nWay)
      throw new SslError(`${shape.nWay}-way training episodes need at least ${shape.nWay} training classes; --train-classes gives ${s.trainClasses!.length}.`);
    trainer.batchSize = shape.nWay * (shape.kShot + shape.nQuery);
  }
  const trainerCfg = parseWith(trainerConfigSchema, trainer, 'trainer settings');
  const seed = trainerCfg.seed;
  const method = `train:${s.task}${s.jointLabels ? `+joint-${s.aux}` : s.aux ? `+${s.aux}` : ''}`;
  const cfg: RunConfig = parseWith(
    runConfigSchema,
    {
      version: VERSION,
      method,
      dataset: datasetName,
      ...(dataDir ? { dataDir } : {}),
      ...(imageSize ? { imageSize } : {}),
      ...(testFraction ? { testFraction } : {}),
      limit,
      encoder: encoderName,
      encoderConfig: catalogue.encoders.parseConfig(encoderName, encCfg),
      taskConfig,
      trainer: trainerCfg,
      probe: parseWith(probeSchema, probe, 'probe settings'),
      seed,
      createdAt: new Date().toISOString(),
    },
    'run config',
  );
  const auxTag = s.jointLabels ? '-joint' : s.aux ? `-${s.aux}` : '';
  const labelTag = s.labels < 1 ? `-${+(s.labels * 100).toFixed(2)}pct` : '';
  const runDir = options.out ?? path.join('runs', `train-${s.task}${auxTag}${labelTag}-${datasetName.replace(/[^a-z0-9]+/gi, '_')}-seed${seed}`);
  const backend = await initBackend({
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    log,
  });

  // Training data per task.
  let source: DataSource<ImageBatch>;
  let labelled: ImageDataset = trainData;
  if (s.task === 'fewshot') {
    source = episodicSource(trainData, { ...shape, classes: s.trainClasses!, episodes: s.episodes });
  } else if (s.labels < 1) {
    const keep = labelFractionSplit(trainData.labels, s.labels, seed);
    labelled = trainData.subset(keep);
    if (s.task === 'semi') {
      // S4L: each step is the supervised-only step's labelled batch (same rows, same order) plus as
      // many images drawn from all --limit images with their labels hidden (-1); the supervised
      // loss sees the labelled half only, the auxiliary loss every image.
      source = {
        modality: 'image',
        size: trainData.size,
        batch: (idx, rng) =>
          semiBatch(
            labelled.batch(
              Int32Array.from(idx, (i) => i % labelled.size),
              rng,
            ),
            trainData.batch(idx, rng),
          ),
      };
    } else {
      // The labelled subset, repeated up to --limit rows: as many steps as semi on all the images.
      source = {
        modality: 'image',
        size: trainData.size,
        batch: (idx, rng) =>
          labelled.batch(
            Int32Array.from(idx, (i) => i % labelled.size),
            rng,
          ),
      };
    }
  } else source = trainData;

  const what =
    s.task === 'fewshot'
      ? `train classes [${s.trainClasses!.join(', ')}], held out [${s.testClasses!.join(', ')}]`
      : `${labelled.size} labelled of ${trainData.size}`;
  log(`train ${s.task} (${task.name}) · dataset ${datasetName} (${what}) · encoder ${encoderName} · seed ${seed} · run ${runDir}`);
  await openRunDir({ dir: runDir, force: !!options.force, resumable: false });
  await fsp.writeFile(path.join(runDir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  await fsp.writeFile(path.join(runDir, 'train.json'), JSON.stringify(s, null, 2) + '\n');

  const makeEncoder = () =>
    catalogue.encoders.create(encoderName, cfg.encoderConfig, { inputShape: [trainData.height, trainData.width, trainData.channels] }, seed);
  const encoder = makeEncoder();
  const result = await train({ task, taskConfig, encoder, source, config: trainerCfg, runDir, progress: !!options.progress, log });
  const trainSeconds = result.seconds;
  await saveLayersModel(encoder, path.join(runDir, 'encoder'));
  const random = makeEncoder();

  const out: TrainCommandResult = {
    task: s.task,
    method,
    aux: s.aux ?? null,
    auxWeight: s.aux && !s.jointLabels ? s.auxWeight : null,
    jointLabels: s.jointLabels,
    dataset: datasetName,
    encoder: encoderName,
    backend: backend.name,
    threads: backend.threads,
    epochs: result.epochs,
    steps: result.steps,
    trainImages: s.task === 'fewshot' ? countIn(trainData.labels, s.trainClasses!) : trainData.size,
    labelledImages: s.task === 'fewshot' ? countIn(trainData.labels, s.trainClasses!) : labelled.size,
    labels: s.labels,
    finalLoss: result.history.at(-1)?.loss ?? NaN,
    trainSeconds,
    seconds: 0,
    runDir,
  };
  const table: Array<{ name: string; value: string }> = [];
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
  let embed: FeatureSet;
  if (s.task === 'fewshot') {
    log(`few-shot test on held-out classes [${s.testClasses!.join(', ')}] (test split, ${s.testEpisodes} episodes per setting)...`);
    const testAll = load('test', cfg.probe.testLimit);
    const test = testAll.subset(Array.from(testAll.labels!.keys()).filter((i) => s.testClasses!.includes(testAll.labels![i]!)));
    const fTrained = await extractFeatures(encoder, test);
    const fRandom = await extractFeatures(random, test);
    out.fewShot = s.evalShots.map((kShot) => {
      const opts = { nWay: shape.nWay, kShot, nQuery: shape.nQuery, episodes: s.testEpisodes, classes: s.testClasses!, seed };
      return { trained: evaluateFewShot(fTrained, opts), randomInit: evaluateFewShot(fRandom, opts) };
    });
    out.trainClasses = s.trainClasses!;
    out.testClasses = s.testClasses!;
    for (const r of out.fewShot) {
      const f = (x: FewShotResult) => `${(100 * x.accuracy).toFixed(2)} ± ${(100 * x.ci95).toFixed(2)} %`;
      table.push({ name: `${r.trained.nWay}-way ${r.trained.kShot}-shot, held-out classes, trained`, value: f(r.trained) });
      table.push({ name: `${r.trained.nWay}-way ${r.trained.kShot}-shot, held-out classes, random init`, value: f(r.randomInit) });
    }
    embed = fTrained;
  } else {
    log('evaluating: classifier head and linear probe on the labelled images, beside random init...');
    const test = load('test', cfg.probe.testLimit);
    const head = result.heads[s.jointLabels || !s.aux ? 'classifier' : 'main_classifier']!;
    const fTest = await extractFeatures(encoder, test);
    if (s.jointLabels) out.headAccuracy = await jointLabelAccuracy(encoder, head, test, registry.find(s.aux!).transformations!, numClasses);
    else {
      const pred = tf.tidy(() => (head.apply(tf.tensor2d(fTest.features, [fTest.n, fTest.dim])) as tf.Tensor).argMax(-1).dataSync());
      let ok = 0;
      for (let i = 0; i < fTest.n; i++) if (pred[i] === fTest.labels![i]) ok++;
      out.headAccuracy = ok / fTest.n;
    }
    const opts = { epochs: cfg.probe.epochs, seed };
    out.probeAccuracy = (await linearProbe(await extractFeatures(encoder, labelled), fTest, opts)).accuracy;
    out.randomInitProbeAccuracy = (await linearProbe(await extractFeatures(random, labelled), await extractFeatures(random, test), opts)).accuracy;
    table.push({
      name: `classifier head, test top-1${s.jointLabels ? ` (${registry.find(s.aux!).transformations!.count} ${s.aux} transformations aggregated)` : ''}`,
      value: pct(out.headAccuracy),
    });
    table.push({ name: `linear probe on ${labelled.size} labelled images, trained encoder`, value: pct(out.probeAccuracy) });
    table.push({ name: 'linear probe, same encoder at random init', value: pct(out.randomInitProbeAccuracy) });
    embed = fTest;
  }
  out.seconds = (performance.now() - start) / 1000;
  table.push(
    { name: 'Final training loss', value: out.finalLoss.toFixed(4) },
    { name: 'Training time (s)', value: trainSeconds.toFixed(0) },
    { name: 'Total time (s)', value: out.seconds.toFixed(0) },
  );
  await fsp.writeFile(path.join(runDir, 'results.json'), JSON.stringify(out, null, 2) + '\n');
  await writeRunReport(runDir, {
    title: `${method} on ${datasetName}`,
    subtitle: `encoder ${encoderName}, ${result.epochs} epochs, ${result.steps} steps, seed ${seed}, backend ${backend.name}, ${out.seconds.toFixed(0)} s`,
    config: { ...cfg, train: s },
    history: result.history,
    table,
    embed,
    ...(trainData.classNames ? { classNames: trainData.classNames } : {}),
  });
  tf.dispose(Object.values(result.heads).flatMap((h) => h.weights.map((w) => w.read())));
  encoder.dispose();
  random.dispose();

  return { result: out, table };
}

/** Stacks a labelled batch and an unlabelled one (its labels set to -1) into one batch. */
export function semiBatch(labelled: ImageBatch, unlabelled: ImageBatch): ImageBatch {
  if (!labelled.labels) throw new SslError('The labelled half of a semi-supervised batch has no labels.');
  const images = new Float32Array(labelled.images.length + unlabelled.images.length);
  images.set(labelled.images);
  images.set(unlabelled.images, labelled.images.length);
  const labels = new Int32Array(labelled.n + unlabelled.n).fill(-1);
  labels.set(labelled.labels);
  const indices = new Int32Array(labelled.n + unlabelled.n);
  indices.set(labelled.indices);
  indices.set(unlabelled.indices, labelled.n);
  return { ...unlabelled, images, n: labelled.n + unlabelled.n, labels, indices };
}

function countIn(labels: Int32Array, classes: number[]): number {
  const set = new Set(classes);
  let n = 0;
  for (const l of labels) if (set.has(l)) n++;
  return n;
}
