import * as tf from '@tensorflow/tfjs';
import { Rng, SslError, type DataSource, type ImageBatch } from '@ssl/core';
import { loadDataset, type ImageDataset } from '@ssl/data';
import { createEncoder } from '@ssl/encoders';
import { extractFeatures, knnClassify, linearProbe, type FeatureSet } from '@ssl/eval';
import type { RunConfig } from './run-config';

/** Shape of one example of a source, read from a one-image batch. */
export function exampleShape(source: DataSource<ImageBatch>): [number, number, number] {
  const b = source.batch(Int32Array.of(0), new Rng(0));
  return [b.height, b.width, b.channels];
}

/** Loads the train or test split a run config names. */
export function loadSplit(cfg: Pick<RunConfig, 'dataset' | 'dataDir'>, split: 'train' | 'test', limit?: number): ImageDataset {
  return loadDataset(cfg.dataset, { split, ...(limit !== undefined ? { limit } : {}), ...(cfg.dataDir ? { dataDir: cfg.dataDir } : {}) });
}

/** The run's encoder at its random initialisation (same name, config and seed). */
export function randomInitEncoder(cfg: RunConfig, inputShape: number[]): tf.LayersModel {
  return createEncoder(cfg.encoder, cfg.encoderConfig, inputShape, cfg.seed);
}

/** Probe data: labelled train and test features of one encoder. */
export interface ProbeFeatures {
  train: FeatureSet;
  test: FeatureSet;
}

/** Extracts probe features (frozen encoder, inference mode). */
export async function probeFeatures(encoder: tf.LayersModel, train: DataSource<ImageBatch>, test: DataSource<ImageBatch>): Promise<ProbeFeatures> {
  return { train: await extractFeatures(encoder, train), test: await extractFeatures(encoder, test) };
}

/** Linear-probe top-1 accuracy on the test split. */
export async function probeAccuracy(f: ProbeFeatures, cfg: RunConfig): Promise<number> {
  const needLabels = !f.train.labels || !f.test.labels;
  if (needLabels) throw new SslError(`Dataset "${cfg.dataset}" has no labels, so no linear probe can be measured. Use a labelled dataset (class folders) for evaluation.`);
  return (await linearProbe(f.train, f.test, { epochs: cfg.probe.epochs, seed: cfg.seed })).accuracy;
}

/** kNN top-1 accuracy (cosine, k=20, temperature-weighted votes). */
export async function knnAccuracy(f: ProbeFeatures): Promise<number> {
  return (await knnClassify(f.train, f.test, { k: 20 })).accuracy;
}
