import { existsSync, promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { initBackend } from '@ssl/core';
import { loadLayersModel } from '@ssl/encoders';
import { extractFeatures } from '@ssl/eval';
import { planRun, readRunConfig, type Catalogue } from '@ssl/runner';
import { umap2d } from './report';

/**
 * UMAP of a finished run's test features (its saved encoder, at most `maxPoints` test examples),
 * cached in `cacheFile` so a rerun of the comparison recomputes nothing.
 *
 * @example
 * const e = await runEmbedding('cmp/runs/simclr-mnist-seed0-…', builtinCatalogue(), 'cmp/embedding.json');
 */
export async function runEmbedding(
  runDir: string,
  catalogue: Catalogue,
  cacheFile: string,
  maxPoints = 1000,
): Promise<{ points: Float32Array; labels: Int32Array }> {
  const key = `${path.basename(runDir)}:${maxPoints}`;
  if (existsSync(cacheFile)) {
    try {
      const c = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; points: number[]; labels: number[] };
      if (c.key === key) return { points: Float32Array.from(c.points), labels: Int32Array.from(c.labels) };
    } catch {
      // recompute below
    }
  }
  const cfg = readRunConfig(runDir);
  await initBackend({ log: () => undefined });
  const encoder = await loadLayersModel(path.join(runDir, 'encoder'));
  try {
    const plan = planRun(catalogue, cfg, catalogue.tasks.find(cfg.method), { trainLimit: Math.min(cfg.limit, 64) });
    const test = await extractFeatures(encoder, plan.splits({ trainLimit: 10, testLimit: Math.min(maxPoints, cfg.probe.testLimit) }).test);
    const n = Math.min(maxPoints, test.n);
    const points = umap2d(test.features, n, test.dim, cfg.seed);
    const labels = (test.labels ?? new Int32Array(n)).slice(0, n);
    await fsp.writeFile(cacheFile, JSON.stringify({ key, points: Array.from(points), labels: Array.from(labels) }));
    return { points, labels };
  } finally {
    encoder.dispose();
  }
}
