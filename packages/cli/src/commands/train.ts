import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SslError, initBackend, openRunDir, parseWith, train, trainerConfigSchema, type AnyPretextTask, type DataSource, type ImageBatch, type Registry } from '@ssl/core';
import { rotationBatch } from '@ssl/context';
import { loadDataset, type ImageDataset } from '@ssl/data';
import { ENCODERS, createEncoder, saveLayersModel } from '@ssl/encoders';
import {
  episodicSource,
  evaluateFewShot,
  extractFeatures,
  jointLabelAccuracy,
  jointLabelTask,
  labelFractionSplit,
  linearProbe,
  parseLabelFraction,
  pca2d,
  prototypicalTask,
  renderReport,
  supervisedTask,
  withAuxiliary,
  type FeatureSet,
  type FewShotResult,
} from '@ssl/eval';
import { z } from 'zod';
import { numberFlag, parseFlags, parseSets, type FlagValues } from '../args';
import { resolveDataset } from '../datasets';
import type { Io } from '../io';
import { VERSION, probeSchema, runConfigSchema, type RunConfig } from '../run-config';
import { RUN_FLAGS } from './pretrain';

/** The `--task` choices of `ssl train`. */
export const TRAIN_TASKS = ['supervised', 'fewshot', 'semi'] as const;
export type TrainTaskKind = (typeof TRAIN_TASKS)[number];

export const TRAIN_HELP = `Usage: ssl train --task supervised|fewshot|semi [--aux NAME] [options]

Task-related self-supervision (Lee et al. 2019; Gidaris et al. 2019; Zhai et al. 2019): trains
an encoder on a labelled task, optionally with a pretext task as auxiliary loss (main + λ · aux),
then evaluates it beside the same encoder at random init. Image datasets with labels only.

Tasks:
  supervised   encoder + linear classifier, cross-entropy on the labelled images
               (with --labels F: only a class-balanced fraction F keeps its labels, repeated
               so training takes as many steps as --task semi on --limit images)
  semi         S4L: each step holds the supervised-only step's labelled batch plus as many
               images from all --limit images (labels hidden); cross-entropy on the labelled
               half (--labels, default 10%) + λ · aux loss on every image; needs --aux
  fewshot      prototypical networks, episodic N-way K-shot training on --train-classes;
               tested on the held-out classes (test split) at 1 and 5 shots, ≥ 600 episodes

Options:
  --task T             ${TRAIN_TASKS.join(' | ')} (default supervised)
  --aux NAME           auxiliary pretext task (any registered image task, see \`ssl list\`), e.g. rotation
  --aux-weight λ       weight of the auxiliary loss (default 1)
  --labels F           labelled fraction, 1% | 10% | ... (supervised: default 100%, semi: default 10%)
  --joint-labels       supervised with joint (class, rotation) labels, 4C-way (Lee et al.)
  --train-classes L    fewshot: training classes, e.g. 0-4 or 0,2,4 (default: the first half);
                       every other class is held out for testing
  --episodes N         fewshot: training episodes per epoch (default 200)
  --test-episodes N    fewshot: test episodes per shot setting (default 600)
  --eval-shots L       fewshot: shots to test, e.g. 1,5 (default 1,5)
  --dataset D          image dataset (default mnist); --data-dir DIR for fashion-mnist
  --encoder NAME       ${Object.keys(ENCODERS).join(' | ')} (default convnet)
  --epochs N           passes over the data (default 3; fewshot 1)
  --batch-size N       images per step (default 64; fewshot: one episode, N·(K+Q))
  --limit N            training images read from the train split (default 6000)
  --seed S             seed for everything random (default 0)
  --out DIR            run directory (default runs/train-<task>[-<aux>]-<dataset>-seed<S>);
                       an existing run or a non-empty folder is refused unless --force
  --force              overwrite the run (or files) in --out
  --image-size N       resize every image to N×N (image folders of mixed sizes)
  --test-fraction F    image folders without train/ and test/: held-out share of each class (0.2)
  --backend B          tensorflow | wasm | cpu (default: fastest available)
  --set key=value      trainer, main-task (e.g. nWay, kShot, nQuery), aux-task (aux.KEY),
                       encoder or probe (probe.KEY) field; repeatable
  --json               print one JSON object with the results
`;

const FLAGS = {
  task: { type: 'string' },
  aux: { type: 'string' },
  'aux-weight': { type: 'string' },
  labels: { type: 'string' },
  'joint-labels': { type: 'boolean' },
  'train-classes': { type: 'string' },
  episodes: { type: 'string' },
  'test-episodes': { type: 'string' },
  'eval-shots': { type: 'string' },
  ...RUN_FLAGS,
} as const;

/** Settings of `ssl train` beyond a pretraining run's; written to `train.json` in the run directory. */
export const trainSettingsSchema = z
  .object({
    task: z.enum(TRAIN_TASKS).describe('supervised, fewshot or semi'),
    aux: z.string().optional().describe('registry name of the auxiliary pretext task'),
    auxWeight: z.number().min(0).default(1).describe('λ, weight of the auxiliary loss'),
    labels: z.number().gt(0).max(1).default(1).describe('labelled fraction of the training images'),
    jointLabels: z.boolean().default(false).describe('joint (class, rotation) labels instead of a separate auxiliary head'),
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
export function parseTrainSettings(registry: Registry, values: FlagValues): TrainSettings {
  const task = (values.task as string | undefined) ?? 'supervised';
  if (!(TRAIN_TASKS as readonly string[]).includes(task)) throw new SslError(`Unknown --task "${task}". Must be one of [${TRAIN_TASKS.join(', ')}].`);
  const kind = task as TrainTaskKind;
  let aux = values.aux as string | undefined;
  if (aux !== undefined) {
    const t = registry.find(aux);
    if (t.modality !== 'image') throw new SslError(`--aux "${aux}" reads ${t.modality} data; \`ssl train\` trains on images. Pick an image pretext task (e.g. rotation).`);
  }
  const auxWeight = numberFlag('aux-weight', values['aux-weight'] as string | undefined);
  if (auxWeight !== undefined && !(auxWeight >= 0)) throw new SslError(`Invalid --aux-weight ${auxWeight}: must be a number ≥ 0.`);
  if (auxWeight !== undefined && aux === undefined) throw new SslError('--aux-weight needs --aux NAME: the auxiliary task it weighs.');
  const joint = !!values['joint-labels'];
  if (joint) {
    if (kind !== 'supervised') throw new SslError(`--joint-labels works with --task supervised, not "${kind}".`);
    if (aux !== undefined && aux !== 'rotation') throw new SslError(`--joint-labels combines the class with the rotation; it cannot use --aux "${aux}". Drop --aux or use --aux rotation.`);
    if (auxWeight !== undefined) throw new SslError('--joint-labels has no auxiliary loss to weigh; drop --aux-weight.');
    aux = 'rotation';
  }
  if (kind === 'semi' && aux === undefined) {
    throw new SslError('--task semi (S4L) needs --aux NAME, the pretext task trained on the unlabelled images (e.g. --aux rotation). For the supervised-only baseline use --task supervised --labels F.');
  }
  let labels = 1;
  if (values.labels !== undefined) {
    if (kind === 'fewshot') throw new SslError('--labels does not apply to --task fewshot (episodes use every training-class image). Drop --labels.');
    labels = parseLabelFraction(values.labels as string);
  } else if (kind === 'semi') labels = 0.1;
  if (kind === 'semi' && labels === 1) throw new SslError('--task semi needs a labelled fraction below 100% (e.g. --labels 10%); with every label use --task supervised.');
  const fewOnly = (['train-classes', 'episodes', 'test-episodes', 'eval-shots'] as const).filter((f) => values[f] !== undefined);
  if (kind !== 'fewshot' && fewOnly.length) throw new SslError(`--${fewOnly[0]} applies to --task fewshot only, not "${kind}".`);
  const episodes = numberFlag('episodes', values.episodes as string | undefined);
  const testEpisodes = numberFlag('test-episodes', values['test-episodes'] as string | undefined);
  const evalShots = values['eval-shots'] === undefined ? undefined : (values['eval-shots'] as string).split(',').map((s) => numberFlag('eval-shots', s));
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
  if (s.jointLabels) return jointLabelTask(rotationBatch);
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

/** `ssl train`: task-related self-supervision; same run directory, config.json and report as `ssl pretrain`. */
export async function trainCommand(argv: string[], io: Io, registry: Registry): Promise<number> {
  const { values } = parseFlags('train', argv, FLAGS);
  if (values.help) {
    io.out(TRAIN_HELP);
    return 0;
  }
  const start = performance.now();
  const s = parseTrainSettings(registry, values);
  const task = buildTrainTask(registry, s);
  const datasetName = (values.dataset as string | undefined) ?? 'mnist';
  const { dataset } = resolveDataset(datasetName);
  if (dataset.modality !== 'image') throw new SslError(`\`ssl train\` needs an image dataset; "${datasetName}" is ${dataset.modality} data.`);
  const encoderName = (values.encoder as string | undefined) ?? dataset.defaultEncoder;
  if (!(encoderName in ENCODERS)) throw new SslError(`Unknown encoder "${encoderName}". Must be one of [${Object.keys(ENCODERS).join(', ')}].`);
  if (s.task === 'fewshot' && values['batch-size'] !== undefined) throw new SslError('--task fewshot trains on one episode per step (N·(K+Q) images); drop --batch-size and set nWay / kShot / nQuery with --set.');

  // --set routing: trainer, main task, aux task (aux.KEY), encoder, probe (probe.KEY).
  const mainTask = s.jointLabels ? task : s.task === 'fewshot' ? prototypicalTask : supervisedTask;
  const auxTask = !s.jointLabels && s.aux ? registry.find(s.aux) : undefined;
  const keysOf = (schema: z.ZodTypeAny) => (schema instanceof z.ZodObject ? Object.keys(schema.shape) : []);
  const trainer: Record<string, unknown> = { ...(s.task === 'fewshot' ? FEWSHOT_DEFAULTS : { epochs: DEFAULTS.epochs, batchSize: DEFAULTS.batchSize, lr: DEFAULTS.lr }) };
  const mainCfg: Record<string, unknown> = {};
  const auxCfg: Record<string, unknown> = {};
  const encCfg: Record<string, unknown> = {};
  const probe: Record<string, unknown> = {};
  const encoderSchema = ENCODERS[encoderName as keyof typeof ENCODERS].config as z.ZodTypeAny;
  for (const [k, v] of Object.entries(parseSets(values.set as string[] | undefined))) {
    if (keysOf(trainerConfigSchema).includes(k)) trainer[k] = v;
    else if (keysOf(mainTask.config).includes(k) && k !== 'numClasses') mainCfg[k] = v;
    else if (auxTask && k.startsWith('aux.') && keysOf(auxTask.config).includes(k.slice(4))) auxCfg[k.slice(4)] = v;
    else if (keysOf(encoderSchema).includes(k)) encCfg[k] = v;
    else if (k.startsWith('probe.') && keysOf(probeSchema).includes(k.slice(6))) probe[k.slice(6)] = v;
    else {
      const all = [
        ...keysOf(trainerConfigSchema),
        ...keysOf(mainTask.config).filter((x) => x !== 'numClasses'),
        ...(auxTask ? keysOf(auxTask.config).map((x) => `aux.${x}`) : []),
        ...keysOf(encoderSchema),
        ...keysOf(probeSchema).map((x) => `probe.${x}`),
      ];
      throw new SslError(`Unknown --set key "${k}" for \`ssl train --task ${s.task}\`${s.aux ? ` --aux ${s.aux}` : ''}. Must be one of [${all.join(', ')}].`);
    }
  }
  const nums = {
    epochs: numberFlag('epochs', values.epochs as string | undefined),
    batchSize: numberFlag('batch-size', values['batch-size'] as string | undefined),
    limit: numberFlag('limit', values.limit as string | undefined),
    seed: numberFlag('seed', values.seed as string | undefined),
    imageSize: numberFlag('image-size', values['image-size'] as string | undefined),
    testFraction: numberFlag('test-fraction', values['test-fraction'] as string | undefined),
  };
  if (nums.epochs !== undefined) trainer.epochs = nums.epochs;
  if (nums.batchSize !== undefined) trainer.batchSize = nums.batchSize;
  if (nums.seed !== undefined) trainer.seed = nums.seed;
  if (nums.limit !== undefined && !(Number.isInteger(nums.limit) && nums.limit >= 2)) throw new SslError(`Invalid --limit ${nums.limit}: must be a whole number ≥ 2.`);
  const limit = nums.limit ?? DEFAULTS.limit;
  const dataDir = values['data-dir'] as string | undefined;
  if (nums.imageSize !== undefined && !(Number.isInteger(nums.imageSize) && nums.imageSize >= 4)) throw new SslError(`Invalid --image-size ${nums.imageSize}: must be a whole number ≥ 4, e.g. --image-size 32.`);
  if (nums.testFraction !== undefined && !(nums.testFraction > 0 && nums.testFraction < 1)) throw new SslError(`Invalid --test-fraction ${nums.testFraction}: must be between 0 and 1, e.g. --test-fraction 0.2.`);
  const { imageSize, testFraction } = nums;
  const load = (split: 'train' | 'test', n: number) =>
    loadDataset(datasetName, { split, limit: n, ...(dataDir ? { dataDir } : {}), ...(imageSize ? { size: [imageSize, imageSize] as [number, number] } : {}), ...(testFraction ? { testFraction } : {}) });
  const trainData = load('train', limit);
  if (!trainData.labels) throw new SslError(`Dataset "${datasetName}" has no labels; \`ssl train\` needs a labelled dataset.`);
  const numClasses = trainData.numClasses ?? 2;

  // Few-shot class split: training classes, and every other class held out.
  if (s.task === 'fewshot') {
    const train = s.trainClasses ?? Array.from({ length: Math.floor(numClasses / 2) }, (_, i) => i);
    const bad = train.filter((c) => c >= numClasses);
    if (bad.length) throw new SslError(`--train-classes [${bad.join(', ')}] ${bad.length > 1 ? 'are' : 'is'} not a class of "${datasetName}" (classes 0-${numClasses - 1}).`);
    s.trainClasses = train;
    s.testClasses = Array.from({ length: numClasses }, (_, i) => i).filter((c) => !train.includes(c));
  }

  const taskConfig = parseWith(
    task.config,
    s.jointLabels ? { numClasses } : s.aux ? { main: s.task === 'fewshot' ? mainCfg : { numClasses }, aux: auxCfg, weight: s.auxWeight } : s.task === 'fewshot' ? mainCfg : { numClasses },
    `config for "${task.name}"`,
  ) as Record<string, unknown>;
  const shape = (s.aux && !s.jointLabels ? taskConfig.main : taskConfig) as { nWay: number; kShot: number; nQuery: number };
  if (s.task === 'fewshot') {
    if (s.testClasses!.length < shape.nWay) {
      throw new SslError(`${shape.nWay}-way testing needs at least ${shape.nWay} held-out classes, but --train-classes leaves ${s.testClasses!.length} ([${s.testClasses!.join(', ')}]). Train on fewer classes or lower nWay (--set nWay=...).`);
    }
    if (s.trainClasses!.length < shape.nWay) throw new SslError(`${shape.nWay}-way training episodes need at least ${shape.nWay} training classes; --train-classes gives ${s.trainClasses!.length}.`);
    trainer.batchSize = shape.nWay * (shape.kShot + shape.nQuery);
  }
  const trainerCfg = parseWith(trainerConfigSchema, trainer, 'trainer settings');
  const seed = trainerCfg.seed;
  const method = `train:${s.task}${s.jointLabels ? '+joint-rotation' : s.aux ? `+${s.aux}` : ''}`;
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
      encoderConfig: parseWith(encoderSchema, encCfg, `encoder "${encoderName}" config`),
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
  const runDir = (values.out as string | undefined) ?? path.join('runs', `train-${s.task}${auxTag}${labelTag}-${datasetName.replace(/[^a-z0-9]+/gi, '_')}-seed${seed}`);
  // Never clobbers: an existing run or a non-empty folder needs --force (ssl train has no --resume).
  await openRunDir({ dir: runDir, force: !!values.force, resumable: false });
  const backend = await initBackend({ ...(values.backend ? { backend: values.backend as string } : {}), log: io.err });

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
      source = { modality: 'image', size: trainData.size, batch: (idx, rng) => semiBatch(labelled.batch(Int32Array.from(idx, (i) => i % labelled.size), rng), trainData.batch(idx, rng)) };
    } else {
      // The labelled subset, repeated up to --limit rows: as many steps as semi on all the images.
      source = { modality: 'image', size: trainData.size, batch: (idx, rng) => labelled.batch(Int32Array.from(idx, (i) => i % labelled.size), rng) };
    }
  } else source = trainData;

  const what = s.task === 'fewshot' ? `train classes [${s.trainClasses!.join(', ')}], held out [${s.testClasses!.join(', ')}]` : `${labelled.size} labelled of ${trainData.size}`;
  io.err(`train ${s.task} (${task.name}) · dataset ${datasetName} (${what}) · encoder ${encoderName} · seed ${seed} · run ${runDir}`);
  await fsp.writeFile(path.join(runDir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  await fsp.writeFile(path.join(runDir, 'train.json'), JSON.stringify(s, null, 2) + '\n');

  const makeEncoder = () => createEncoder(encoderName, cfg.encoderConfig, [trainData.height, trainData.width, trainData.channels], seed);
  const encoder = makeEncoder();
  const result = await train({ task, taskConfig, encoder, source, config: trainerCfg, runDir, progress: !values.json, log: io.err });
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
    io.err(`few-shot test on held-out classes [${s.testClasses!.join(', ')}] (test split, ${s.testEpisodes} episodes per setting)...`);
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
    io.err('evaluating: classifier head and linear probe on the labelled images, beside random init...');
    const test = load('test', cfg.probe.testLimit);
    const headName = s.jointLabels ? 'classifier' : s.aux ? 'main_classifier' : 'classifier';
    const head = result.heads[headName]!;
    const fTest = await extractFeatures(encoder, test);
    if (s.jointLabels) out.headAccuracy = await jointLabelAccuracy(encoder, head, test, rotationBatch, numClasses);
    else {
      const pred = tf.tidy(() => (head.apply(tf.tensor2d(fTest.features, [fTest.n, fTest.dim])) as tf.Tensor).argMax(-1).dataSync());
      let ok = 0;
      for (let i = 0; i < fTest.n; i++) if (pred[i] === fTest.labels![i]) ok++;
      out.headAccuracy = ok / fTest.n;
    }
    const opts = { epochs: cfg.probe.epochs, seed };
    out.probeAccuracy = (await linearProbe(await extractFeatures(encoder, labelled), fTest, opts)).accuracy;
    out.randomInitProbeAccuracy = (await linearProbe(await extractFeatures(random, labelled), await extractFeatures(random, test), opts)).accuracy;
    table.push({ name: `classifier head, test top-1${s.jointLabels ? ' (4 rotations aggregated)' : ''}`, value: pct(out.headAccuracy) });
    table.push({ name: `linear probe on ${labelled.size} labelled images, trained encoder`, value: pct(out.probeAccuracy) });
    table.push({ name: 'linear probe, same encoder at random init', value: pct(out.randomInitProbeAccuracy) });
    embed = fTest;
  }
  out.seconds = (performance.now() - start) / 1000;
  table.push({ name: 'Final training loss', value: out.finalLoss.toFixed(4) }, { name: 'Training time (s)', value: trainSeconds.toFixed(0) }, { name: 'Total time (s)', value: out.seconds.toFixed(0) });
  await fsp.writeFile(path.join(runDir, 'results.json'), JSON.stringify(out, null, 2) + '\n');
  const n = Math.min(2000, embed.n);
  await fsp.writeFile(
    path.join(runDir, 'report.html'),
    renderReport({
      title: `${method} on ${datasetName}`,
      subtitle: `encoder ${encoderName}, ${result.epochs} epochs, ${result.steps} steps, seed ${seed}, backend ${backend.name}, ${out.seconds.toFixed(0)} s`,
      config: { ...cfg, train: s },
      lossCurve: result.history.map((h) => ({ step: h.step, loss: h.loss })),
      table,
      embedding: { points: pca2d(embed.features.subarray(0, n * embed.dim), n, embed.dim), labels: (embed.labels ?? new Int32Array(n)).subarray(0, n), ...(trainData.classNames ? { classNames: trainData.classNames } : {}) },
    }),
  );
  tf.dispose(Object.values(result.heads).flatMap((h) => h.weights.map((w) => w.read())));
  encoder.dispose();
  random.dispose();

  if (values.json) io.out(JSON.stringify(out));
  else {
    for (const row of table) io.out(`${row.name}: ${row.value}`);
    io.out(`${result.epochs} epochs, ${result.steps} steps on ${backend.name} in ${out.seconds.toFixed(0)} s; run saved to ${runDir} (report.html, encoder/model.json)`);
  }
  return 0;
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
