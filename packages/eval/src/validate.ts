import { SslError } from '@ssl/core';
import type { FeatureSet } from './features';

// Internal helpers shared by the probes; deliberately not re-exported from index.ts.

/** Throws unless `set` is a well-formed FeatureSet (sizes agree, finite values). */
export function checkFeatureSet(set: FeatureSet, what: string): void {
  if (!Number.isInteger(set.n) || set.n < 0 || !Number.isInteger(set.dim) || set.dim < 1) {
    throw new SslError(`Invalid ${what} features: n=${set.n}, dim=${set.dim}. Expected whole numbers with dim ≥ 1; build them with extractFeatures().`);
  }
  if (set.features.length !== set.n * set.dim) {
    throw new SslError(
      `Invalid ${what} features: ${set.features.length} floats for n=${set.n} × dim=${set.dim} (= ${set.n * set.dim}). Pass the FeatureSet from extractFeatures() unchanged.`,
    );
  }
  if (set.labels && set.labels.length !== set.n) {
    throw new SslError(`Invalid ${what} labels: ${set.labels.length} labels for ${set.n} rows. Each row needs exactly one label.`);
  }
}

/**
 * Validates a train/test pair for a classifier and returns the number of classes
 * (`numClasses`, or 1 + the largest label seen).
 */
export function checkLabelledPair(
  train: FeatureSet,
  test: FeatureSet,
  numClasses?: number,
): { classes: number; trainLabels: Int32Array; testLabels: Int32Array } {
  checkFeatureSet(train, 'train');
  checkFeatureSet(test, 'test');
  if (train.dim !== test.dim) {
    throw new SslError(`Train features have ${train.dim} dimensions but test features ${test.dim}; extract both with the same encoder.`);
  }
  if (!train.labels || !test.labels) {
    throw new SslError(`Evaluation needs labels on both splits, but the ${train.labels ? 'test' : 'train'} features have none; use a labelled dataset.`);
  }
  if (train.n === 0 || test.n === 0) {
    throw new SslError(`Evaluation needs non-empty splits, got ${train.n} train and ${test.n} test rows.`);
  }
  let max = -1;
  for (const labels of [train.labels, test.labels]) {
    for (const l of labels) {
      if (l < 0) throw new SslError(`Invalid label ${l}: labels must be class indices 0, 1, 2, ...`);
      if (l > max) max = l;
    }
  }
  const classes = numClasses ?? Math.max(2, max + 1);
  if (max >= classes) {
    throw new SslError(
      `Label ${max} is out of range for numClasses=${classes}. Labels must be in [0, ${classes - 1}]; raise numClasses or leave it unset to infer it.`,
    );
  }
  return { classes, trainLabels: train.labels, testLabels: test.labels };
}
