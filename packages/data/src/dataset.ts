import { SslError, type DataSource, type ImageBatch, type Rng } from '@ssl/core';
import type { Image } from './image';
import { checkLimit } from './util';

/**
 * Constructor options of {@link ImageDataset}.
 *
 * @example
 * const init: ImageDatasetInit = { pixels: new Uint8Array(2 * 784), n: 2, height: 28, width: 28, channels: 1 };
 */
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
      throw new SslError(
        `ImageDataset "${init.name ?? ''}": ${init.pixels.length} pixel bytes do not match ${init.n}×${init.height}×${init.width}×${init.channels} = ${init.n * per}.`,
      );
    }
    if (init.labels && init.labels.length !== init.n) {
      throw new SslError(`ImageDataset "${init.name ?? ''}": ${init.labels.length} labels for ${init.n} images; pass one label per image.`);
    }
    if (init.labels && init.classNames) {
      // A label outside the class list would silently break one-hot targets and probe reports.
      const bad = init.labels.find((l) => l < 0 || l >= init.classNames!.length);
      if (bad !== undefined)
        throw new SslError(
          `ImageDataset "${init.name ?? ''}": label ${bad} is outside [0, ${init.classNames.length - 1}] for ${init.classNames.length} class names. Fix the labels or the class names.`,
        );
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

  /**
   * Shape of one example, [height, width, channels].
   *
   * @example
   * const [h, w, c] = ds.shape;
   */
  get shape(): [number, number, number] {
    return [this.height, this.width, this.channels];
  }

  /**
   * Number of classes (from class names, else the largest label + 1; undefined without labels).
   *
   * @example
   * const k = loadMnist('test').numClasses; // 10
   */
  get numClasses(): number | undefined {
    if (this.classNames) return this.classNames.length;
    if (!this.labels) return undefined;
    let m = -1;
    for (const l of this.labels) m = Math.max(m, l);
    return m + 1;
  }

  /**
   * A float32 NHWC batch in [0, 1] of the given indices, labels aligned (`rng` is unused:
   * loading is deterministic; augmentations take their own stream).
   *
   * @example
   * const b = ds.batch(Int32Array.of(0, 5, 9), rng); // b.images.length === 3 * h * w * c
   */
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
    // Indices are copied: callers often pass a view of a permutation they reuse.
    return {
      modality: 'image',
      images,
      n: indices.length,
      height: this.height,
      width: this.width,
      channels: this.channels,
      ...(labels ? { labels } : {}),
      indices: Int32Array.from(indices),
    };
  }

  /**
   * Image `i` as float32 HWC in [0, 1].
   *
   * @example
   * const img = ds.get(0); // { data, height, width, channels }
   */
  get(i: number): Image {
    const b = this.batch(Int32Array.of(i));
    return { data: b.images, height: this.height, width: this.width, channels: this.channels };
  }

  /**
   * A dataset of the given rows (copied, in that order; repeats allowed).
   *
   * @example
   * const firstTen = ds.subset([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
   */
  subset(indices: ArrayLike<number>): ImageDataset {
    const per = this.height * this.width * this.channels;
    const pixels = new Uint8Array(indices.length * per);
    const labels = this.labels ? new Int32Array(indices.length) : undefined;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      if (!Number.isInteger(i) || i < 0 || i >= this.size)
        throw new SslError(
          `subset: index ${i} is out of range for dataset "${this.name}" of ${this.size} images; indices must be whole numbers in [0, ${this.size - 1}].`,
        );
      pixels.set(this.pixels.subarray(i * per, (i + 1) * per), j * per);
      if (labels) labels[j] = this.labels![i]!;
    }
    return new ImageDataset({
      pixels,
      n: indices.length,
      height: this.height,
      width: this.width,
      channels: this.channels,
      ...(labels ? { labels } : {}),
      ...(this.classNames ? { classNames: this.classNames } : {}),
      name: this.name,
    });
  }

  /**
   * The first `limit` images (all of them when `limit` ≥ size); shares memory with this one.
   *
   * @example
   * const small = ds.take(1000);
   */
  take(limit: number): ImageDataset {
    checkLimit(limit, `take() on dataset "${this.name}"`);
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

  /**
   * A seeded random split into disjoint train and test parts; the test part has
   * round(size × testFraction) images, at least 1 and leaving at least 1 for training.
   *
   * @example
   * const { train, test } = ds.split(0.2, new Rng(42));
   */
  split(testFraction: number, rng: Rng): { train: ImageDataset; test: ImageDataset } {
    if (!(testFraction > 0 && testFraction < 1)) throw new SslError(`split(testFraction): got ${testFraction}; it must be a fraction in (0, 1), e.g. 0.2.`);
    if (this.size < 2)
      throw new SslError(`split(): dataset "${this.name}" has ${this.size} image(s); splitting needs at least 2. Load more data (raise --limit).`);
    const perm = rng.permutation(this.size);
    const nTest = Math.min(this.size - 1, Math.max(1, Math.round(this.size * testFraction)));
    return { test: this.subset(perm.subarray(0, nTest)), train: this.subset(perm.subarray(nTest)) };
  }
}

/**
 * Splits a permutation into consecutive batches of indices (views, no copy); with `dropLast`
 * a short final batch is skipped.
 *
 * @example
 * for (const idx of batchIndices(rng.permutation(100), 32, true)) { ... } // 3 batches
 */
export function* batchIndices(perm: Int32Array, batchSize: number, dropLast: boolean): Generator<Int32Array> {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new SslError(`batchIndices: batch size ${batchSize} is not allowed; it must be a whole number ≥ 1 (e.g. --set batchSize=128).`);
  const order = perm;
  for (let i = 0; i < order.length; i += batchSize) {
    const b = order.subarray(i, i + batchSize);
    if (dropLast && b.length < batchSize) return;
    yield b;
  }
}
