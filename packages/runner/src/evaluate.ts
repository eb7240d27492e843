import type * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { SslError, initBackend } from '@ssl/core';
import { loadLayersModel, loadLayersModelArchitecture } from '@ssl/encoders';
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
  const plan = planRun(catalogue, cfg, task, { trainLimit: Math.min(cfg.limit, 64), log });
  const noProbe = plan.dataset.probeUnavailable?.(plan.arg, plan.ctx);
  if (noProbe) throw new SslError(`Cannot evaluate run "${options.run}": ${noProbe}`);
  const protocol = options.protocol ?? plan.dataset.protocol?.name ?? 'linear';
  const encoder = await loadLayersModel(path.join(options.run, 'encoder'));
  const random = await randomInitBaseline(path.join(options.run, 'encoder'), encoder, plan.createEncoder);
  const opts = {
    protocol,
    labelFraction: options.labelFraction ?? 1,
    knn: false,
    features: false,
    options: { ...(options.protocol ? {} : (plan.dataset.protocol?.options ?? {})), ...(options.options ?? {}) },
  };
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

/**
 * The random-init baseline: the SAVED encoder's architecture (encoder/model.json) with its seeded
 * initial weights, so an edited config.json cannot change it. Encoders whose layers tfjs cannot
 * rebuild from JSON fall back to the run config's build, which must then match the saved weights' shapes.
 */
async function randomInitBaseline(dir: string, saved: tf.LayersModel, fromConfig: () => tf.LayersModel): Promise<tf.LayersModel> {
  let random: tf.LayersModel;
  try {
    random = await loadLayersModelArchitecture(dir);
  } catch (e) {
    if (e instanceof SslError) throw e;
    random = fromConfig();
  }
  const shapes = (m: tf.LayersModel) => JSON.stringify(m.weights.map((w) => w.shape));
  if (shapes(random) !== shapes(saved)) {
    random.dispose();
    throw new SslError(
      `The run's config.json does not describe its saved encoder "${dir}/model.json" (different weight shapes). Restore config.json or re-run the training.`,
    );
  }
  return random;
}
