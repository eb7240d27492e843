import { Rng } from '@ssl/core';
import type { FeatureSet } from '../index';

/** Seeded Gaussian blobs: class c is centred at 3·e_c (in the first `classes` dims), std `spread`. */
export function blobs(n: number, classes: number, dim: number, seed: number, spread = 0.5): FeatureSet {
  const rng = new Rng(seed);
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < dim; j++) features[i * dim + j] = (j === c ? 3 : 0) + rng.normal(0, spread);
  }
  return { features, n, dim, labels };
}

/** The same rows with labels drawn uniformly at random (no signal left to learn). */
export function randomLabels(set: FeatureSet, classes: number, seed: number): FeatureSet {
  const rng = new Rng(seed);
  return { ...set, labels: Int32Array.from({ length: set.n }, () => rng.int(classes)) };
}
