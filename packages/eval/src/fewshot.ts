import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, definePretextTask, type DataSource, type ImageBatch } from '@ssl/core';
import { z } from 'zod';
import type { FeatureSet } from './features';

/** Shape of an N-way K-shot episode with Q queries per class. */
export const fewShotConfig = z
  .object({
    nWay: z.number().int().min(2).max(1000).default(5).describe('N: classes per episode'),
    kShot: z.number().int().min(1).max(1000).default(5).describe('K: labelled support examples per class'),
    nQuery: z.number().int().min(1).max(1000).default(15).describe('Q: query examples per class (Snell et al. use 15)'),
  })
  .strict();

/** Parsed episode shape. */
export type EpisodeShape = z.output<typeof fewShotConfig>;

/** One episode: dataset rows of the support set (class-major, K per class) and of the queries (class-major, Q per class). */
export interface Episode {
  /** The N dataset classes, in episode order: episode class j is `classes[j]`. */
  classes: Int32Array;
  /** N·K rows; rows `j*K .. j*K+K-1` belong to episode class j. */
  support: Int32Array;
  /** N·Q rows; rows `j*Q .. j*Q+Q-1` belong to episode class j. */
  query: Int32Array;
}

/**
 * Rows of each class, optionally only for the listed classes (ascending class order).
 *
 * @example
 * rowsByClass(Int32Array.of(0, 1, 0, 2), [0, 2]); // Map { 0 => [0, 2], 2 => [3] }
 */
export function rowsByClass(labels: Int32Array, classes?: readonly number[]): Map<number, Int32Array> {
  const keep = classes ? new Set(classes) : undefined;
  const rows = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0 || (keep && !keep.has(l))) continue;
    let r = rows.get(l);
    if (!r) rows.set(l, (r = []));
    r.push(i);
  }
  if (classes) {
    const missing = classes.filter((c) => !rows.has(c));
    if (missing.length)
      throw new SslError(
        `Class${missing.length > 1 ? 'es' : ''} [${missing.join(', ')}] ha${missing.length > 1 ? 've' : 's'} no rows in the data; pick classes that occur in the labels.`,
      );
  }
  return new Map([...rows.keys()].sort((a, b) => a - b).map((c) => [c, Int32Array.from(rows.get(c)!)]));
}

/**
 * Draws one N-way K-shot episode: N distinct classes, then K + Q distinct rows of each
 * (the first K are the support, the rest the queries). Only the classes in `byClass` can appear,
 * and the same rng state always gives the same episode.
 *
 * @example
 * const ep = sampleEpisode(rowsByClass(train.labels, [0, 1, 2, 3, 4]), { nWay: 5, kShot: 1, nQuery: 15 }, new Rng(0));
 * ep.support.length; // 5
 */
export function sampleEpisode(byClass: Map<number, Int32Array>, shape: EpisodeShape, rng: Rng): Episode {
  const { nWay, kShot, nQuery } = shape;
  const all = [...byClass.keys()];
  if (all.length < nWay)
    throw new SslError(
      `A ${nWay}-way episode needs at least ${nWay} classes, but only ${all.length} are available ([${all.join(', ')}]). Lower the way or give more classes.`,
    );
  const classes = Int32Array.from(rng.shuffle(all).slice(0, nWay));
  const per = kShot + nQuery;
  const support = new Int32Array(nWay * kShot);
  const query = new Int32Array(nWay * nQuery);
  classes.forEach((c, j) => {
    const rows = byClass.get(c)!;
    if (rows.length < per)
      throw new SslError(
        `Class ${c} has ${rows.length} rows; a ${kShot}-shot episode with ${nQuery} queries needs ${per}. Lower --shot / query or use more data.`,
      );
    // Partial Fisher–Yates over a copy: `per` distinct rows.
    const pool = rows.slice();
    for (let i = 0; i < per; i++) {
      const k = i + rng.int(pool.length - i);
      const t = pool[i]!;
      pool[i] = pool[k]!;
      pool[k] = t;
    }
    support.set(pool.subarray(0, kShot), j * kShot);
    query.set(pool.subarray(kShot, per), j * nQuery);
  });
  return { classes, support, query };
}

/**
 * A data source of training episodes for the shared trainer: every batch of N·(K+Q) rows is one
 * fresh episode drawn with the step's rng (support rows first, class-major, then the queries), from
 * the allowed classes only. Its nominal size is `episodes` episodes, so one epoch is `episodes`
 * steps when the trainer's batch size is N·(K+Q) ({@link EpisodicSource.episodeSize}); the indices
 * the trainer passes are ignored. Labels are the true dataset labels.
 *
 * @example
 * const src = episodicSource(fashionTrain, { classes: [0, 1, 2, 3, 4], nWay: 5, kShot: 5, nQuery: 15, episodes: 200 });
 * await train({ task: prototypicalTask, source: src, config: { batchSize: src.episodeSize, epochs: 1 }, encoder });
 */
export function episodicSource(
  data: DataSource<ImageBatch> & { labels?: Int32Array | undefined },
  options: Partial<EpisodeShape> & { classes?: readonly number[]; episodes: number },
): EpisodicSource {
  if (!data.labels) throw new SslError('Few-shot episodes need a labelled dataset; this one has no labels.');
  const shape = fewShotConfig.parse({ nWay: options.nWay, kShot: options.kShot, nQuery: options.nQuery });
  if (!Number.isInteger(options.episodes) || options.episodes < 1)
    throw new SslError(`Invalid number of episodes ${options.episodes}: must be a whole number ≥ 1.`);
  const byClass = rowsByClass(data.labels, options.classes);
  const episodeSize = shape.nWay * (shape.kShot + shape.nQuery);
  // Fail now, not at the first step: every class must hold a full K + Q.
  sampleEpisode(byClass, shape, new Rng(0));
  return {
    modality: 'image',
    size: options.episodes * episodeSize,
    episodeSize,
    shape,
    classes: Int32Array.from(byClass.keys()),
    batch(indices, rng) {
      if (indices.length !== episodeSize) {
        throw new SslError(
          `Episodic batches hold one ${shape.nWay}-way ${shape.kShot}-shot episode of ${episodeSize} images (N·(K+Q)); got a batch of ${indices.length}. Set the trainer's batchSize to ${episodeSize}.`,
        );
      }
      const ep = sampleEpisode(byClass, shape, rng.fork('episode'));
      const rows = new Int32Array(episodeSize);
      rows.set(ep.support);
      rows.set(ep.query, ep.support.length);
      return data.batch(rows, rng);
    },
  };
}

/** What {@link episodicSource} returns: a trainer data source plus the episode layout. */
export interface EpisodicSource extends DataSource<ImageBatch> {
  /** N·(K+Q): the trainer's batch size. */
  readonly episodeSize: number;
  readonly shape: EpisodeShape;
  /** The classes episodes are drawn from. */
  readonly classes: Int32Array;
}

/**
 * Prototypical-network logits: each class prototype is the mean of its K support features, and a
 * query's logit for class j is minus its squared Euclidean distance to prototype j.
 *
 * @param support N·K rows, class-major (rows j·K .. j·K+K-1 are class j)
 * @param query any number of rows
 * @example
 * prototypicalLogits(tf.tensor2d([[0, 0], [2, 0]]), tf.tensor2d([[1, 1]]), 2, 1); // [[-2, -2]]
 */
export function prototypicalLogits(support: tf.Tensor2D, query: tf.Tensor2D, nWay: number, kShot: number): tf.Tensor2D {
  if (support.shape[0] !== nWay * kShot)
    throw new SslError(`The support set has ${support.shape[0]} rows; a ${nWay}-way ${kShot}-shot episode needs ${nWay * kShot}.`);
  return tf.tidy(() => {
    const dim = support.shape[1];
    const protos = support.reshape([nWay, kShot, dim]).mean(1) as tf.Tensor2D;
    const q2 = query.square().sum(1, true);
    const p2 = protos.square().sum(1).reshape([1, nWay]);
    const cross = tf.matMul(query, protos, false, true);
    return tf.neg(q2.add(p2).sub(cross.mul(2))) as tf.Tensor2D;
  });
}

/**
 * The prototypical loss of one episode: cross-entropy of the query rows (Q per class, class-major)
 * over the logits of {@link prototypicalLogits}, averaged over the N·Q queries.
 *
 * @example
 * prototypicalLoss(tf.tensor2d([[0, 0], [2, 0]]), tf.tensor2d([[0, 0], [2, 1]]), { nWay: 2, kShot: 1, nQuery: 1 });
 * // −½ [log softmax(0, −4)₀ + log softmax(−5, −1)₁] ≈ 0.0182
 */
export function prototypicalLoss(support: tf.Tensor2D, query: tf.Tensor2D, shape: EpisodeShape): tf.Scalar {
  const { nWay, kShot, nQuery } = shape;
  if (query.shape[0] !== nWay * nQuery)
    throw new SslError(`The query set has ${query.shape[0]} rows; ${nWay} classes × ${nQuery} queries need ${nWay * nQuery}.`);
  return tf.tidy(() => {
    const logits = prototypicalLogits(support, query, nWay, kShot);
    const labels = tf.tensor1d(
      Int32Array.from({ length: nWay * nQuery }, (_, i) => Math.floor(i / nQuery)),
      'int32',
    );
    return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, nWay), logits) as tf.Scalar;
  });
}

/**
 * Episodic training of prototypical networks (Snell et al. 2017), the few-shot learner that
 * Gidaris et al. (ICCV 2019) boost with a self-supervised auxiliary (wrap it with
 * `withAuxiliary(prototypicalTask, rotationTask)`). Each batch must be one episode from
 * {@link episodicSource}; there are no heads, the loss classifies the queries by their distance to
 * the class means of the support features.
 *
 * @example
 * const src = episodicSource(train, { classes: [0, 1, 2, 3, 4], episodes: 200 });
 * await train({ task: prototypicalTask, encoder, source: src, config: { batchSize: src.episodeSize } });
 */
export const prototypicalTask = definePretextTask({
  name: 'prototypical',
  family: 'supervised',
  modality: 'image',
  title: 'Prototypical networks (episodic few-shot)',
  paper: 'Snell, Swersky, Zemel. Prototypical Networks for Few-shot Learning. NeurIPS 2017; Gidaris et al., ICCV 2019 (with self-supervision)',
  description:
    'Episodic N-way K-shot training: each batch is one episode (K support + Q query images of N classes); queries are classified by softmax over minus their squared distances to the class means (prototypes) of the support features.',
  config: fewShotConfig,
  createHeads: () => ({}),
  prepare: (raw, { config }) => {
    const size = config.nWay * (config.kShot + config.nQuery);
    if (raw.n !== size)
      throw new SslError(
        `Prototypical training needs one ${config.nWay}-way ${config.kShot}-shot episode of ${size} images per batch; got ${raw.n}. Use episodicSource() with batchSize ${size}.`,
      );
    return { x: tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]) };
  },
  loss: ({ encode, batch, config }) => {
    const f = encode(batch.x);
    const ns = config.nWay * config.kShot;
    return prototypicalLoss(f.slice([0, 0], [ns, -1]), f.slice([ns, 0], [-1, -1]), config);
  },
});

/**
 * Mean with a 95 % confidence interval, `1.96 · s / √n` (s: sample standard deviation), the
 * usual few-shot report.
 *
 * @example
 * meanWithInterval([0.5, 0.7]); // { mean: 0.6, ci95: 0.196…, std: 0.141…, n: 2 }
 */
export function meanWithInterval(values: ArrayLike<number>): { mean: number; ci95: number; std: number; n: number } {
  const n = values.length;
  if (n === 0) throw new SslError('meanWithInterval needs at least one value.');
  let sum = 0;
  for (let i = 0; i < n; i++) sum += values[i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i]! - mean) ** 2;
  const std = n > 1 ? Math.sqrt(ss / (n - 1)) : 0;
  return { mean, ci95: (1.96 * std) / Math.sqrt(n), std, n };
}

/** Options of {@link evaluateFewShot}. */
export interface FewShotEvalOptions extends Partial<EpisodeShape> {
  /** Test episodes (default 600, the usual minimum for a ±0.x % interval). */
  episodes?: number;
  /** Only these classes (e.g. the held-out ones); default every class in the features. */
  classes?: readonly number[];
  seed?: number;
}

/** Result of {@link evaluateFewShot}: accuracy over query images, averaged over episodes. */
export interface FewShotResult {
  accuracy: number;
  /** Half-width of the 95 % interval of the mean. */
  ci95: number;
  episodes: number;
  nWay: number;
  kShot: number;
  nQuery: number;
}

/**
 * Few-shot evaluation of frozen features: `episodes` seeded N-way K-shot episodes drawn from the
 * given classes, each query assigned to the nearest prototype (squared Euclidean distance to the
 * mean of its class's K support features); mean query accuracy with a 95 % interval.
 *
 * @example
 * const f = await extractFeatures(encoder, heldOutTest);
 * evaluateFewShot(f, { nWay: 5, kShot: 1, episodes: 600, classes: [5, 6, 7, 8, 9] }); // { accuracy, ci95, ... }
 */
export function evaluateFewShot(features: FeatureSet, options: FewShotEvalOptions = {}): FewShotResult {
  if (!features.labels) throw new SslError('Few-shot evaluation needs labelled features.');
  const shape = fewShotConfig.parse({ nWay: options.nWay, kShot: options.kShot, nQuery: options.nQuery });
  const episodes = options.episodes ?? 600;
  if (!Number.isInteger(episodes) || episodes < 1) throw new SslError(`Invalid number of test episodes ${episodes}: must be a whole number ≥ 1.`);
  const byClass = rowsByClass(features.labels, options.classes);
  const { dim, features: x } = features;
  const { nWay, kShot, nQuery } = shape;
  const protos = new Float64Array(nWay * dim);
  const acc = new Float64Array(episodes);
  for (let e = 0; e < episodes; e++) {
    const ep = sampleEpisode(byClass, shape, Rng.derive(options.seed ?? 0, 'few-shot-test', e));
    protos.fill(0);
    for (let j = 0; j < nWay; j++) {
      for (let s = 0; s < kShot; s++) {
        const r = ep.support[j * kShot + s]! * dim;
        for (let d = 0; d < dim; d++) protos[j * dim + d]! += x[r + d]! / kShot;
      }
    }
    let correct = 0;
    for (let i = 0; i < ep.query.length; i++) {
      const r = ep.query[i]! * dim;
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < nWay; j++) {
        let dist = 0;
        for (let d = 0; d < dim; d++) dist += (x[r + d]! - protos[j * dim + d]!) ** 2;
        if (dist < bestD) {
          bestD = dist;
          best = j;
        }
      }
      if (best === Math.floor(i / nQuery)) correct++;
    }
    acc[e] = correct / ep.query.length;
  }
  const m = meanWithInterval(acc);
  return { accuracy: m.mean, ci95: m.ci95, episodes, nWay, kShot, nQuery };
}
