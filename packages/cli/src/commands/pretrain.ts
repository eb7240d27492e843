import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { RESUMABLE_TRAINER_FIELDS, Rng, SslError, applyResumeChanges, initBackend, openRunDir, parseWith, train, trainerConfigSchema, type AnyPretextTask, type DataSource, type Heads, type Registry } from '@ssl/core';
import { ENCODERS, saveLayersModel } from '@ssl/encoders';
import { pca2d, pngDataUrl, renderReport } from '@ssl/eval';
import { z } from 'zod';
import { numberFlag, parseFlags, parseSets } from '../args';
import { buildEncoder, datasetNames, knnScore, probeScore, resolveDataset, taskView, type ProbeFeatures } from '../datasets';
import type { Io } from '../io';
import { VERSION, probeSchema, readRunConfig, runConfigSchema, runDataContext, type RunConfig } from '../run-config';

export const PRETRAIN_HELP = `Usage: ssl pretrain --method NAME [options]

Pretrains an encoder with a pretext task, then measures a linear probe beside the same
encoder at random initialisation.

Options:
  --method NAME        pretext task (see \`ssl list\`); default rotation
  --dataset D          see \`ssl list\` (default mnist)
  --data-dir DIR       folder holding the dataset files (fashion-mnist)
  --encoder NAME       ${Object.keys(ENCODERS).join(' | ')} (default: the dataset's)
  --epochs N           passes over the data (default: the method's)
  --batch-size N       images per step (default: the method's)
  --limit N            training images used (default: the method's)
  --seed S             seed for everything random (default 0)
  --out DIR            run directory (default runs/<method>-<dataset>-seed<S>); an existing run
                       or a non-empty folder is refused unless --resume or --force
  --force              overwrite the run (or files) in --out
  --image-size N       resize every image to N×N (image folders of mixed sizes)
  --test-fraction F    image folders without train/ and test/: fraction of each class held
                       out (seeded) for the probe; default 0.2
  --backend B          tensorflow | wasm | cpu (default: fastest available)
  --set key=value      any trainer, method, encoder or probe field (repeatable),
                       e.g. --set lr=0.001 --set probe.epochs=50
  --resume             continue the run in --out from its last checkpoint; flags given with it
                       (--epochs, --set lr=…, probe settings) are applied and recorded in
                       config.json, flags that would change the run (method, data, encoder) refused
  --json               print one JSON object with the results
`;

/** Flags every run command shares (`ssl pretrain`, `ssl train`): data, encoder, budget, output. */
export const RUN_FLAGS = {
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  encoder: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  limit: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  'image-size': { type: 'string' },
  'test-fraction': { type: 'string' },
  backend: { type: 'string' },
  set: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

const FLAGS = { method: { type: 'string' }, ...RUN_FLAGS, resume: { type: 'boolean' } } as const;

const cliNumbers = z
  .object({
    epochs: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(2).optional(),
    limit: z.number().int().min(2).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    imageSize: z.number().int().min(4).max(4096).optional(),
    testFraction: z.number().gt(0).lt(1).optional(),
  })
  .strict();

/** Keys `--set` accepts for a task, with where each goes. */
function settableKeys(task: AnyPretextTask, encoderName: string) {
  const shapeOf = (s: z.ZodTypeAny): string[] => (s instanceof z.ZodObject ? Object.keys(s.shape) : []);
  return {
    trainer: shapeOf(trainerConfigSchema),
    task: shapeOf(task.config),
    encoder: shapeOf(ENCODERS[encoderName as keyof typeof ENCODERS]?.config ?? z.object({})),
    probe: shapeOf(probeSchema).map((k) => `probe.${k}`),
  };
}

/** Builds and validates a run config from flags (or reads it back for --resume). */
export function buildRunConfig(registry: Registry, values: Record<string, unknown>): RunConfig {
  const sets = parseSets(values.set as string[] | undefined);
  const method = (values.method as string | undefined) ?? 'rotation';
  const task = registry.find(method);
  const dataset = (values.dataset as string | undefined) ?? 'mnist';
  const encoder = (values.encoder as string | undefined) ?? task.defaultEncoder ?? resolveDataset(dataset).dataset.defaultEncoder;
  if (!(encoder in ENCODERS)) throw new SslError(`Unknown encoder "${encoder}". Must be one of [${Object.keys(ENCODERS).join(', ')}].`);
  const nums = parseWith(
    cliNumbers,
    Object.fromEntries(
      Object.entries({ epochs: values.epochs, batchSize: values['batch-size'], limit: values.limit, seed: values.seed, imageSize: values['image-size'], testFraction: values['test-fraction'] })
        .map(([k, v]) => [k, numberFlag(k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v as string | undefined)])
        .filter(([, v]) => v !== undefined),
    ),
    'option',
  );
  const keys = settableKeys(task, encoder);
  const trainer: Record<string, unknown> = { ...(task.trainDefaults ?? {}) };
  delete trainer.limit;
  const taskConfig: Record<string, unknown> = {};
  const encoderConfig: Record<string, unknown> = {};
  const probe: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(sets)) {
    if (keys.trainer.includes(k)) trainer[k] = v;
    else if (keys.task.includes(k)) taskConfig[k] = v;
    else if (keys.encoder.includes(k)) encoderConfig[k] = v;
    else if (keys.probe.includes(k)) probe[k.slice('probe.'.length)] = v;
    else {
      const all = [...keys.trainer, ...keys.task, ...keys.encoder, ...keys.probe];
      throw new SslError(`Unknown --set key "${k}" for method "${method}" with encoder "${encoder}". Must be one of [${all.join(', ')}].`);
    }
  }
  if (nums.epochs !== undefined) trainer.epochs = nums.epochs;
  if (nums.batchSize !== undefined) trainer.batchSize = nums.batchSize;
  if (nums.seed !== undefined) trainer.seed = nums.seed;
  const parsedTrainer = parseWith(trainerConfigSchema, trainer, 'trainer settings');
  return parseWith(
    runConfigSchema,
    {
      version: VERSION,
      method,
      dataset,
      ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      ...(nums.imageSize !== undefined ? { imageSize: nums.imageSize } : {}),
      ...(nums.testFraction !== undefined ? { testFraction: nums.testFraction } : {}),
      limit: nums.limit ?? task.trainDefaults?.limit ?? 10000,
      encoder,
      encoderConfig: parseWith(ENCODERS[encoder as keyof typeof ENCODERS].config as z.ZodTypeAny, encoderConfig, `encoder "${encoder}" config`) as Record<string, unknown>,
      taskConfig: registry.parseConfigOf(method, taskConfig) as Record<string, unknown>,
      trainer: parsedTrainer,
      probe: parseWith(probeSchema, probe, 'probe settings'),
      seed: parsedTrainer.seed,
      createdAt: new Date().toISOString(),
    },
    'run config',
  );
}

/** The results `ssl pretrain --json` prints. */
export interface PretrainResult {
  method: string;
  dataset: string;
  encoder: string;
  backend: string;
  epochs: number;
  steps: number;
  trainImages: number;
  finalLoss: number;
  /** What the probe measures, e.g. "linear probe top-1". */
  probeMetric: string;
  /** The probe's score for the pretrained encoder (for the default probe: test top-1 accuracy). */
  probeAccuracy: number;
  randomInitProbeAccuracy: number;
  knnAccuracy: number;
  randomInitKnnAccuracy: number;
  /** Training images consumed per second (pretraining only). */
  imagesPerSec: number;
  /** Pretext examples per second (e.g. 4 rotations per image). */
  examplesPerSec: number;
  seconds: number;
  runDir: string;
}

/** `ssl pretrain`: pretrain, export the encoder, probe it beside random init, write the report. */
export async function pretrainCommand(argv: string[], io: Io, registry: Registry): Promise<number> {
  const { values } = parseFlags('pretrain', argv, FLAGS);
  if (values.help) {
    io.out(PRETRAIN_HELP);
    return 0;
  }
  const start = performance.now();
  let cfg: RunConfig;
  let runDir: string;
  if (values.resume) {
    if (!values.out) throw new SslError('--resume needs --out DIR: the run directory to continue.');
    if (values.force) throw new SslError('--resume and --force contradict each other: --resume continues the run in --out, --force replaces it. Pass one.');
    runDir = values.out;
    await openRunDir({ dir: runDir, resume: true });
    cfg = resumeRunConfig(registry, readRunConfig(runDir), values, io);
  } else {
    cfg = buildRunConfig(registry, values);
    runDir = values.out ?? path.join('runs', `${cfg.method}-${cfg.dataset.replace(/[^a-z0-9]+/gi, '_')}-seed${cfg.seed}`);
    await openRunDir({ dir: runDir, force: !!values.force });
  }
  const task = registry.find(cfg.method);
  const backend = await initBackend({ ...(values.backend ? { backend: values.backend } : {}), log: io.err });

  const { dataset, arg } = resolveDataset(cfg.dataset);
  if (task.modality !== dataset.modality) {
    throw new SslError(`Method "${cfg.method}" trains on ${task.modality} data but dataset "${cfg.dataset}" is ${dataset.modality} data. Pick a ${task.modality} dataset (one of [${datasetNames(task.modality).join(', ')}]).`);
  }
  const ctx = { ...runDataContext(cfg), log: io.err };
  const trainSet = dataset.trainSource(arg, { ...ctx, limit: cfg.limit });
  // What the encoder sees (e.g. only L for colorization): the probe and kNN must feed it the same.
  const view = taskView(task, cfg.taskConfig);
  const probeCtx = { ...ctx, trainLimit: cfg.probe.trainLimit, testLimit: cfg.probe.testLimit, ...(view ? { view } : {}) };
  const probeOpts = { epochs: cfg.probe.epochs, seed: cfg.seed };
  io.err(`method ${cfg.method} · dataset ${cfg.dataset} (${trainSet.size} train examples, input ${dataset.inputShape(trainSet).join('×')}) · encoder ${cfg.encoder} · seed ${cfg.seed} · run ${runDir}`);

  // A resume rewrites config.json too: it records the changes it applied (cfg.resumes).
  await fsp.writeFile(path.join(runDir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');

  // The baseline: the very same encoder (name, config, seed) before any training.
  const encoder = buildEncoder(dataset, cfg.encoder, cfg.encoderConfig, trainSet, cfg.seed);
  // Data without labels (an unlabelled image folder) pretrains; the probe is skipped, saying why.
  const noProbe = dataset.probeUnavailable?.(arg, ctx);
  const skipped = { metric: 'linear probe top-1', value: NaN };
  if (noProbe) io.err(`probe skipped: ${noProbe}`);
  else io.err('probing the random-init encoder...');
  const randomFeatures = noProbe ? undefined : await dataset.probeFeatures(encoder, arg, probeCtx);
  const randomInit = randomFeatures ? await probeScore(dataset, randomFeatures, probeOpts) : skipped;
  const randomInitKnn = randomFeatures ? await knnScore(dataset, randomFeatures) : NaN;

  const result = await train({
    task,
    taskConfig: cfg.taskConfig,
    encoder,
    source: trainSet,
    config: cfg.trainer,
    runDir,
    resume: !!values.resume,
    progress: !values.json,
    log: io.err,
    monitor: noProbe ? undefined : async () => {
      const f = await dataset.probeFeatures(encoder, arg, { ...probeCtx, trainLimit: Math.min(5000, cfg.probe.trainLimit), testLimit: Math.min(2000, cfg.probe.testLimit) });
      return { knn: await knnScore(dataset, f) };
    },
  });
  await saveLayersModel(encoder, path.join(runDir, 'encoder'));
  for (const line of (await dataset.exportArtifacts?.(encoder, arg, { ...ctx, runDir })) ?? []) io.err(line);

  if (!noProbe) io.err('probing the pretrained encoder...');
  const features = noProbe ? undefined : await dataset.probeFeatures(encoder, arg, probeCtx);
  const probed = features ? await probeScore(dataset, features, probeOpts) : skipped;
  const probe = probed.value;
  const randomInitProbe = randomInit.value;
  const knn = features ? await knnScore(dataset, features) : NaN;
  const seconds = (performance.now() - start) / 1000;
  const out: PretrainResult = {
    method: cfg.method,
    dataset: cfg.dataset,
    encoder: cfg.encoder,
    backend: backend.name,
    epochs: result.epochs,
    steps: result.steps,
    trainImages: trainSet.size,
    probeMetric: probed.metric,
    finalLoss: result.history.at(-1)?.loss ?? NaN,
    probeAccuracy: probe,
    randomInitProbeAccuracy: randomInitProbe,
    knnAccuracy: knn,
    randomInitKnnAccuracy: randomInitKnn,
    imagesPerSec: result.inputsPerSec,
    examplesPerSec: result.examplesPerSec,
    seconds,
    runDir,
  };
  await fsp.writeFile(path.join(runDir, 'results.json'), JSON.stringify(out, null, 2) + '\n');
  const images = await writeTaskImages(runDir, task, cfg, encoder, result.heads, trainSet);
  await writeReport(runDir, cfg, out, result.history, features, (trainSet as { classNames?: string[] }).classNames, images);
  tf.dispose(Object.values(result.heads).flatMap((h) => h.weights.map((w) => w.read())));
  encoder.dispose();

  if (values.json) io.out(JSON.stringify(out));
  else {
    const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
    if (noProbe) io.out(`probe skipped: ${noProbe}`);
    else io.out(`${probed.metric}: pretrained ${pct(probe)}   random init ${pct(randomInitProbe)}   (${probe >= randomInitProbe ? '+' : ''}${(100 * (probe - randomInitProbe)).toFixed(2)} points)`);
    if (!Number.isNaN(knn)) io.out(`kNN (k=20): pretrained ${pct(knn)}   random init ${pct(randomInitKnn)}`);
    io.out(`${result.epochs} epochs, ${result.steps} steps on ${backend.name} in ${seconds.toFixed(0)} s; run saved to ${runDir} (report.html, encoder/model.json)`);
  }
  return 0;
}

async function writeReport(
  runDir: string,
  cfg: RunConfig,
  r: PretrainResult,
  history: Array<{ step: number; loss: number }>,
  features: ProbeFeatures | undefined,
  classNames: string[] | undefined,
  images: Array<{ caption: string; dataUrl: string }> = [],
): Promise<void> {
  const n = features ? Math.min(2000, features.test.n) : 0;
  const embedding = features && {
    points: pca2d(features.test.features.subarray(0, n * features.test.dim), n, features.test.dim),
    labels: (features.test.labels ?? new Int32Array(n)).subarray(0, n),
    ...(classNames ? { classNames } : {}),
  };
  const pct = (v: number) => (Number.isNaN(v) ? 'n/a (no probe)' : `${(100 * v).toFixed(2)} %`);
  const html = renderReport({
    title: `${cfg.method} on ${cfg.dataset}`,
    subtitle: `encoder ${cfg.encoder}, ${r.epochs} epochs, seed ${cfg.seed}, backend ${r.backend}, ${r.seconds.toFixed(0)} s`,
    config: cfg,
    lossCurve: history.map((h) => ({ step: h.step, loss: h.loss })),
    table: [
      { name: `${r.probeMetric}, pretrained`, value: pct(r.probeAccuracy) },
      { name: `${r.probeMetric}, same encoder at random init`, value: pct(r.randomInitProbeAccuracy) },
      { name: 'kNN k=20, pretrained', value: pct(r.knnAccuracy) },
      { name: 'kNN k=20, random init', value: pct(r.randomInitKnnAccuracy) },
      { name: 'Final pretext loss', value: r.finalLoss.toFixed(4) },
      ...(cfg.resumes ?? []).map((x, i) => ({
        name: `Resume ${i + 1} (${x.at})`,
        value: x.changed.length ? x.changed.map((c) => `${c.key} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join(', ') : 'no settings changed',
      })),
      { name: 'Training throughput (images/s)', value: r.imagesPerSec.toFixed(1) },
      { name: 'Training throughput (pretext examples/s)', value: r.examplesPerSec.toFixed(1) },
    ],
    ...(embedding ? { embedding } : {}),
    ...(images.length ? { images } : {}),
  });
  await fsp.writeFile(path.join(runDir, 'report.html'), html);
}

/**
 * Asks the task for report pictures (its optional `reportImages` hook) on 8 training examples,
 * writes each as `<runDir>/<caption>.png` and returns them as data URLs for report.html.
 */
async function writeTaskImages(
  runDir: string,
  task: AnyPretextTask,
  cfg: RunConfig,
  encoder: tf.LayersModel,
  heads: Heads,
  source: DataSource<unknown>,
): Promise<Array<{ caption: string; dataUrl: string }>> {
  if (!task.reportImages) return [];
  const n = Math.min(8, source.size);
  const raw = source.batch(Int32Array.from({ length: n }, (_, i) => i), Rng.derive(cfg.seed, 'report-images'));
  const pictures = task.reportImages({ config: cfg.taskConfig, encoder, heads, raw });
  const out: Array<{ caption: string; dataUrl: string }> = [];
  for (const p of pictures) {
    const dataUrl = pngDataUrl(p.pixels, p.height, p.width, p.channels);
    const file = `${p.caption.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase() || 'image'}.png`;
    await fsp.writeFile(path.join(runDir, file), Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
    out.push({ caption: p.caption, dataUrl });
  }
  return out;
}

/** Where a `--set` key lives in a run config: `probe.x`, `trainer.x`, `taskConfig.x` or `encoderConfig.x`. */
function setPath(cfg: RunConfig, key: string): string {
  const bare = key.replace(/^(trainer|task|encoder)\./, '');
  if (key.startsWith('probe.')) return key;
  if (!key.startsWith('task.') && !key.startsWith('encoder.') && bare in trainerConfigSchema.shape) return `trainer.${bare}`;
  if (!key.startsWith('encoder.') && bare in cfg.taskConfig) return `taskConfig.${bare}`;
  if (bare in cfg.encoderConfig) return `encoderConfig.${bare}`;
  throw new SslError(`Unknown --set key "${key}" for the run (method "${cfg.method}", encoder "${cfg.encoder}"). Run \`ssl list\` to see the fields.`);
}

/**
 * The run config for `--resume`: the saved one, with the flags given now applied and recorded in
 * `resumes` (more epochs, a new lr, probe settings), or refused by name (another method, dataset,
 * encoder, seed, batch size or method setting). Never ignores a flag.
 */
export function resumeRunConfig(registry: Registry, saved: RunConfig, values: Record<string, unknown>, io?: Io): RunConfig {
  const req: Record<string, unknown> = {};
  const num = (flag: string) => numberFlag(flag, values[flag] as string | undefined);
  for (const [flag, key] of [['method', 'method'], ['dataset', 'dataset'], ['encoder', 'encoder'], ['data-dir', 'dataDir']] as const) {
    if (values[flag] !== undefined) req[key] = values[flag];
  }
  for (const [flag, key] of [['epochs', 'trainer.epochs'], ['batch-size', 'trainer.batchSize'], ['seed', 'seed'], ['limit', 'limit'], ['image-size', 'imageSize'], ['test-fraction', 'testFraction']] as const) {
    const v = num(flag);
    if (v !== undefined) req[key] = v;
  }
  for (const [k, v] of Object.entries(parseSets(values.set as string[] | undefined))) req[setPath(saved, k)] = v;
  const mutable = [...RESUMABLE_TRAINER_FIELDS.map((k) => `trainer.${k}`), 'probe.*', 'dataDir'];
  const { config, changed } = applyResumeChanges(saved as RunConfig & Record<string, unknown>, req, mutable);
  registry.find(config.method);
  for (const c of changed) io?.err(`resume: ${c.key} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`);
  const next = { ...config, resumes: [...(saved.resumes ?? []), { at: new Date().toISOString(), changed }] };
  return parseWith(runConfigSchema, next, 'run config after --resume');
}
