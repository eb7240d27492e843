import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SslError, formatZodError, parseWith, trainerConfigSchema, type AnyPretextTask } from '@ssl/core';
import { z } from 'zod';
import type { Catalogue } from './catalogue';
import { fieldsOf, parseSets, routeSets } from './settings';

/** The method a run uses when none is named: the classic image pretext task, trained in minutes. */
export const DEFAULT_METHOD = 'rotation';

/** The library version, recorded in every run's config.json. */
export const VERSION = '0.1.0';

/** Probe settings shared by pretrain and eval. */
export const probeSchema = z
  .object({
    trainLimit: z.number().int().min(10).default(10000).describe('labelled training images for the probe'),
    testLimit: z.number().int().min(10).default(10000).describe('test images for the probe'),
    epochs: z.number().int().min(1).default(30).describe('epochs of the softmax probe'),
  })
  .strict();

/** Everything needed to reproduce a run; written to `config.json`. */
export const runConfigSchema = z
  .object({
    version: z.string(),
    method: z.string(),
    dataset: z.string(),
    dataDir: z.string().optional(),
    limit: z.number().int().min(2).describe('training images used for pretraining'),
    encoder: z.string(),
    encoderConfig: z.record(z.unknown()),
    taskConfig: z.record(z.unknown()),
    trainer: trainerConfigSchema,
    probe: probeSchema,
    seed: z.number().int(),
    createdAt: z.string(),
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
    throw new SslError(`"${dir}" is not an ssl run directory (no config.json). Pass --run the --out folder of \`ssl pretrain\` (default runs/<method>-<dataset>-seed<seed>).`);
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
  /** Pretext task name (default {@link DEFAULT_METHOD}). */
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
  /** `--set` pairs: an object (`{ 'task.momentum': 0.999 }`) or `key=value` strings. */
  set?: Record<string, unknown> | readonly string[];
}

const numbers = z
  .object({
    epochs: z.number().int().min(1).optional(),
    batchSize: z.number().int().min(2).optional(),
    limit: z.number().int().min(2).optional(),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
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
  const method = input.method ?? DEFAULT_METHOD;
  const task = catalogue.tasks.find(method);
  const dataset = input.dataset ?? 'mnist';
  const encoder = input.encoder ?? task.defaultEncoder ?? catalogue.datasets.resolve(dataset).dataset.defaultEncoder;
  catalogue.encoders.find(encoder);
  const nums = parseWith(
    numbers,
    Object.fromEntries(Object.entries({ epochs: input.epochs, batchSize: input.batchSize, limit: input.limit, seed: input.seed }).filter(([, v]) => v !== undefined)),
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
