import { mean, pairedDifference, sampleStd, type PairedDifference } from '@ssl/eval';
import type { RunRecord } from './execute';
import type { SkippedPair } from './plan';

/** Mean and sample standard deviation over seeds. */
export interface MeanStd {
  mean: number;
  std: number;
}

/** One (method, dataset) row of a comparison: statistics over its finished seeds. */
export interface SummaryRow {
  method: string;
  dataset: string;
  /** Seeds that finished. */
  seeds: number[];
  failed: Array<{ seed: number; error: string }>;
  probeMetric: string;
  probe: MeanStd;
  randomInitProbe: MeanStd;
  /** Pretrained − random init, paired by seed, with its 95 % t-interval. */
  probeGain: PairedDifference;
  knn: MeanStd;
  randomInitKnn: MeanStd;
  knnGain: PairedDifference;
  /** Mean wall time per run, seconds. */
  seconds: number;
  imagesPerSec: number;
  examplesPerSec: number;
  epochs: number;
  steps: number;
}

const stat = (xs: number[]): MeanStd => ({ mean: mean(xs), std: sampleStd(xs) });

/**
 * Groups runs by (method, dataset), in the order first seen, and computes mean ± std over seeds
 * and the paired gain over random init.
 *
 * @example
 * const rows = summarize(records); // rows[0].probeGain.excludesZero
 */
export function summarize(records: RunRecord[]): SummaryRow[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of records) {
    const key = JSON.stringify([r.method, r.dataset]);
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((rs) => {
    const done = rs.filter((r) => r.status === 'done' && r.result).sort((a, b) => a.seed - b.seed);
    const res = done.map((r) => r.result!);
    const pick = (f: (x: (typeof res)[number]) => number) => res.map(f);
    return {
      method: rs[0]!.method,
      dataset: rs[0]!.dataset,
      seeds: done.map((r) => r.seed),
      failed: rs.filter((r) => r.status === 'failed').map((r) => ({ seed: r.seed, error: r.error ?? 'unknown error' })),
      probeMetric: res[0]?.probeMetric ?? 'linear probe top-1',
      probe: stat(pick((x) => x.probeAccuracy)),
      randomInitProbe: stat(pick((x) => x.randomInitProbeAccuracy)),
      probeGain: pairedDifference(
        pick((x) => x.probeAccuracy),
        pick((x) => x.randomInitProbeAccuracy),
      ),
      knn: stat(pick((x) => x.knnAccuracy)),
      randomInitKnn: stat(pick((x) => x.randomInitKnnAccuracy)),
      knnGain: pairedDifference(
        pick((x) => x.knnAccuracy),
        pick((x) => x.randomInitKnnAccuracy),
      ),
      seconds: mean(pick((x) => x.seconds)),
      imagesPerSec: mean(pick((x) => x.imagesPerSec)),
      examplesPerSec: mean(pick((x) => x.examplesPerSec)),
      epochs: res[0]?.epochs ?? NaN,
      steps: res[0]?.steps ?? NaN,
    };
  });
}

const pts = (v: number) => (100 * v).toFixed(2);
const signed = (v: number) => `${v >= 0 ? '+' : '−'}${pts(Math.abs(v))}`;

/** "94.34 ± 0.12 %" (no ± for one seed, "—" for none or NaN, e.g. kNN on a multi-label dataset). */
export function formatMeanStd(s: MeanStd): string {
  if (!Number.isFinite(s.mean)) return '—';
  return Number.isFinite(s.std) ? `${pts(s.mean)} ± ${pts(s.std)} %` : `${pts(s.mean)} %`;
}

/** "+1.66 [+0.90, +2.42] ✓" (points; the mark when the 95 % interval excludes 0). */
export function formatGain(d: PairedDifference): string {
  if (!Number.isFinite(d.mean)) return '—';
  if (!Number.isFinite(d.lo)) return `${signed(d.mean)} (one seed)`;
  return `${signed(d.mean)} [${signed(d.lo)}, ${signed(d.hi)}]${d.excludesZero ? ' ✓' : ''}`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The accuracy table (markdown), one row per (method, dataset): what a comparison measured. */
export function accuracyTable(rows: SummaryRow[]): string {
  const lines = [
    '| method | dataset | seeds | probe | random init | gain, points [95 % CI] | kNN (k=20) | random-init kNN | kNN gain [95 % CI] | failed runs |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const win = r.probeGain.excludesZero && r.probeGain.mean > 0;
    const probe = formatMeanStd(r.probe);
    lines.push(
      `| \`${cell(r.method)}\` | ${cell(r.dataset)} | ${r.seeds.length ? r.seeds.join(', ') : '—'} | ${win ? `**${probe}**` : probe} | ${formatMeanStd(r.randomInitProbe)} | ${formatGain(r.probeGain)} | ${formatMeanStd(r.knn)} | ${formatMeanStd(r.randomInitKnn)} | ${formatGain(r.knnGain)} | ${r.failed.map((f) => cell(`seed ${f.seed}: ${f.error}`)).join('; ')} |`,
    );
  }
  return lines.join('\n');
}

/** The cost table (markdown): budget, wall time and throughput per (method, dataset). */
export function costTable(rows: SummaryRow[]): string {
  const lines = ['| method | dataset | epochs | steps | wall time per run | images/s | pretext examples/s |', '|---|---|---|---|---|---|---|'];
  const n = (v: number, d = 0) => (Number.isFinite(v) ? v.toFixed(d) : '—');
  for (const r of rows)
    lines.push(
      `| \`${cell(r.method)}\` | ${cell(r.dataset)} | ${n(r.epochs)} | ${n(r.steps)} | ${n(r.seconds)} s | ${n(r.imagesPerSec, 1)} | ${n(r.examplesPerSec, 1)} |`,
    );
  return lines.join('\n');
}

/**
 * Skipped pairs, one line per reason (the reason names the dataset): `--methods all` skips many
 * methods alike, e.g. "`rotation`, `simclr`: each trains on image data, sensors is sequence".
 *
 * @example
 * for (const line of skippedLines(skipped)) io.err(`skipping ${line}`);
 */
export function skippedLines(skipped: SkippedPair[]): string[] {
  const groups = new Map<string, string[]>();
  for (const s of skipped) {
    const why = s.reason.startsWith(`${s.method} `) ? s.reason.slice(s.method.length + 1) : s.reason;
    groups.set(why, [...(groups.get(why) ?? []), s.method]);
  }
  return [...groups].map(([why, names]) => `${names.map((n) => `\`${n}\``).join(', ')}: ${names.length > 1 ? 'each ' : ''}${why}`);
}

/**
 * results.md: the command, the accuracy table, its legend, the cost table and skipped pairs.
 *
 * @example
 * writeFileSync('results.md', renderResultsMarkdown(summarize(records), { command: 'ssl compare …', skipped: [] }));
 */
export function renderResultsMarkdown(rows: SummaryRow[], meta: { command: string; skipped: SkippedPair[]; title?: string }): string {
  const metrics = [...new Set(rows.map((r) => `${r.dataset}: ${r.probeMetric}`))];
  const out = [
    `# ${meta.title ?? 'ssl compare'}`,
    '',
    `Made by \`${meta.command}\`.`,
    '',
    '## Accuracy',
    '',
    accuracyTable(rows),
    '',
    `Mean ± sample standard deviation over seeds. "Random init" is the same encoder with the same seed, untrained. The gain is pretrained − random init in points, paired by seed, with a 95 % Student-t interval over seeds; ✓ marks an interval that excludes 0 (a bold probe: a gain that is significant at this level). Probe metric — ${metrics.join('; ')}.`,
    '',
    '## Cost',
    '',
    costTable(rows),
    '',
    'Wall time is the whole `ssl pretrain` per run (random-init probe, pretraining, probe); it depends on what else shared the machine.',
  ];
  if (meta.skipped.length) out.push('', '## Skipped', '', ...skippedLines(meta.skipped).map((l) => `- ${l}`));
  return out.join('\n') + '\n';
}
