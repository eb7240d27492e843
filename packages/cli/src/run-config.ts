import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SslError, formatZodError, trainerConfigSchema } from '@ssl/core';
import { z } from 'zod';

/** The CLI's version, recorded in every run's config.json. */
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

export type RunConfig = z.output<typeof runConfigSchema>;

/** Reads and validates `DIR/config.json`; a folder that is not a run says so and how to fix it. */
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

/** The data settings of a run (`--data-dir`, `--image-size`, `--test-fraction`, seed) as datasets take them. */
export function runDataContext(cfg: RunConfig): { seed: number; dataDir?: string; imageSize?: number; testFraction?: number } {
  return {
    seed: cfg.seed,
    ...(cfg.dataDir ? { dataDir: cfg.dataDir } : {}),
    ...(cfg.imageSize ? { imageSize: cfg.imageSize } : {}),
    ...(cfg.testFraction ? { testFraction: cfg.testFraction } : {}),
  };
}
