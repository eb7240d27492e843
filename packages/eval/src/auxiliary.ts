import * as tf from '@tensorflow/tfjs';
import { SslError, definePretextTask, type AnyPretextTask, type Heads, type PretextBatch, type TaskState } from '@ssl/core';
import { z } from 'zod';

const MAIN = 'main_';
const AUX = 'aux_';

/** Splits a combined record back into the part whose keys start with `prefix` (prefix removed). */
function part<T>(record: Record<string, T>, prefix: string): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(record)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

function prefixed<T>(record: Record<string, T>, prefix: string): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [prefix + k, v]));
}

/** Options of {@link withAuxiliary}. */
export interface AuxiliaryOptions {
  /** λ, the weight of the auxiliary loss (default 1; overridable per run through the config's `weight`). */
  weight?: number;
  /** Registry name of the combined task (default `<main>-with-<aux>`). */
  name?: string;
}

/**
 * Task-related self-supervision: one task whose loss is `main + λ · aux` on the same encoder
 * (Lee et al. 2019; S4L, Zhai et al. 2019). Any two tasks of the same modality combine: the main
 * task is usually {@link supervisedTask} (or a masked version for S4L), the auxiliary any
 * registered pretext task. Each part keeps its own heads (prefixed `main_` / `aux_`), config,
 * state and data construction (with independent random streams); the shared trainer trains the sum.
 *
 * @example
 * const task = withAuxiliary(supervisedTask, rotationTask, { weight: 0.5 });
 * await train({ task, taskConfig: { main: { numClasses: 10 } }, encoder, source: labelledTrain });
 */
export function withAuxiliary<M extends AnyPretextTask, A extends AnyPretextTask>(main: M, aux: A, options: AuxiliaryOptions = {}) {
  if (main.modality !== aux.modality) {
    throw new SslError(
      `Cannot add "${aux.name}" (${aux.modality} data) as an auxiliary of "${main.name}" (${main.modality} data): both tasks must read the same modality.`,
    );
  }
  const weight = options.weight ?? 1;
  if (!(weight >= 0)) throw new SslError(`Invalid auxiliary weight ${weight}: must be a number ≥ 0.`);
  const config = z
    .object({
      main: (main.config as z.ZodTypeAny).default({}).describe(`config of the main task "${main.name}"`),
      aux: (aux.config as z.ZodTypeAny).default({}).describe(`config of the auxiliary task "${aux.name}"`),
      weight: z.number().min(0).default(weight).describe('λ, weight of the auxiliary loss'),
    })
    .strict();
  type Cfg = { main: unknown; aux: unknown; weight: number };
  type State = { main: TaskState | undefined; aux: TaskState | undefined };
  return definePretextTask({
    name: options.name ?? `${main.name}-with-${aux.name}`,
    family: 'supervised',
    modality: main.modality,
    title: `${main.title} + λ · ${aux.title}`,
    paper: 'Lee et al., 2019 (auxiliary self-supervision); Zhai et al., ICCV 2019 (S4L)',
    description: `Trains "${main.name}" and "${aux.name}" together on one encoder: loss = main + λ · auxiliary.`,
    config,
    ...(main.trainDefaults ? { trainDefaults: main.trainDefaults } : {}),
    createHeads: (ctx): Heads => ({
      ...prefixed(main.createHeads({ ...ctx, config: (ctx.config as Cfg).main }), MAIN),
      ...prefixed(aux.createHeads({ ...ctx, config: (ctx.config as Cfg).aux, seed: ctx.seed + 1 }), AUX),
    }),
    createState: (ctx): State & TaskState => {
      const c = ctx.config as Cfg;
      const s: State = {
        main: main.createState?.({ ...ctx, config: c.main }) as TaskState | undefined,
        aux: aux.createState?.({ ...ctx, config: c.aux, seed: ctx.seed + 1 }) as TaskState | undefined,
      };
      return {
        ...s,
        variables: () => [...(s.main?.variables() ?? []), ...(s.aux?.variables() ?? [])],
        afterStep: (step) => {
          s.main?.afterStep?.({ ...step, heads: part(step.heads, MAIN), batch: part(step.batch, MAIN) });
          s.aux?.afterStep?.({ ...step, heads: part(step.heads, AUX), batch: part(step.batch, AUX) });
        },
        dispose: () => {
          s.main?.dispose();
          s.aux?.dispose();
        },
      };
    },
    prepare: (raw, ctx): PretextBatch => {
      const c = ctx.config as Cfg;
      return {
        ...prefixed(main.prepare(raw as never, { ...ctx, config: c.main, rng: ctx.rng.fork('main') }), MAIN),
        ...prefixed(aux.prepare(raw as never, { ...ctx, config: c.aux, rng: ctx.rng.fork('aux') }), AUX),
      };
    },
    loss: (ctx) => {
      const c = ctx.config as Cfg;
      const s = ctx.state as State | undefined;
      const lm = main.loss({ ...ctx, config: c.main, heads: part(ctx.heads, MAIN), batch: part(ctx.batch, MAIN), state: s?.main });
      if (c.weight === 0) return lm;
      const la = aux.loss({ ...ctx, config: c.aux, heads: part(ctx.heads, AUX), batch: part(ctx.batch, AUX), state: s?.aux });
      return tf.add(lm, tf.mul(la, c.weight)) as tf.Scalar;
    },
    examplesPerInput: (c) => main.examplesPerInput?.((c as Cfg).main) ?? 1,
  });
}

/**
 * Joint labels (Lee et al. 2019): class `c` seen under transformation `t` (one of `count`, e.g.
 * the 4 quarter turns) becomes one of `count·C` classes, `c · count + t`.
 *
 * @example
 * jointLabel(2, 3, 4); // 11
 */
export function jointLabel(cls: number, t: number, count: number): number {
  if (!Number.isInteger(t) || t < 0 || t >= count) throw new SslError(`Invalid transformation ${t}: must be a whole number in [0, ${count - 1}].`);
  if (!Number.isInteger(cls) || cls < 0) throw new SslError(`Invalid class ${cls}: must be a whole number ≥ 0.`);
  return cls * count + t;
}

/**
 * Test-time aggregation of joint-label predictions: for each image, the `count` transformed
 * copies' scores for their own transformation are summed per class,
 * `score[c] = Σ_t logits_t[c · count + t]`, and the class with the highest sum wins.
 *
 * @param logits joint-label scores, `count · n` rows (row `count·i + t` is image i under t) of `count·C` columns
 * @example
 * aggregateJointPredictions(logits, n, numClasses, 4); // Int32Array of n class ids
 */
export function aggregateJointPredictions(logits: Float32Array, n: number, numClasses: number, count: number): Int32Array {
  const cols = count * numClasses;
  if (logits.length !== count * n * cols)
    throw new SslError(
      `aggregateJointPredictions got ${logits.length} scores; expected ${count} transformations × ${n} images × ${cols} joint classes = ${count * n * cols}.`,
    );
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      let s = 0;
      for (let t = 0; t < count; t++) s += logits[(count * i + t) * cols + c * count + t]!;
      if (s > best) {
        best = s;
        out[i] = c;
      }
    }
  }
  return out;
}

/**
 * S4L's labels: keeps the labels of the rows in `labelled` and marks every other row -1
 * (unlabelled), so a masked supervised loss ignores it.
 *
 * @example
 * const partial = maskLabels(train.labels, labelFractionSplit(train.labels, 0.1, 0));
 */
export function maskLabels(labels: Int32Array, labelled: Int32Array): Int32Array {
  const out = new Int32Array(labels.length).fill(-1);
  for (const i of labelled) {
    if (i < 0 || i >= labels.length) throw new SslError(`Labelled row ${i} is outside the ${labels.length} rows of the dataset.`);
    out[i] = labels[i]!;
  }
  return out;
}

/**
 * Cross-entropy over the rows whose label is ≥ 0 (mean over those rows; 0 when there are none).
 *
 * @example
 * maskedCrossEntropy(tf.tensor2d([[2, 0], [0, 2]]), tf.tensor1d([0, -1], 'int32')); // ≈ 0.127
 */
export function maskedCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const k = logits.shape[1];
    const mask = tf.greaterEqual(labels, 0).toFloat();
    const oneHot = tf.oneHot(tf.maximum(labels, 0).toInt(), k).toFloat();
    const perRow = tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), -1));
    return tf.div(tf.sum(tf.mul(perRow, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}
