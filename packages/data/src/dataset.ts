import { SslError, type DataSource, type ImageBatch, type Rng } from '@ssl/core';
import type { Image } from './image';

/** Options of {@link ImageDataset}. */
export interface ImageDatasetInit {
  /** Pixels as bytes (0..255), NHWC. */
  pixels: Uint8Array;
  n: number;
  height: number;
  width: number;
  channels: number;
  labels?: Int32Array;
  classNames?: string[];
  /** A short description, e.g. "mnist/train". */
  name?: string;
}

/**
 * An in-memory image dataset: bytes NHWC (compact: MNIST's 60k images take 47 MB), optional
 * labels. Batches come out as float32 in [0, 1]. Implements the trainer's `DataSource`.
 *
 * @example
 * const ds = new ImageDataset({ pixels, n: 2, height: 28, width: 28, channels: 1, labels });
 * const batch = ds.batch(Int32Array.of(0, 1), new Rng(0));
 */
export class ImageDataset implements DataSource<ImageBatch> {
  readonly modality = 'image' as const;
  readonly pixels: Uint8Array;
  readonly size: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly labels: Int32Array | undefined;
  readonly classNames: string[] | undefined;
  readonly name: string;

  constructor(init: ImageDatasetInit) {
    const per = init.height * init.width * init.channels;
    if (init.pixels.length !== init.n * per) {
      throw new SslError(`ImageDataset "${init.name ?? ''}": ${init.pixels.length} pixel bytes do not match ${init.n}×${init.height}×${init.width}×${init.channels} = ${init.n * per}.`);
    }
    if (init.labels && init.labels.length !== init.n) {
      throw new SslError(`ImageDataset "${init.name ?? ''}": ${init.labels.length} labels for ${init.n} images.`);
    }
    this.pixels = init.pixels;
    this.size = init.n;
    this.height = init.height;
    this.width = init.width;
    this.channels = init.channels;
    this.labels = init.labels;
    this.classNames = init.classNames;
    this.name = init.name ?? 'images';
  }

  /** Shape of one example, [height, width, channels]. */
  get shape(): [number, number, number] {
    return [this.height, this.width, this.channels];
  }

  /** Number of classes (from class names, else the largest label + 1). */
  get numClasses(): number | undefined {
    if (this.classNames) return this.classNames.length;
    if (!this.labels) return undefined;
    let m = -1;
    for (const l of this.labels) m = Math.max(m, l);
    return m + 1;
  }

  /** A float32 batch in [0, 1] of the given indices (`rng` unused: loading is deterministic). */
  batch(indices: Int32Array, _rng?: Rng): ImageBatch {
    const per = this.height * this.width * this.channels;
    const images = new Float32Array(indices.length * per);
    const labels = this.labels ? new Int32Array(indices.length) : undefined;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      if (i < 0 || i >= this.size) throw new SslError(`Index ${i} is out of range for dataset "${this.name}" of ${this.size} images.`);
      const src = this.pixels.subarray(i * per, (i + 1) * per);
      const off = j * per;
      for (let k = 0; k < per; k++) images[off + k] = src[k]! / 255;
      if (labels) labels[j] = this.labels![i]!;
    }
    return { modality: 'image', images, n: indices.length, height: this.height, width: this.width, channels: this.channels, ...(labels ? { labels } : {}), indices };
  }

  /** Image `i` as float32 HWC in [0, 1]. */
  get(i: number): Image {
    const b = this.batch(Int32Array.of(i));
    return { data: b.images, height: this.height, width: this.width, channels: this.channels };
  }

  /** A dataset of the given rows (copied, in that order). */
  subset(indices: ArrayLike<number>): ImageDataset {
    const per = this.height * this.width * this.channels;
    const pixels = new Uint8Array(indices.length * per);
    const labels = this.labels ? new Int32Array(indices.length) : undefined;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      pixels.set(this.pixels.subarray(i * per, (i + 1) * per), j * per);
      if (labels) labels[j] = this.labels![i]!;
    }
    return new ImageDataset({ pixels, n: indices.length, height: this.height, width: this.width, channels: this.channels, ...(labels ? { labels } : {}), ...(this.classNames ? { classNames: this.classNames } : {}), name: this.name });
  }

  /** The first `limit` images (all of them when `limit` ≥ size). */
  take(limit: number): ImageDataset {
    if (limit >= this.size) return this;
    const per = this.height * this.width * this.channels;
    return new ImageDataset({
      pixels: this.pixels.subarray(0, limit * per),
      n: limit,
      height: this.height,
      width: this.width,
      channels: this.channels,
      ...(this.labels ? { labels: this.labels.subarray(0, limit) } : {}),
      ...(this.classNames ? { classNames: this.classNames } : {}),
      name: this.name,
    });
  }

  /** A seeded random split into train and test parts. */
  split(testFraction: number, rng: Rng): { train: ImageDataset; test: ImageDataset } {
    if (!(testFraction > 0 && testFraction < 1)) throw new SslError(`split(testFraction) needs a fraction in (0, 1), got ${testFraction}.`);
    const perm = rng.permutation(this.size);
    const nTest = Math.max(1, Math.round(this.size * testFraction));
    return { test: this.subset(perm.subarray(0, nTest)), train: this.subset(perm.subarray(nTest)) };
  }
}

/**
 * Splits a permutation into batches of indices.
 *
 * @example
 * for (const idx of batchIndices(rng.permutation(100), 32, true)) { ... } // 3 batches
 */
export function* batchIndices(order: Int32Array, batchSize: number, dropLast: boolean): Generator<Int32Array> {
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.subarray(i, i + batchSize);
    if (dropLast && b.length < batchSize) return;
    yield b;
  }
}
