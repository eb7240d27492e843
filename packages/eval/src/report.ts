import { deflateSync } from 'node:zlib';

/** What a run report shows. */
export interface ReportInput {
  title: string;
  subtitle?: string;
  config?: unknown;
  lossCurve: Array<{ step: number; loss: number }>;
  table: Array<{ name: string; value: string | number }>;
  embedding?: { points: Float32Array; labels: Int32Array; classNames?: string[] };
  images?: Array<{ caption: string; dataUrl: string }>;
}

const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12; v += step) out.push(Number(v.toPrecision(6)));
  return out;
}

function lossSvg(curve: ReportInput['lossCurve']): string {
  const W = 640;
  const H = 280;
  const m = { l: 56, r: 16, t: 16, b: 40 };
  if (curve.length === 0) return '<p>No training steps recorded.</p>';
  const xs = curve.map((p) => p.step);
  const ys = curve.map((p) => p.loss).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys, Math.min(...ys) + 1e-6)];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  const path = curve
    .filter((p) => Number.isFinite(p.loss))
    .map((p, i) => `${i ? 'L' : 'M'}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`)
    .join('');
  const xt = niceTicks(x0, x1).map((t) => `<g><line x1="${sx(t)}" x2="${sx(t)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#333"/><text x="${sx(t)}" y="${H - m.b + 16}" text-anchor="middle">${t}</text></g>`);
  const yt = niceTicks(y0, y1).map((t) => `<g><line x1="${m.l - 4}" x2="${m.l}" y1="${sy(t)}" y2="${sy(t)}" stroke="#333"/><text x="${m.l - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text></g>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-size="11" font-family="sans-serif" role="img" aria-label="loss curve">
<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#333"/>
${xt.join('')}${yt.join('')}
<path d="${path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>
<text x="${(W + m.l) / 2}" y="${H - 6}" text-anchor="middle">step</text><text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">pretext loss</text>
</svg>`;
}

function scatterSvg(e: NonNullable<ReportInput['embedding']>): string {
  const W = 520;
  const H = 420;
  const pad = 20;
  const n = e.labels.length;
  if (n === 0) return '';
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (let i = 0; i < n; i++) {
    x0 = Math.min(x0, e.points[2 * i]!);
    x1 = Math.max(x1, e.points[2 * i]!);
    y0 = Math.min(y0, e.points[2 * i + 1]!);
    y1 = Math.max(y1, e.points[2 * i + 1]!);
  }
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * pad - 120);
  const sy = (y: number) => H - pad - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * pad);
  const dots: string[] = [];
  for (let i = 0; i < n; i++) dots.push(`<circle cx="${sx(e.points[2 * i]!).toFixed(1)}" cy="${sy(e.points[2 * i + 1]!).toFixed(1)}" r="2" fill="${PALETTE[e.labels[i]! % PALETTE.length]}" fill-opacity="0.7"/>`);
  const classes = [...new Set(e.labels)].sort((a, b) => a - b);
  const legend = classes.map(
    (c, i) => `<g><rect x="${W - 110}" y="${pad + i * 16}" width="10" height="10" fill="${PALETTE[c % PALETTE.length]}"/><text x="${W - 95}" y="${pad + i * 16 + 9}">${esc(e.classNames?.[c] ?? c)}</text></g>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-size="11" font-family="sans-serif" role="img" aria-label="2-D embedding"><rect x="0" y="0" width="${W}" height="${H}" fill="#fff" stroke="#ccc"/>${dots.join('')}${legend.join('')}</svg>`;
}

/**
 * Renders a self-contained report.html (inline SVG, no scripts, no external assets): loss
 * curve, results table, 2-D embedding coloured by label, optional images and the config.
 *
 * @example
 * writeFileSync('report.html', renderReport({ title: 'rotation on mnist', lossCurve, table }));
 */
export function renderReport(r: ReportInput): string {
  const rows = r.table.map((row) => `<tr><td>${esc(row.name)}</td><td>${esc(row.value)}</td></tr>`).join('');
  const images = (r.images ?? []).map((im) => `<figure><img src="${esc(im.dataUrl)}" alt="${esc(im.caption)}"/><figcaption>${esc(im.caption)}</figcaption></figure>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px}td:last-child{text-align:right;font-variant-numeric:tabular-nums}figure{display:inline-block;margin:4px}img{image-rendering:pixelated;width:256px}pre{background:#f6f6f6;padding:1em;overflow:auto}</style>
</head><body>
<h1>${esc(r.title)}</h1>${r.subtitle ? `<p>${esc(r.subtitle)}</p>` : ''}
<h2>Results</h2><table><tr><th>measure</th><th>value</th></tr>${rows}</table>
<h2>Pretext loss</h2>${lossSvg(r.lossCurve)}
${r.embedding ? `<h2>Test embedding (PCA, coloured by label)</h2>${scatterSvg(r.embedding)}` : ''}
${images ? `<h2>Examples</h2>${images}` : ''}
${r.config !== undefined ? `<h2>Config</h2><pre>${esc(JSON.stringify(r.config, null, 2))}</pre>` : ''}
</body></html>
`;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/**
 * Encodes float HWC pixels in [0, 1] (1 or 3 channels) as a PNG data URL for reports.
 *
 * @example
 * const url = pngDataUrl(image.data, 28, 28, 1);
 */
export function pngDataUrl(pixels: Float32Array, height: number, width: number, channels: 1 | 3): string {
  const raw = Buffer.alloc(height * (width * channels + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (width * channels + 1)] = 0;
    for (let i = 0; i < width * channels; i++) raw[y * (width * channels + 1) + 1 + i] = Math.round(Math.min(1, Math.max(0, pixels[y * width * channels + i]!)) * 255);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = channels === 3 ? 2 : 0;
  const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
  return `data:image/png;base64,${png.toString('base64')}`;
}
