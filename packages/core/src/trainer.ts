import * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { readCheckpoint, removeStaleTempFiles, writeCheckpoint, type StoredTensor } from './checkpoint';
import { COLLAPSE_FRACTION, embeddingStats } from './collapse';
import { SslError, parseWith } from './errors';
import { withMemoryGuard } from './memory';
import { applyForTraining } from './lean-apply';
import { Optimizer, learningRateAt } from './optimizer';
import { createProgress } from './progress';
import { Rng } from './rng';
import type { AnyPretextTask, Heads, PretextBatch, RawBatch, TaskConfig, TaskState } from './task';
import type { DataSource } from './types';

/** Trainer settings, validated with zod; every field has a default. */
export const trainerConfigSchema = z
  .object({
    epochs: z.number().int().min(1).max(100_000).default(5).describe('passes over the training data'),
    batchSize: z.number().int().min(2).max(65_536).default(128).describe('raw examples per step'),
    optimizer: z.enum(['adam', 'sgd']).default('adam').describe('adam, or sgd with momentum'),
    lr: z.number().positive().max(10).default(1e-3).describe('peak learning rate'),
    momentum: z.number().min(0).max(0.999999).default(0.9).describe('SGD momentum'),
    weightDecay: z.number().min(0).max(1).default(0).describe('decoupled weight decay on kernels'),
    schedule: z.enum(['cosine', 'constant', 'linear']).default('cosine').describe('learning-rate schedule after warm-up (linear: decay to 0, as word2vec)'),
    warmupEpochs: z.number().min(0).default(0).describe('linear warm-up length in epochs'),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0)
      .describe('seed for data order, augmentations and heads'),
    checkpointEvery: z.number().int().min(0).default(50).describe('steps between checkpoints besides each epoch end (0: epoch ends only)'),
    monitorEvery: z.number().int().min(0).default(0).describe('epochs between monitor (kNN) runs; 0 disables'),
    embeddingEvery: z
      .number()
      .int()
      .min(0)
      .default(10)
      .describe('steps between collapse measurements (embedding std, effective rank) of tasks that report an embedding; 0 disables'),
  })
  .strict();

/** Parsed trainer settings. */
export type TrainerConfig = z.output<typeof trainerConfigSchema>;
/** Trainer settings as users write them. */
export type TrainerConfigInput = z.input<typeof trainerConfigSchema>;

/** One line of metrics.jsonl. */
export interface MetricRecord {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  [extra: string]: number;
}

/** Options of {@link train}. */
export interface TrainOptions<T extends AnyPretextTask> {
  task: T;
  /** The task's config (validated; defaults filled). */
  taskConfig?: Partial<TaskConfig<T>>;
  /** The shared encoder, a LayersModel from features [n, ...inputShape] → [n, d]. */
  encoder: tf.LayersModel;
  source: DataSource<RawBatch<T['modality']>>;
  config?: TrainerConfigInput;
  /** Run directory for checkpoint and metrics.jsonl; omit to train in memory only. */
  runDir?: string;
  /** Continue from `runDir/checkpoint.ckpt` (same config and seed give the same result). */
  resume?: boolean;
  /** Called every `monitorEvery` epochs (e.g. a kNN monitor); its numbers join the metrics. */
  monitor?: (epoch: number) => Promise<Record<string, number>>;
  /** Progress bar on stderr (only shown on a TTY). */
  progress?: boolean;
  log?: (line: string) => void;
  /** Stops (as if killed) after this many global steps; for tests of resume. */
  stopAfterSteps?: number;
}

/** What {@link train} returns. */
export interface TrainResult {
  heads: Heads;
  history: MetricRecord[];
  steps: number;
  epochs: number;
  seconds: number;
  /** Raw inputs (e.g. images) consumed per second. */
  inputsPerSec: number;
  /** Training examples per second after the task's expansion (e.g. ×4 rotations). */
  examplesPerSec: number;
  stoppedEarly: boolean;
}

interface CheckpointMeta {
  version: 1;
  task: string;
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  optimizerT: number;
  history: MetricRecord[];
}

const CHECKPOINT = 'checkpoint.ckpt';

function variablesOf(encoder: tf.LayersModel, heads: Heads): tf.LayerVariable[] {
  return [...encoder.weights, ...Object.values(heads).flatMap((h) => h.weights)];
}

function trainableOf(encoder: tf.LayersModel, heads: Heads): tf.Variable[] {
  const vs = [...encoder.trainableWeights, ...Object.values(heads).flatMap((h) => h.trainableWeights)];
  return vs.map((w) => w.read() as tf.Variable);
}

function collectTensors(model: tf.LayerVariable[], opt: Optimizer, state: TaskState | undefined): Array<{ name: string; v: tf.Tensor }> {
  const out: Array<{ name: string; v: tf.Tensor }> = [];
  model.forEach((w, i) => out.push({ name: `model/${i}/${w.originalName}`, v: w.read() }));
  opt.stateVariables().forEach((v, i) => out.push({ name: `optimizer/${i}`, v }));
  state?.variables().forEach((v, i) => out.push({ name: `state/${i}`, v }));
  return out;
}

/**
 * The one training loop for every method: seeded epochs over a data source, the task's data
 * construction and loss, Adam/SGD with cosine warm-up schedule and decoupled weight decay,
 * a NaN/Inf guard, atomic checkpoints with exact resume, metrics.jsonl and a progress bar.
 *
 * @example
 * const encoder = createConvNet({ seed: 0 });
 * const result = await train({ task: rotationTask, encoder, source: mnistTrain,
 *   config: { epochs: 2, batchSize: 64, seed: 0 }, runDir: 'runs/rot' });
 */
export async function train<T extends AnyPretextTask>(options: TrainOptions<T>): Promise<TrainResult> {
  const { task, encoder, source, runDir } = options;
  const cfg = parseWith(trainerConfigSchema, stripLimit({ ...(task.trainDefaults ?? {}), ...(options.config ?? {}) }), 'trainer config');
  const taskConfig = parseWith(task.config, options.taskConfig ?? {}, `config for "${task.name}"`);
  const log = options.log ?? (() => {});
  if (source.modality !== task.modality) {
    throw new SslError(`Task "${task.name}" consumes ${task.modality} data but the data source gives ${source.modality}. Pick a ${task.modality} dataset.`);
  }
  if (source.size < 2) throw new SslError(`The data source has ${source.size} examples; training needs at least 2. Raise --limit or check the dataset.`);
  const batchSize = Math.min(cfg.batchSize, source.size);
  if (task.fit) {
    // The task runs its own optimiser (see PretextTaskSpec.fit); the trainer's loop is skipped.
    const t0 = performance.now();
    log(
      `training ${task.name} with its own optimiser: ${cfg.epochs} epochs × ${Math.ceil(source.size / batchSize)} batches of ${batchSize} examples (lr ${cfg.lr}, seed ${cfg.seed})`,
    );
    const { history } = await task.fit({
      config: taskConfig,
      encoder,
      source: source as never,
      epochs: cfg.epochs,
      batchSize,
      lr: cfg.lr,
      seed: cfg.seed,
      log,
    });
    if (runDir) {
      await fsp.mkdir(runDir, { recursive: true });
      await fsp.writeFile(path.join(runDir, 'metrics.jsonl'), history.map((h) => JSON.stringify(h) + '\n').join(''));
    }
    const seconds = (performance.now() - t0) / 1000;
    const inputsPerSec = (source.size * cfg.epochs) / Math.max(seconds, 1e-9);
    return { heads: {}, history, steps: history.length, epochs: cfg.epochs, seconds, inputsPerSec, examplesPerSec: inputsPerSec, stoppedEarly: false };
  }
  const stepsPerEpoch = Math.max(1, Math.floor(source.size / batchSize));
  const totalSteps = stepsPerEpoch * cfg.epochs;
  const inputShape = (encoder.inputs[0]!.shape as Array<number | null>).slice(1).map((d) => d ?? 0);
  const featureDim = (encoder.outputs[0]!.shape as Array<number | null>).at(-1) ?? 0;
  const headRng = Rng.derive(cfg.seed, 'heads');
  const headCtx = { config: taskConfig, featureDim, inputShape, seed: headRng.seed(), encoder };
  const heads: Heads = task.createHeads(headCtx);
  const state = task.createState?.({ ...headCtx, encoder, heads }) as TaskState | undefined;
  const vars = trainableOf(encoder, heads);
  const optimizer = new Optimizer({ kind: cfg.optimizer, momentum: cfg.momentum, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: cfg.weightDecay }, vars);
  const warmupSteps = Math.round(cfg.warmupEpochs * stepsPerEpoch);
  const perInput = task.examplesPerInput?.(taskConfig) ?? 1;

  let epoch = 0;
  let stepInEpoch = 0;
  let globalStep = 0;
  let history: MetricRecord[] = [];
  let collapseWarned: boolean | undefined;
  const ckptFile = runDir ? path.join(runDir, CHECKPOINT) : undefined;
  const metricsFile = runDir ? path.join(runDir, 'metrics.jsonl') : undefined;

  // Checkpoint temp files of killed runs (their process is gone) would otherwise stay forever.
  if (ckptFile) await removeStaleTempFiles(ckptFile);
  // The step of the checkpoint on disk, for the guard's message; undefined while there is none.
  let checkpointStep: number | undefined;

  if (options.resume) {
    if (!ckptFile) throw new SslError('Resume needs a run directory (--out DIR) that holds checkpoint.ckpt.');
    const ckpt = await readCheckpoint<CheckpointMeta>(ckptFile);
    if (ckpt.meta.task !== task.name) {
      throw new SslError(`Checkpoint in "${runDir}" is for method "${ckpt.meta.task}", not "${task.name}". Resume with --method ${ckpt.meta.task}.`);
    }
    const targets = collectTensors(variablesOf(encoder, heads), optimizer, state);
    if (targets.length !== ckpt.tensors.length) {
      throw new SslError(
        `Checkpoint in "${runDir}" holds ${ckpt.tensors.length} tensors but this model has ${targets.length}: the encoder or config changed. Resume with the run's own config.json.`,
      );
    }
    targets.forEach((t, i) => {
      const s = ckpt.tensors[i]!;
      if (s.data.length !== t.v.size)
        throw new SslError(
          `Checkpoint tensor ${s.name} has ${s.data.length} values, the model expects ${t.v.size} (${t.name}). Resume with the run's own config.`,
        );
      tf.tidy(() => (t.v as tf.Variable).assign(tf.tensor(s.data, t.v.shape, 'float32')));
    });
    ({ epoch, stepInEpoch, globalStep, history } = ckpt.meta);
    if (epoch > cfg.epochs)
      throw new SslError(
        `Checkpoint in "${runDir}" has already trained ${epoch} epochs; epochs ${cfg.epochs} would go back. Resume with --epochs ${epoch} or more.`,
      );
    checkpointStep = globalStep;
    optimizer.t = ckpt.meta.optimizerT;
    if (metricsFile) await fsp.writeFile(metricsFile, metricsLines(history));
    log(`resumed from ${ckptFile} at epoch ${epoch + 1}, step ${globalStep}`);
  } else if (metricsFile) {
    await fsp.mkdir(runDir!, { recursive: true });
    await fsp.writeFile(metricsFile, '');
  }

  // Metric lines are buffered and written with each checkpoint (and at the end), so the loop does
  // no file I/O per step; a resumed run rewrites the file from the checkpoint's history anyway.
  let pendingMetrics = '';
  const flushMetrics = async () => {
    if (metricsFile && pendingMetrics) await fsp.appendFile(metricsFile, pendingMetrics);
    pendingMetrics = '';
  };

  // The guard's one line: what went non-finite, which checkpoint is kept, and a fix that works.
  const diverged = (what: string, lr: number, shownEpoch = epoch + 1) => {
    // A tenth of the peak, at most the trainer's default (a diverged lr is rarely 10× too high only).
    const lower = Number(Math.min(cfg.lr / 10, 1e-3).toPrecision(2));
    // A finite checkpoint can still be far gone (weights of 1e13 after the loss exploded): resuming
    // from it diverges again, so the advice is to start over when its loss was 100× the first one.
    const first = history[0]?.loss ?? NaN;
    const atCheckpoint = checkpointStep !== undefined ? history[checkpointStep - 1]?.loss : undefined;
    const gone = atCheckpoint !== undefined && Math.abs(atCheckpoint) > 100 * Math.max(Math.abs(first), 1e-6);
    const kept =
      ckptFile === undefined
        ? 'Lower the learning rate'
        : checkpointStep === undefined
          ? `no checkpoint was written yet. Lower the learning rate and start again with --force --set lr=${lower}`
          : gone
            ? `the last finite checkpoint (step ${checkpointStep}) is kept in ${ckptFile}, but its loss ${atCheckpoint.toPrecision(3)} was already far above the first step's ${first.toPrecision(3)}, so resuming it would diverge again. Lower the learning rate and start again with --force --set lr=${lower}`
            : `the last finite checkpoint (step ${checkpointStep}) is kept in ${ckptFile}. Lower the learning rate and continue from it with --resume --set lr=${lower}`;
    return new SslError(
      `${what} at epoch ${shownEpoch}, step ${globalStep} (lr ${lr.toExponential(2)}). Training stopped; ${kept} (or check the data for NaN/Inf).`,
      { exitCode: 3 },
    );
  };

  const saveCheckpoint = async (lr: number, shownEpoch = epoch + 1) => {
    await flushMetrics();
    if (!ckptFile) return;
    const tensors: StoredTensor[] = [];
    for (const t of collectTensors(variablesOf(encoder, heads), optimizer, state)) {
      tensors.push({ name: t.name, shape: t.v.shape, data: (await t.v.data()) as Float32Array });
    }
    // A checkpoint only counts as good when every weight, optimizer slot and statistic is finite.
    const bad = firstNonFinite(tensors);
    if (bad) throw diverged(`Tensor ${bad.name} became ${bad.value}`, lr, shownEpoch);
    const meta: CheckpointMeta = { version: 1, task: task.name, epoch, stepInEpoch, globalStep, optimizerT: optimizer.t, history };
    await writeCheckpoint(ckptFile, { meta, tensors });
    checkpointStep = globalStep;
  };

  log(`training ${task.name}: ${cfg.epochs} epochs × ${stepsPerEpoch} steps of ${batchSize} examples (${cfg.optimizer}, lr ${cfg.lr}, seed ${cfg.seed})`);
  const t0 = performance.now();
  let timedExamples = 0;
  let stoppedEarly = false;
  try {
    while (epoch < cfg.epochs) {
      const order = Rng.derive(cfg.seed, 'epoch', epoch).permutation(source.size);
      const bar = createProgress({ label: `epoch ${epoch + 1}/${cfg.epochs}`, total: stepsPerEpoch, enabled: options.progress ?? false });
      const epochStart = performance.now();
      let epochExamples = 0;
      let lastLoss = NaN;
      for (; stepInEpoch < stepsPerEpoch; ) {
        if (options.stopAfterSteps !== undefined && globalStep >= options.stopAfterSteps) {
          stoppedEarly = true;
          await flushMetrics();
          return finish();
        }
        const idx = order.subarray(stepInEpoch * batchSize, (stepInEpoch + 1) * batchSize);
        const rng = Rng.derive(cfg.seed, 'step', globalStep);
        const lr = learningRateAt(globalStep, totalSteps, cfg.lr, warmupSteps, cfg.schedule);
        const raw = source.batch(idx, rng.fork('data'));
        // Collapse monitoring: on measured steps the task's loss may hand over its embedding.
        let embedding = undefined as tf.Tensor2D | undefined;
        const measure = cfg.embeddingEvery > 0 && globalStep % cfg.embeddingEvery === 0;
        const monitorEmbedding = (z: tf.Tensor2D) => {
          if (measure && !embedding) embedding = tf.keep(z.clone());
        };
        const { value, grads, batch } = withMemoryGuard(
          () =>
            tf.tidy(() => {
              const b: PretextBatch = task.prepare(raw as never, { config: taskConfig, rng: rng.fork('task'), training: true });
              const encode = (x: tf.Tensor) => applyForTraining(encoder, x) as tf.Tensor2D;
              const r = tf.variableGrads(
                () => task.loss({ config: taskConfig, encoder, heads, batch: b, state, training: true, encode, monitorEmbedding }),
                vars,
              );
              return { value: r.value, grads: vars.map((v) => r.grads[v.name]), batch: b };
            }),
          { batchSize: idx.length, encoder: encoder.name, inputShape },
        );
        const loss = (await value.data())[0]!;
        if (!Number.isFinite(loss)) {
          await flushMetrics();
          embedding?.dispose();
          tf.dispose([value, ...grads.filter((g): g is tf.Tensor => !!g), ...Object.values(batch)]);
          throw diverged(`Loss became ${loss}`, lr);
        }
        optimizer.apply(grads, lr);
        state?.afterStep?.({ encoder, heads, batch, step: globalStep, totalSteps });
        tf.dispose([value, ...grads.filter((g): g is tf.Tensor => !!g), ...Object.values(batch)]);

        const rec: MetricRecord = { step: globalStep, epoch, loss, lr };
        history.push(rec);
        pendingMetrics += JSON.stringify(rec) + '\n';
        if (embedding) {
          const [n, d] = embedding.shape;
          const s = embeddingStats(await embedding.data(), n, d);
          embedding.dispose();
          // Same layout as the monitor's numbers: merged into the step's record, own line in metrics.jsonl.
          const extra = { embStd: s.std, embRank: s.effectiveRank };
          Object.assign(rec, extra);
          pendingMetrics += JSON.stringify({ step: globalStep, epoch, ...extra }) + '\n';
          // Warn once per run: derived from the (possibly resumed) history on the first measurement, then kept.
          collapseWarned ??= history.slice(0, -1).some((h) => h.embStd !== undefined && h.embStd < COLLAPSE_FRACTION / Math.sqrt(d));
          if (s.collapsed && !collapseWarned) {
            collapseWarned = true;
            log(
              `warning: the embedding collapsed at step ${globalStep}: std of the L2-normalised embeddings ${s.std.toExponential(2)} < ${COLLAPSE_FRACTION}/√${d} (healthy ≈ ${(1 / Math.sqrt(d)).toFixed(3)}), effective rank ${s.effectiveRank.toFixed(1)} of ${d}; the representation is near-constant. Check the method's stop-gradient or lower the lr.`,
            );
          }
        }
        stepInEpoch++;
        globalStep++;
        lastLoss = loss;
        epochExamples += idx.length;
        timedExamples += idx.length;
        const secs = (performance.now() - epochStart) / 1000;
        bar.update(stepInEpoch, { loss, 'ex/s': (epochExamples * perInput) / Math.max(secs, 1e-9) });
        if (cfg.checkpointEvery > 0 && globalStep % cfg.checkpointEvery === 0 && stepInEpoch < stepsPerEpoch) await saveCheckpoint(lr);
      }
      const secs = (performance.now() - epochStart) / 1000;
      bar.finish();
      epoch++;
      stepInEpoch = 0;
      const extra: Record<string, number> = {};
      if (options.monitor && cfg.monitorEvery > 0 && epoch % cfg.monitorEvery === 0) Object.assign(extra, await options.monitor(epoch));
      if (Object.keys(extra).length && history.length) {
        Object.assign(history[history.length - 1]!, extra);
        pendingMetrics += JSON.stringify({ step: globalStep - 1, epoch: epoch - 1, ...extra }) + '\n';
      }
      log(
        `epoch ${epoch}/${cfg.epochs}  loss ${lastLoss.toFixed(4)}  ${((epochExamples * perInput) / secs).toFixed(0)} ex/s  ${secs.toFixed(1)}s` +
          Object.entries(extra)
            .map(([k, v]) => `  ${k} ${v.toFixed(4)}`)
            .join(''),
      );
      await saveCheckpoint(learningRateAt(Math.max(0, globalStep - 1), totalSteps, cfg.lr, warmupSteps, cfg.schedule), epoch);
    }
    await flushMetrics();
    return finish();
  } finally {
    optimizer.dispose();
    state?.dispose();
  }

  function finish(): TrainResult {
    const seconds = (performance.now() - t0) / 1000;
    const inputsPerSec = timedExamples / Math.max(seconds, 1e-9);
    return { heads, history, steps: globalStep, epochs: epoch, seconds, inputsPerSec, examplesPerSec: inputsPerSec * perInput, stoppedEarly };
  }
}

/** The first non-finite value among stored tensors, with the tensor's name; undefined when all are finite. */
function firstNonFinite(tensors: StoredTensor[]): { name: string; value: number } | undefined {
  for (const t of tensors) {
    const d = t.data;
    for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return { name: t.name, value: d[i]! };
  }
  return undefined;
}

/** metrics.jsonl as the loop appends it: a step line, then a monitor line where one ran. */
function metricsLines(history: MetricRecord[]): string {
  return history
    .map(({ step, epoch, loss, lr, ...extra }) => {
      const line = JSON.stringify({ step, epoch, loss, lr });
      return Object.keys(extra).length ? `${line}\n${JSON.stringify({ step, epoch, ...extra })}` : line;
    })
    .map((l) => `${l}\n`)
    .join('');
}

// `limit` belongs to the data, not the loop; task defaults may carry it.
function stripLimit(c: TrainerConfigInput & { limit?: number }): TrainerConfigInput {
  const { limit: _limit, ...rest } = c;
  return rest;
}
