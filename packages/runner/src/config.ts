import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RESUMABLE_TRAINER_FIELDS, SslError, applyResumeChanges, formatZodError, parseWith, trainerConfigSchema, type AnyPretextTask } from '@ssl/core';
import type { DatasetContext } from '@ssl/data';
import { z } from 'zod';
import type { Catalogue } from './catalogue';
import { fieldsOf, parseSets, routeSets } from './settings';

/** The library version, recorded in every run's config.json. */
export const VERSION = '0.1.0';

/** Probe settings shared by pretrain and eval. */
export const probeSchema = z
  .object({
    trainLimit: z.number().int().min(10).default(10000).describe('labelled training images for the probe'),
    testLimit: z.number().int().min(10).default(10000).describe('test images for the probe'),
    epochs: z.number().int().min(1).default(30).describe('epochs of the softmax probe'),
    validation: z
      .number()
      .int()
      .min(10)
      .optional()
      .describe(
        'hold this many labelled training items out of the probe (seeded) and score on them instead of the test split: for choosing settings without touching the test split',
      ),
  })
  .strict();

/** Everything needed to reproduce a run; written to `config.json`. */
export const runConfigSchema = z
  .object({
    version: z.string(),
    method: z.string(),
    dataset: z.string(),
    dataDir: z.string().optional(),
    imageSize: z.number().int().min(4).max(4096).optional().describe('--image-size: every image resized to N×N'),
    testFraction: z.number().gt(0).lt(1).optional().describe('--test-fraction: held-out share of each class of an image folder without train/test'),
    limit: z.number().int().min(2).describe('training images used for pretraining'),
    encoder: z.string(),
    encoderConfig: z.record(z.unknown()),
    taskConfig: z.record(z.unknown()),
    trainer: trainerConfigSchema,
    probe: probeSchema,
    seed: z.number().int(),
    createdAt: z.string(),
    resumes: z
      .array(z.object({ at: z.string(), changed: z.array(z.object({ key: z.string(), from: z.unknown(), to: z.unknown() })) }))
      .optional()
      .describe('each --resume: when, and the settings it changed'),
  })
  .strict();

/** A validated run configuration (the content of `config.json`). */
export type RunConfig = z.output<typeof runConfigSchema>;

/**
 * Reads and validates `DIR/config.json`; a folder that is not a run says so and how to fix it.
 *
 * @example
 * const cfg = readRunConfig('runs/rotation-mnist-seed0'); // cfg.method === 'rotation'
 */
export function readRunConfig(dir: string): RunConfig {
  const file = path.join(dir, 'config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new SslError(
      `"${dir}" is not an ssl run directory (no config.json). Pass --run the --out folder of \`ssl pretrain\` (default runs/<method>-<dataset>-seed<seed>).`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SslError(`"${file}" is not valid JSON. Re-run \`ssl pretrain\` to recreate the run.`);
  }
  const r = runConfigSchema.safeParse(json);
  if (!r.success) throw new SslError(formatZodError(r.error, json, `run config "${file}"`));
  return r.data;
}

/** What a user chooses for an experiment; everything else comes from the method's and dataset's defaults. */
export interface ExperimentInput {
  /** Pretext task name (default: the catalogue's `defaultMethod`). */
  method?: string;
  /** `--dataset` value (default `mnist`). */
  dataset?: string;
  dataDir?: string;
  /** Encoder name (default: the task's, else the dataset's). */
  encoder?: string;
  epochs?: number;
  batchSize?: number;
  limit?: number;
  seed?: number;
  /** `--image-size N`: resize every image to N×N (image folders of mixed sizes). */
  imageSize?: number;
  /** `--test-fraction F`: image folders without train/ and test/ hold out F of each class (default 0.2). */
  testFraction?: number;
  /** `--set` pairs: an object (`{ 'task.momentum': 0.999 }`) or `key=value` strings. */
  set?: Record<string, unknown> | readonly string[];
}

const numbers = z
  .object({
    epochs: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(2).optional(),
    limit: z.number().int().min(2).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    imageSize: z.number().int().min(4).max(4096).optional(),
    testFraction: z.number().gt(0).lt(1).optional(),
  })
  .strict();

/** The `--set` namespaces of a pretraining run: trainer, task, encoder and probe fields. */
export function setNamespaces(catalogue: Catalogue, task: AnyPretextTask, encoder: string): Record<string, string[]> {
  return {
    trainer: fieldsOf(trainerConfigSchema),
    task: fieldsOf(task.config),
    encoder: fieldsOf(catalogue.encoders.find(encoder).config),
    probe: fieldsOf(probeSchema),
  };
}

/**
 * Builds and validates a run config from a user's choices: the method's trainer defaults, then
 * the options, then `--set` (routed by namespace).
 *
 * @example
 * const cfg = buildRunConfig(builtinCatalogue(), { method: 'moco', set: { 'task.momentum': 0.999 } });
 */
export function buildRunConfig(catalogue: Catalogue, input: ExperimentInput): RunConfig {
  const sets = Array.isArray(input.set) ? parseSets(input.set as readonly string[]) : ((input.set ?? {}) as Record<string, unknown>);
  const method = input.method ?? catalogue.defaultMethod;
  if (method === undefined) {
    throw new SslError(
      `No method given and the catalogue has no default method. Name one with --method NAME (or the method option, or catalogue.setDefaultMethod), one of [${catalogue.tasks.names().join(', ')}].`,
    );
  }
  const task = catalogue.tasks.find(method);
  const dataset = input.dataset ?? 'mnist';
  const encoder = input.encoder ?? task.defaultEncoder ?? catalogue.datasets.resolve(dataset).dataset.defaultEncoder;
  catalogue.encoders.find(encoder);
  const nums = parseWith(
    numbers,
    Object.fromEntries(
      Object.entries({
        epochs: input.epochs,
        batchSize: input.batchSize,
        limit: input.limit,
        seed: input.seed,
        imageSize: input.imageSize,
        testFraction: input.testFraction,
      }).filter(([, v]) => v !== undefined),
    ),
    'option',
  );
  const routed = routeSets(sets, setNamespaces(catalogue, task, encoder), `method "${method}" with encoder "${encoder}"`);
  const trainer: Record<string, unknown> = { ...(task.trainDefaults ?? {}), ...routed.trainer };
  delete trainer.limit;
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
      ...(input.dataDir ? { dataDir: input.dataDir } : {}),
      ...(nums.imageSize !== undefined ? { imageSize: nums.imageSize } : {}),
      ...(nums.testFraction !== undefined ? { testFraction: nums.testFraction } : {}),
      limit: nums.limit ?? task.trainDefaults?.limit ?? 10000,
      encoder,
      encoderConfig: catalogue.encoders.parseConfig(encoder, routed.encoder),
      taskConfig: catalogue.tasks.parseConfigOf(method, routed.task) as Record<string, unknown>,
      trainer: parsedTrainer,
      probe: parseWith(probeSchema, routed.probe, 'probe settings'),
      seed: parsedTrainer.seed,
      createdAt: new Date().toISOString(),
    },
    'run config',
  );
}

/**
 * The data settings of a run (`--data-dir`, `--image-size`, `--test-fraction`, seed) as datasets take them.
 *
 * @example
 * const ctx = runDataContext(readRunConfig('runs/rotation-mnist-seed0')); // { seed: 0 }
 */
export function runDataContext(cfg: RunConfig): DatasetContext {
  return {
    seed: cfg.seed,
    ...(cfg.dataDir ? { dataDir: cfg.dataDir } : {}),
    ...(cfg.imageSize ? { imageSize: cfg.imageSize } : {}),
    ...(cfg.testFraction ? { testFraction: cfg.testFraction } : {}),
  };
}

/**
 * The run config for `--resume`: the saved one with the options given now applied and recorded in
 * `resumes` (more epochs, a new lr, probe settings), or refused by name (another method, dataset,
 * encoder, seed, batch size or method setting: the checkpoint holds that run's state). Never
 * ignores an option. `--set` keys are routed as for a new run (namespaced, bare where unique).
 *
 * @example
 * const cfg = resumeRunConfig(builtinCatalogue(), readRunConfig(dir), { epochs: 4, set: ['lr=0.0005'] });
 */
export function resumeRunConfig(catalogue: Catalogue, saved: RunConfig, input: ExperimentInput, log?: (line: string) => void): RunConfig {
  const task = catalogue.tasks.find(saved.method);
  const req: Record<string, unknown> = {};
  for (const key of ['method', 'dataset', 'encoder', 'dataDir', 'seed', 'limit', 'imageSize', 'testFraction'] as const) {
    if (input[key] !== undefined) req[key] = input[key];
  }
  if (input.epochs !== undefined) req['trainer.epochs'] = input.epochs;
  if (input.batchSize !== undefined) req['trainer.batchSize'] = input.batchSize;
  const sets = Array.isArray(input.set) ? parseSets(input.set as readonly string[]) : ((input.set ?? {}) as Record<string, unknown>);
  const routed = routeSets(sets, setNamespaces(catalogue, task, saved.encoder), `the run (method "${saved.method}", encoder "${saved.encoder}")`);
  const where: Record<string, string> = { trainer: 'trainer', task: 'taskConfig', encoder: 'encoderConfig', probe: 'probe' };
  for (const [space, fields] of Object.entries(routed)) for (const [k, v] of Object.entries(fields)) req[`${where[space]}.${k}`] = v;
  const mutable = [...RESUMABLE_TRAINER_FIELDS.map((k) => `trainer.${k}`), 'probe.*', 'dataDir'];
  const { config, changed } = applyResumeChanges(saved as RunConfig & Record<string, unknown>, req, mutable);
  for (const c of changed) log?.(`resume: ${c.key} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`);
  return parseWith(runConfigSchema, { ...config, resumes: [...(saved.resumes ?? []), { at: new Date().toISOString(), changed }] }, 'run config after --resume');
}
