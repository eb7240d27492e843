import { deflateSync } from 'node:zlib';
import { SslError } from '@ssl/core';

/**
 * A results table: `{ name, value }` pairs (two columns), or explicit headers and rows.
 *
 * @example
 * const t: ReportTable = { headers: ['probe', 'pretrained', 'random init'], rows: [['linear', '91.2 %', '80.1 %']] };
 */
export type ReportTable = Array<{ name: string; value: string | number }> | { headers: string[]; rows: Array<Array<string | number>> };

/**
 * What {@link renderReport} shows.
 *
 * @example
 * const r: ReportInput = { title: 'rotation on mnist', lossCurve: [{ step: 0, loss: 1.4 }], table: [{ name: 'probe', value: '91 %' }] };
 */
export interface ReportInput {
  title: string;
  subtitle?: string;
  /** Shown as pretty-printed JSON. */
  config?: unknown;
  lossCurve: Array<{ step: number; loss: number }>;
  table: ReportTable;
  /** 2-D points (n×2, e.g. from pca2d) coloured by label. */
  embedding?: { points: Float32Array; labels: Int32Array; classNames?: string[] };
  /** Images as data URLs (see pngDataUrl). */
  images?: Array<{ caption: string; dataUrl: string }>;
  /** Further curves over training steps (e.g. collapse metrics), one plot each, below the loss. */
  curves?: Array<{ title: string; label: string; points: Array<{ step: number; value: number }> }>;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => ESCAPES[c]!);

// Tableau 10, then a second set, so up to 20 classes get distinct colours.
const PALETTE = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#aec7e8',
  '#ffbb78',
  '#98df8a',
  '#ff9896',
  '#c5b0d5',
  '#c49c94',
  '#f7b6d2',
  '#c7c7c7',
  '#dbdb8d',
  '#9edae5',
];
const colour = (label: number) => PALETTE[((label % PALETTE.length) + PALETTE.length) % PALETTE.length]!;

/** Round-numbered ticks (1, 2, 5 × 10^k) covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

/** Min and max of finite values; loops, since Math.min(...xs) overflows the stack on long runs. */
function extent(values: Iterable<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return [0, 1];
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

function lossSvg(curve: ReportInput['lossCurve']): string {
  return curveSvg(
    curve.map((p) => ({ step: p.step, value: p.loss })),
    'loss',
    'training loss curve',
  );
}

function curveSvg(curve: Array<{ step: number; value: number }>, label: string, aria: string): string {
  const points = curve.filter((p) => Number.isFinite(p.step) && Number.isFinite(p.value)).map((p) => ({ step: p.step, loss: p.value }));
  if (points.length === 0) return '<p>No training steps recorded.</p>';
  const W = 640;
  const H = 280;
  const m = { l: 60, r: 16, t: 16, b: 40 };
  const [x0, x1] = extent(points.map((p) => p.step));
  const [y0, y1] = extent(points.map((p) => p.loss));
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const path = points.map((p, i) => `${i ? 'L' : 'M'}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`).join('');
  const xt = niceTicks(x0, x1).map(
    (t) =>
      `<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#333"/><text x="${sx(t).toFixed(1)}" y="${H - m.b + 16}" text-anchor="middle">${t}</text>`,
  );
  const yt = niceTicks(y0, y1).map(
    (t) =>
      `<line x1="${m.l - 4}" x2="${W - m.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#eee"/><line x1="${m.l - 4}" x2="${m.l}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="#333"/><text x="${m.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${t}</text>`,
  );
  const marker = points.length === 1 ? `<circle cx="${sx(points[0]!.step).toFixed(1)}" cy="${sy(points[0]!.loss).toFixed(1)}" r="3" fill="#1f77b4"/>` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="11" font-family="sans-serif" role="img" aria-label="${esc(aria)}">
${yt.join('')}${xt.join('')}
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>
<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>${marker}
<text x="${(W + m.l) / 2}" y="${H - 6}" text-anchor="middle">step</text><text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">${esc(label)}</text>
</svg>`;
}

function scatterSvg(e: NonNullable<ReportInput['embedding']>): string {
  const n = Math.min(e.labels.length, Math.floor(e.points.length / 2));
  if (n === 0) return '<p>No points to plot.</p>';
  const W = 560;
  const H = 420;
  const pad = 24;
  const legendW = 140;
  const [x0, x1] = extent(Array.from({ length: n }, (_, i) => e.points[2 * i]!));
  const [y0, y1] = extent(Array.from({ length: n }, (_, i) => e.points[2 * i + 1]!));
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0)) * (W - 2 * pad - legendW);
  const sy = (y: number) => H - pad - ((y - y0) / (y1 - y0)) * (H - 2 * pad);
  const dots: string[] = [];
  for (let i = 0; i < n; i++) {
    const x = e.points[2 * i]!;
    const y = e.points[2 * i + 1]!;
    if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
    dots.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="2" fill="${colour(e.labels[i]!)}" fill-opacity="0.7"/>`);
  }
  const classes = [...new Set(e.labels.subarray(0, n))].sort((a, b) => a - b);
  const legend = classes.map(
    (c, i) =>
      `<rect x="${W - legendW + 10}" y="${pad + i * 16}" width="10" height="10" fill="${colour(c)}"/><text x="${W - legendW + 26}" y="${pad + i * 16 + 9}">${esc(e.classNames?.[c] ?? c)}</text>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-size="11" font-family="sans-serif" role="img" aria-label="2-D embedding coloured by label">
<rect x="0.5" y="0.5" width="${W - 1}" height="${H - 1}" fill="#fff" stroke="#ccc"/>${dots.join('')}${legend.join('')}
<text x="${(W - legendW) / 2}" y="${H - 6}" text-anchor="middle">component 1</text><text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">component 2</text>
</svg>`;
}

function tableHtml(t: ReportTable): string {
  const { headers, rows } = Array.isArray(t) ? { headers: ['measure', 'value'], rows: t.map((r) => [r.name, r.value]) } : t;
  const cell = (v: string | number, tag: 'td' | 'th') => `<${tag}${typeof v === 'number' ? ' class="num"' : ''}>${esc(v)}</${tag}>`;
  return `<table><thead><tr>${headers.map((h) => cell(h, 'th')).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((v) => cell(v, 'td')).join('')}</tr>`).join('')}</tbody></table>`;
}

/**
 * Renders a self-contained report.html (inline CSS and SVG, no scripts or external assets): results
 * table, loss curve, 2-D embedding coloured by label, optional images and config; all text escaped.
 *
 * @example
 * writeFileSync('report.html', renderReport({ title: 'rotation on mnist', lossCurve, table, embedding: { points, labels } }));
 */
export function renderReport(r: ReportInput): string {
  const images = (r.images ?? [])
    .map(
      (im) =>
        `<figure><img src="${esc(im.dataUrl.startsWith('data:') ? im.dataUrl : '')}" alt="${esc(im.caption)}"/><figcaption>${esc(im.caption)}</figcaption></figure>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.num{text-align:right;font-variant-numeric:tabular-nums}figure{display:inline-block;margin:4px}img{image-rendering:pixelated;width:128px}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>
</head><body>
<h1>${esc(r.title)}</h1>${r.subtitle ? `<p>${esc(r.subtitle)}</p>` : ''}
<h2>Results</h2>${tableHtml(r.table)}
<h2>Training loss</h2>${lossSvg(r.lossCurve)}
${(r.curves ?? []).map((c) => `<h2>${esc(c.title)}</h2>${curveSvg(c.points, c.label, c.title)}`).join('\n')}
${r.embedding ? `<h2>Test embedding (coloured by label)</h2>${scatterSvg(r.embedding)}` : ''}
${images ? `<h2>Examples</h2>${images}` : ''}
${r.config !== undefined ? `<h2>Config</h2><pre>${esc(JSON.stringify(r.config, null, 2))}</pre>` : ''}
</body></html>
`;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** One PNG chunk: length, type, data, CRC over type + data. */
function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/**
 * Encodes float HWC pixels in [0, 1] (1 = grey, 3 = RGB, 4 = RGBA channels) as a PNG data URL.
 *
 * @example
 * const url = pngDataUrl(batch.images.subarray(0, 28 * 28), 28, 28, 1); // 'data:image/png;base64,iVBOR...'
 */
export function pngDataUrl(pixels: Float32Array, height: number, width: number, channels: number): string {
  const colourType = ({ 1: 0, 3: 2, 4: 6 } as Record<number, number>)[channels];
  if (colourType === undefined) throw new SslError(`Unsupported channel count ${channels} for a PNG. Must be one of [1, 3, 4].`);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1 || pixels.length < height * width * channels) {
    throw new SslError(`pngDataUrl needs ${height}×${width}×${channels} pixels, got ${pixels.length} floats.`);
  }
  const stride = width * channels;
  // Each scanline starts with filter byte 0 (none); deflate does the compressing.
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    for (let i = 0; i < stride; i++) {
      const v = pixels[y * stride + i]!;
      raw[y * (stride + 1) + 1 + i] = Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = colourType;
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const png = Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', new Uint8Array(0))]);
  return `data:image/png;base64,${png.toString('base64')}`;
}

/**
 * The building blocks of {@link renderReport}, for other self-contained pages (e.g. `ssl compare`'s
 * report): HTML escaping, round ticks, finite extents, the labelled scatter plot, the loss curve, a
 * table, the class palette and the page's stylesheet.
 *
 * @example
 * const svg = reportParts.scatterSvg({ points, labels });
 */
export const reportParts = {
  esc,
  niceTicks,
  extent,
  colour,
  scatterSvg,
  lossSvg,
  tableHtml,
  style:
    'body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}.num{text-align:right;font-variant-numeric:tabular-nums}figure{display:inline-block;margin:4px}img{image-rendering:pixelated;width:128px}pre{background:#f6f6f6;padding:1em;overflow:auto}',
};
