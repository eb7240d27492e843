import path from 'node:path';
import { initBackend } from '@ssl/core';
import { loadLayersModel } from '@ssl/encoders';
import { builtinCatalogue, type Catalogue } from './catalogue';
import { readRunConfig } from './config';
import { planRun } from './pipeline';

/** Options of {@link evaluateRun}. */
export interface EvaluateOptions {
  /** The run directory (`--out` of a pretraining or training run). */
  run: string;
  /** Protocol name (default: the dataset's, e.g. `linear`). */
  protocol?: string;
  /** Options of the protocol (e.g. `{ epochs: 5 }` for fine-tuning). */
  options?: Record<string, unknown>;
  /** Fraction of labelled training items (class-balanced, seeded); default 1. */
  labelFraction?: number;
  catalogue?: Catalogue;
  backend?: string;
  log?: (line: string) => void;
}

/** What {@link evaluateRun} returns (`ssl eval --json` prints it). */
export interface EvaluateResult {
  run: string;
  method: string;
  dataset: string;
  protocol: string;
  metric: string;
  labels: number;
  accuracy: number;
  randomInitAccuracy: number;
  backend: string;
  seconds: number;
}

/**
 * Evaluates a run's saved encoder with a protocol, beside the same encoder at random init.
 *
 * @example
 * const r = await evaluateRun({ run: 'runs/rotation-mnist-seed0', protocol: 'knn' });
 * r.accuracy > r.randomInitAccuracy;
 */
export async function evaluateRun(options: EvaluateOptions): Promise<EvaluateResult> {
  const catalogue = options.catalogue ?? builtinCatalogue();
  const log = options.log ?? (() => {});
  const cfg = readRunConfig(options.run);
  if (options.protocol) catalogue.protocols.find(options.protocol);
  // `ssl train` runs (method "train:...") hold a supervised encoder with no registered pretext task.
  const task = cfg.method.startsWith('train:') ? undefined : catalogue.tasks.find(cfg.method);
  const backend = await initBackend({ ...(options.backend ? { backend: options.backend } : {}), log });
  const start = performance.now();
  const plan = planRun(catalogue, cfg, task, { trainLimit: Math.min(cfg.limit, 64) });
  const protocol = options.protocol ?? plan.dataset.protocol?.name ?? 'linear';
  const encoder = await loadLayersModel(path.join(options.run, 'encoder'));
  const random = plan.createEncoder();
  const opts = { protocol, labelFraction: options.labelFraction ?? 1, knn: false, features: false, options: { ...(options.protocol ? {} : (plan.dataset.protocol?.options ?? {})), ...(options.options ?? {}) } };
  try {
    const trained = await plan.evaluate(encoder, opts);
    const baseline = await plan.evaluate(random, opts);
    return {
      run: options.run,
      method: cfg.method,
      dataset: cfg.dataset,
      protocol,
      metric: trained.score.metric,
      labels: opts.labelFraction,
      accuracy: trained.score.value,
      randomInitAccuracy: baseline.score.value,
      backend: backend.name,
      seconds: (performance.now() - start) / 1000,
    };
  } finally {
    encoder.dispose();
    random.dispose();
  }
}
