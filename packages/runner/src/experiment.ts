import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { SslError, initBackend, openRunDir, train } from '@ssl/core';
import { saveLayersModel } from '@ssl/encoders';
import { builtinCatalogue, type Catalogue } from './catalogue';
import { buildRunConfig, readRunConfig, resumeRunConfig, type ExperimentInput, type RunConfig } from './config';
import { planRun } from './pipeline';
import { writeRunReport, writeTaskImages } from './report';

/** Options of {@link runExperiment}: the user's choices plus where and how to run. */
export interface ExperimentOptions extends ExperimentInput {
  /** Tasks, datasets, protocols and encoders to draw from (default {@link builtinCatalogue}). */
  catalogue?: Catalogue;
  /** Run directory (default `runs/<method>-<dataset>-seed<S>`). */
  out?: string;
  /**
   * Continue the run in `out` from its last checkpoint. Its config.json holds the run; options given
   * with it are applied and recorded (more epochs, a new lr, probe settings) or refused by name.
   */
  resume?: boolean;
  /** Replace whatever run or files `out` holds (otherwise an existing run or a non-empty folder is refused). */
  force?: boolean;
  /** Force a backend: tensorflow | wasm | cpu (default: fastest available). */
  backend?: string;
  /** Threads for the wasm kernels (default: `SSL_THREADS`, else every core). */
  threads?: number;
  /** Log lines (progress, what was saved); default: none. */
  log?: (line: string) => void;
  /** Draw a progress bar on stderr (default false). */
  progress?: boolean;
}

/** What {@link runExperiment} returns and writes to `results.json` (`ssl pretrain --json` prints it). */
export interface ExperimentResult {
  method: string;
  dataset: string;
  encoder: string;
  backend: string;
  /** Threads the wasm kernels ran on. */
  threads: number;
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
  /** Why no probe was measured (an unlabelled image folder); the accuracies are then NaN. */
  probeSkipped?: string;
}

/**
 * One experiment, end to end: config → data → encoder → pretrain → evaluate (pretrained and the
 * same encoder at random init, with the dataset's protocol and kNN) → artefacts (config.json,
 * metrics.jsonl, checkpoint, encoder/, results.json) → report.html.
 *
 * @example
 * const r = await runExperiment({ method: 'rotation', dataset: 'mnist', epochs: 1, limit: 2000, out: 'runs/rot' });
 * console.log(r.probeMetric, r.probeAccuracy, 'vs random init', r.randomInitProbeAccuracy);
 */
export async function runExperiment(options: ExperimentOptions = {}): Promise<ExperimentResult> {
  const catalogue = options.catalogue ?? builtinCatalogue();
  const log = options.log ?? (() => {});
  const start = performance.now();
  let cfg: RunConfig;
  let runDir: string;
  if (options.resume) {
    if (!options.out) throw new SslError('--resume needs --out DIR: the run directory to continue.');
    if (options.force) throw new SslError('--resume and --force contradict each other: --resume continues the run in --out, --force replaces it. Pass one.');
    runDir = options.out;
    await openRunDir({ dir: runDir, resume: true });
    cfg = resumeRunConfig(catalogue, readRunConfig(runDir), options, log);
  } else {
    cfg = buildRunConfig(catalogue, options);
    runDir = options.out ?? path.join('runs', `${cfg.method}-${cfg.dataset.replace(/[^a-z0-9]+/gi, '_')}-seed${cfg.seed}`);
    await openRunDir({ dir: runDir, force: !!options.force });
  }
  const task = catalogue.tasks.find(cfg.method);
  const backend = await initBackend({
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    log,
  });
  const plan = planRun(catalogue, cfg, task, { log });
  log(
    `method ${cfg.method} · dataset ${cfg.dataset} (${plan.train.size} train examples, input ${plan.encoderInputs.inputShape.join('×')}) · encoder ${cfg.encoder} · seed ${cfg.seed} · run ${runDir}`,
  );

  // A resume rewrites config.json too: it records the changes it applied (cfg.resumes).
  await fsp.writeFile(path.join(runDir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');

  // The baseline: the very same encoder (name, config, seed) before any training.
  const encoder = plan.createEncoder();
  // Data without labels (an unlabelled image folder) pretrains; the probe is skipped, saying why.
  const noProbe = plan.dataset.probeUnavailable?.(plan.arg, plan.ctx);
  const skipped = { score: { metric: 'linear probe top-1', value: NaN }, knn: NaN, features: undefined };
  if (noProbe) log(`probe skipped: ${noProbe}`);
  else log('probing the random-init encoder...');
  // Both probes draw a progress bar (on a terminal) and log their time when it was long.
  const probe = async (which: string) => {
    const t0 = performance.now();
    const out = await plan.evaluate(encoder, options.progress ? { progress: which } : {});
    const s = (performance.now() - t0) / 1000;
    if (s > 20) log(`${which} probe done in ${s.toFixed(0)} s (features of the probe's train and test images, then the linear probe and kNN)`);
    return out;
  };
  const randomInit = noProbe ? skipped : await probe('random-init');

  const monitorLimits = { trainLimit: Math.min(5000, cfg.probe.trainLimit), testLimit: Math.min(2000, cfg.probe.testLimit) };
  const result = await train({
    task,
    taskConfig: cfg.taskConfig,
    encoder,
    source: plan.train as never,
    config: cfg.trainer,
    runDir,
    resume: !!options.resume,
    progress: !!options.progress,
    log,
    monitor: async () => {
      if (noProbe || plan.dataset.knn === false) return { knn: NaN };
      return { knn: (await plan.evaluate(encoder, { protocol: 'knn', limits: monitorLimits, knn: false, features: false })).score.value };
    },
  });
  await saveLayersModel(encoder, path.join(runDir, 'encoder'));
  for (const line of (await plan.dataset.exportArtifacts?.(plan.arg, { ...plan.ctx, runDir })) ?? []) log(line);
  for (const line of (await task.exportArtifacts?.({ config: cfg.taskConfig, encoder, source: plan.train as never, runDir })) ?? []) log(line);

  if (!noProbe) log('probing the pretrained encoder...');
  const pretrained = noProbe ? skipped : await probe('pretrained');
  const seconds = (performance.now() - start) / 1000;
  const out: ExperimentResult = {
    method: cfg.method,
    dataset: cfg.dataset,
    encoder: cfg.encoder,
    backend: backend.name,
    threads: backend.threads,
    epochs: result.epochs,
    steps: result.steps,
    trainImages: plan.train.size,
    probeMetric: pretrained.score.metric,
    finalLoss: result.history.at(-1)?.loss ?? NaN,
    probeAccuracy: pretrained.score.value,
    randomInitProbeAccuracy: randomInit.score.value,
    knnAccuracy: pretrained.knn,
    randomInitKnnAccuracy: randomInit.knn,
    imagesPerSec: result.inputsPerSec,
    examplesPerSec: result.examplesPerSec,
    seconds,
    runDir,
    ...(noProbe ? { probeSkipped: noProbe } : {}),
  };
  await fsp.writeFile(path.join(runDir, 'results.json'), JSON.stringify(out, null, 2) + '\n');
  const images = await writeTaskImages(runDir, task, cfg.taskConfig, cfg.seed, encoder, result.heads, plan.train);
  const pct = (v: number) => (Number.isNaN(v) ? 'n/a (no probe)' : `${(100 * v).toFixed(2)} %`);
  await writeRunReport(runDir, {
    title: `${cfg.method} on ${cfg.dataset}`,
    subtitle: `encoder ${cfg.encoder}, ${out.epochs} epochs, seed ${cfg.seed}, backend ${out.backend}, ${out.seconds.toFixed(0)} s`,
    config: cfg,
    history: result.history,
    table: [
      { name: `${out.probeMetric}, pretrained`, value: pct(out.probeAccuracy) },
      { name: `${out.probeMetric}, same encoder at random init`, value: pct(out.randomInitProbeAccuracy) },
      { name: 'kNN k=20, pretrained', value: pct(out.knnAccuracy) },
      { name: 'kNN k=20, random init', value: pct(out.randomInitKnnAccuracy) },
      { name: 'Final pretext loss', value: out.finalLoss.toFixed(4) },
      ...(cfg.resumes ?? []).map((x, i) => ({
        name: `Resume ${i + 1} (${x.at})`,
        value: x.changed.length ? x.changed.map((c) => `${c.key} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`).join(', ') : 'no settings changed',
      })),
      { name: 'Training throughput (images/s)', value: out.imagesPerSec.toFixed(1) },
      { name: 'Training throughput (pretext examples/s)', value: out.examplesPerSec.toFixed(1) },
    ],
    ...(pretrained.features ? { embed: pretrained.features.test } : {}),
    ...((plan.train as { classNames?: string[] }).classNames ? { classNames: (plan.train as { classNames?: string[] }).classNames! } : {}),
    images,
  });
  tf.dispose(Object.values(result.heads).flatMap((h) => h.weights.map((w) => w.read())));
  encoder.dispose();
  return out;
}
