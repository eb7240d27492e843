import type * as tf from '@tensorflow/tfjs';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { Rng, type AnyPretextTask, type DataSource, type Heads } from '@ssl/core';
import { pca2d, pngDataUrl, renderReport, type FeatureSet } from '@ssl/eval';

/** One row of the report's results table. */
export interface ReportRow {
  name: string;
  value: string;
}

/**
 * Writes `report.html`: loss curve, results table, 2-D PCA of the test features, task pictures, and
 * the collapse curves (embedding std and effective rank) when the task reported its embedding.
 *
 * @example
 * await writeRunReport(runDir, { title: 'rotation on mnist', subtitle: '', config: cfg, history, table, embed: test });
 */
export async function writeRunReport(
  runDir: string,
  r: {
    title: string;
    subtitle: string;
    config: unknown;
    history: Array<{ step: number; loss: number; embStd?: number; embRank?: number }>;
    table: ReportRow[];
    embed?: FeatureSet;
    classNames?: string[];
    images?: Array<{ caption: string; dataUrl: string }>;
  },
): Promise<void> {
  const e = r.embed;
  const n = e ? Math.min(2000, e.n) : 0;
  // Collapse metrics, when the task hands its embedding to the trainer (LossContext.monitorEmbedding).
  const measured = r.history.filter((h) => h.embStd !== undefined && h.embRank !== undefined);
  const last = measured.at(-1);
  const collapseRows: ReportRow[] = last
    ? [
        { name: 'Embedding std, L2-normalised (last; ≈ 1/√d healthy, 0 collapsed)', value: last.embStd!.toFixed(4) },
        { name: 'Embedding effective rank (last)', value: last.embRank!.toFixed(1) },
      ]
    : [];
  const html = renderReport({
    title: r.title,
    subtitle: r.subtitle,
    config: r.config,
    lossCurve: r.history.map((h) => ({ step: h.step, loss: h.loss })),
    table: [...r.table, ...collapseRows],
    ...(e
      ? {
          embedding: {
            points: pca2d(e.features.subarray(0, n * e.dim), n, e.dim),
            labels: (e.labels ?? new Int32Array(n)).subarray(0, n),
            ...(r.classNames ? { classNames: r.classNames } : {}),
          },
        }
      : {}),
    ...(r.images?.length ? { images: r.images } : {}),
    ...(last
      ? {
          curves: [
            {
              title: 'Embedding std (L2-normalised; ≈ 1/√d healthy, 0 = collapse)',
              label: 'std',
              points: measured.map((h) => ({ step: h.step, value: h.embStd! })),
            },
            { title: 'Embedding effective rank', label: 'rank', points: measured.map((h) => ({ step: h.step, value: h.embRank! })) },
          ],
        }
      : {}),
  });
  await fsp.writeFile(path.join(runDir, 'report.html'), html);
}

/**
 * Asks the task for report pictures (its optional `reportImages` hook) on 8 training examples,
 * writes each as `<runDir>/<caption>.png` and returns them as data URLs for report.html.
 *
 * @example
 * const images = await writeTaskImages(runDir, task, taskConfig, seed, encoder, heads, source);
 */
export async function writeTaskImages(
  runDir: string,
  task: AnyPretextTask,
  taskConfig: unknown,
  seed: number,
  encoder: tf.LayersModel,
  heads: Heads,
  source: DataSource<unknown>,
): Promise<Array<{ caption: string; dataUrl: string }>> {
  if (!task.reportImages) return [];
  const n = Math.min(8, source.size);
  const raw = source.batch(
    Int32Array.from({ length: n }, (_, i) => i),
    Rng.derive(seed, 'report-images'),
  );
  const pictures = task.reportImages({ config: taskConfig, encoder, heads, raw });
  const out: Array<{ caption: string; dataUrl: string }> = [];
  for (const p of pictures) {
    const dataUrl = pngDataUrl(p.pixels, p.height, p.width, p.channels);
    const file = `${
      p.caption
        .replace(/[^a-z0-9]+/gi, '-')
        .replace(/^-|-$/g, '')
        .toLowerCase() || 'image'
    }.png`;
    await fsp.writeFile(path.join(runDir, file), Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));
    out.push({ caption: p.caption, dataUrl });
  }
  return out;
}
