import { reportParts } from '@ssl/eval';
import { UMAP } from 'umap-js';
import { Rng } from '@ssl/core';
import type { RunRecord } from './execute';
import type { SummaryRow } from './table';

const { esc, niceTicks, extent, colour, scatterSvg, style } = reportParts;

/** One run's loss curve (from its metrics.jsonl). */
export interface LossSeries {
  method: string;
  dataset: string;
  seed: number;
  points: Array<{ step: number; loss: number }>;
}

/** What {@link renderCompareReport} shows. */
export interface CompareReportInput {
  title: string;
  command: string;
  rows: SummaryRow[];
  runs: RunRecord[];
  /** Accuracy table as HTML-ready header and rows. */
  table: { headers: string[]; rows: string[][] };
  losses: LossSeries[];
  /** 2-D embedding (e.g. from {@link umap2d}) of one run's test features. */
  embedding?: { caption: string; points: Float32Array; labels: Int32Array };
}

/**
 * Bar chart of the probe per (method, dataset): pretrained and random-init bars at the mean, error
 * bars of ± one sample std, and each seed as a dot.
 */
function barsSvg(rows: SummaryRow[], runs: RunRecord[]): string {
  const rs = rows.filter((r) => r.seeds.length > 0);
  if (!rs.length) return '<p>No finished runs.</p>';
  const groupW = 90;
  const m = { l: 60, r: 16, t: 30, b: 90 };
  const W = Math.max(360, m.l + m.r + rs.length * groupW);
  const H = 320;
  const values = [
    ...runs.flatMap((r) => (r.result ? [r.result.probeAccuracy, r.result.randomInitProbeAccuracy] : [])),
    ...rs.flatMap((r) => [r.probe, r.randomInitProbe].flatMap((s) => (Number.isFinite(s.std) ? [s.mean - s.std, s.mean + s.std] : []))),
  ];
  const [lo0, hi0] = extent(values);
  const pad = (hi0 - lo0) * 0.15 || 0.01;
  const [y0, y1] = [Math.max(0, lo0 - pad), Math.min(1, hi0 + pad)];
  const sy = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const parts: string[] = [];
  for (const t of niceTicks(y0, y1)) {
    parts.push(
      `<line x1="${m.l - 4}" x2="${W - m.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/><text x="${m.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${(100 * t).toFixed(1)}</text>`,
    );
  }
  rs.forEach((row, g) => {
    const x0 = m.l + g * groupW + 12;
    const bars: Array<{ mean: number; std: number; values: number[]; fill: string; label: string }> = [
      { mean: row.probe.mean, std: row.probe.std, values: seedValues(runs, row, 'probeAccuracy'), fill: '#1f77b4', label: 'pretrained' },
      {
        mean: row.randomInitProbe.mean,
        std: row.randomInitProbe.std,
        values: seedValues(runs, row, 'randomInitProbeAccuracy'),
        fill: '#bbbbbb',
        label: 'random init',
      },
    ];
    bars.forEach((b, k) => {
      const x = x0 + k * 32;
      const top = sy(b.mean);
      parts.push(
        `<rect x="${x}" y="${top.toFixed(1)}" width="28" height="${(H - m.b - top).toFixed(1)}" fill="${b.fill}"><title>${esc(`${row.method} on ${row.dataset}, ${b.label}: ${(100 * b.mean).toFixed(2)} %`)}</title></rect>`,
      );
      if (Number.isFinite(b.std)) {
        const [a, c] = [sy(Math.max(y0, b.mean - b.std)), sy(Math.min(y1, b.mean + b.std))];
        parts.push(
          `<line x1="${x + 14}" x2="${x + 14}" y1="${a.toFixed(1)}" y2="${c.toFixed(1)}" stroke="#000"/><line x1="${x + 8}" x2="${x + 20}" y1="${a.toFixed(1)}" y2="${a.toFixed(1)}" stroke="#000"/><line x1="${x + 8}" x2="${x + 20}" y1="${c.toFixed(1)}" y2="${c.toFixed(1)}" stroke="#000"/>`,
        );
      }
      b.values.forEach((v, i) =>
        parts.push(
          `<circle cx="${(x + 8 + (12 * (i + 0.5)) / b.values.length).toFixed(1)}" cy="${sy(v).toFixed(1)}" r="2.5" fill="#d62728" stroke="#fff" stroke-width="0.5"/>`,
        ),
      );
    });
    const cx = x0 + 30;
    parts.push(
      `<text transform="translate(${cx},${H - m.b + 12}) rotate(35)" text-anchor="start">${esc(row.method)}${rows.some((r) => r.dataset !== row.dataset) ? ` · ${esc(row.dataset)}` : ''}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="11" font-family="sans-serif" role="img" aria-label="probe accuracy per method with error bars">
${parts.join('')}
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>
<text x="14" y="${(H - m.b) / 2}" transform="rotate(-90 14 ${(H - m.b) / 2})" text-anchor="middle">probe, %</text>
<rect x="${W - m.r - 200}" y="6" width="10" height="10" fill="#1f77b4"/><text x="${W - m.r - 186}" y="15">pretrained</text>
<rect x="${W - m.r - 120}" y="6" width="10" height="10" fill="#bbbbbb"/><text x="${W - m.r - 106}" y="15">random init</text>
</svg>`;
}

function seedValues(runs: RunRecord[], row: SummaryRow, key: 'probeAccuracy' | 'randomInitProbeAccuracy'): number[] {
  return runs.filter((r) => r.method === row.method && r.dataset === row.dataset && r.result).map((r) => r.result![key]);
}

/** Small loss-curve plot of every seed of one (method, dataset). */
function lossPanel(title: string, series: LossSeries[]): string {
  const W = 340;
  const H = 220;
  const m = { l: 50, r: 10, t: 24, b: 32 };
  const all = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.loss) && Number.isFinite(p.step)));
  if (!all.length) return `<figure><figcaption>${esc(title)}: no steps recorded</figcaption></figure>`;
  const [x0, x1] = extent(all.map((p) => p.step));
  const [y0, y1] = extent(all.map((p) => p.loss));
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const paths = series.map((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p.loss) && Number.isFinite(p.step));
    const d = pts.map((p, j) => `${j ? 'L' : 'M'}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`).join('');
    const dot = pts.length === 1 ? `<circle cx="${sx(pts[0]!.step).toFixed(1)}" cy="${sy(pts[0]!.loss).toFixed(1)}" r="3" fill="${colour(i)}"/>` : '';
    return `<path d="${d}" fill="none" stroke="${colour(i)}" stroke-width="1.2"><title>seed ${s.seed}</title></path>${dot}<text x="${W - m.r - 4}" y="${m.t + 12 * i}" text-anchor="end" fill="${colour(i)}">seed ${s.seed}</text>`;
  });
  const yt = niceTicks(y0, y1, 4).map(
    (t) =>
      `<line x1="${m.l - 3}" x2="${W - m.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/><text x="${m.l - 5}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
  );
  const xt = niceTicks(x0, x1, 4).map((t) => `<text x="${sx(t).toFixed(1)}" y="${H - m.b + 14}" text-anchor="middle">${t}</text>`);
  return `<figure><svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="10" font-family="sans-serif" role="img" aria-label="${esc(`loss curves of ${title}`)}">
<text x="${m.l}" y="14" font-weight="bold">${esc(title)}</text>${yt.join('')}${xt.join('')}
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>${paths.join('')}
<text x="${(W + m.l) / 2}" y="${H - 4}" text-anchor="middle">step</text></svg></figure>`;
}

/**
 * A 2-D UMAP embedding (umap-js) of n×dim features, seeded so the same input gives the same picture.
 *
 * @example
 * const points = umap2d(features.test.features, 1000, features.test.dim, 0); // Float32Array(2000)
 */
export function umap2d(features: Float32Array, n: number, dim: number, seed: number): Float32Array {
  const rows = Array.from({ length: n }, (_, i) => Array.from(features.subarray(i * dim, (i + 1) * dim)));
  const rng = Rng.derive(seed, 'umap');
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(15, Math.max(2, n - 1)), minDist: 0.1, nEpochs: 200, random: () => rng.uniform(0, 1) });
  const out = umap.fit(rows);
  return Float32Array.from(out.flatMap((p) => [p[0]!, p[1]!]));
}

/**
 * The comparison's self-contained report.html (inline CSS and SVG, no scripts): the table, a bar
 * chart with error bars and per-seed dots, loss curves side by side, and a 2-D embedding.
 *
 * @example
 * writeFileSync('report.html', renderCompareReport({ title, command, rows, runs, table, losses }));
 */
export function renderCompareReport(r: CompareReportInput): string {
  const tableHtml = `<table><thead><tr>${r.table.headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${r.table.rows
    .map((row) => `<tr>${row.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  const panels = r.rows.map((row) =>
    lossPanel(
      `${row.method} · ${row.dataset}`,
      r.losses.filter((s) => s.method === row.method && s.dataset === row.dataset),
    ),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>${style}</style>
</head><body>
<h1>${esc(r.title)}</h1><p><code>${esc(r.command)}</code></p>
<h2>Results</h2>${tableHtml}
<p>Mean ± sample std over seeds; gain = pretrained − random init in points, paired by seed, with a 95 % Student-t interval; ✓: the interval excludes 0.</p>
<h2>Linear probe per method</h2>${barsSvg(r.rows, r.runs)}
<p>Bars: mean over seeds; whiskers: ± one sample standard deviation; red dots: each seed. The axis starts near the lowest value, not at 0.</p>
<h2>Training loss</h2><div>${panels.join('')}</div>
${r.embedding ? `<h2>Test embedding (UMAP), ${esc(r.embedding.caption)}</h2>${scatterSvg({ points: r.embedding.points, labels: r.embedding.labels })}` : ''}
</body></html>
`;
}
