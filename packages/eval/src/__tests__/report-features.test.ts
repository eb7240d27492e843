import { inflateSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type DataSource, type ImageBatch } from '@ssl/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractFeatures, pngDataUrl, renderReport } from '../index';

beforeAll(async () => {
  await initBackend();
});

describe('renderReport', () => {
  const base = {
    title: '<script>alert(1)</script> & co',
    subtitle: 'seed "0"',
    config: { method: '<b>rotation</b>' },
    lossCurve: Array.from({ length: 50 }, (_, i) => ({ step: i * 10, loss: 2 / (1 + i) })),
    table: [
      { name: 'Linear probe, pretrained', value: '91.20 %' },
      { name: 'Linear probe, random init', value: 0.801 },
    ],
    embedding: { points: Float32Array.of(0, 0, 1, 1, 2, 0.5), labels: Int32Array.of(0, 1, 2), classNames: ['zero', '<one>', 'two'] },
  };

  it('is self-contained HTML with SVG plots, escaped text and the table values', () => {
    const html = renderReport(base);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect((html.match(/<svg/g) ?? []).length).toBe(2); // loss curve + embedding
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; co');
    expect(html).toContain('&lt;b&gt;rotation&lt;/b&gt;');
    expect(html).toContain('&lt;one&gt;');
    expect(html).toContain('91.20 %');
    expect(html).toContain('0.801');
    expect(html).not.toMatch(/(src|href)="https?:/); // no external assets
    expect(html).toMatch(/<path d="M[\d.]+,[\d.]+(L[\d.]+,[\d.]+){49}"/); // one vertex per loss point
    expect((html.match(/<circle /g) ?? []).length).toBe(3); // one dot per embedded point
  });

  it('takes a table with explicit headers and survives an empty or non-finite loss curve', () => {
    const html = renderReport({
      ...base,
      lossCurve: [{ step: 0, loss: NaN }],
      table: { headers: ['protocol', 'pretrained', 'random init'], rows: [['linear', '91.2 %', '80.1 %']] },
    });
    expect(html).toContain('<th>random init</th>');
    expect(html).toContain('<td>80.1 %</td>');
    expect(html).toContain('No training steps recorded.');
    expect(html).not.toContain('NaN');
  });
});

describe('pngDataUrl', () => {
  it('encodes a valid PNG whose pixels decode back', () => {
    const px = Float32Array.of(0, 0.5, 1, 0.25, 2, -1); // 2×3 grey, out-of-range values clamp
    const url = pngDataUrl(px, 2, 3, 1);
    const png = Buffer.from(url.replace('data:image/png;base64,', ''), 'base64');
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(16)).toBe(3); // IHDR width
    expect(png.readUInt32BE(20)).toBe(2); // IHDR height
    const idatLen = png.readUInt32BE(33);
    expect(png.toString('ascii', 37, 41)).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLen));
    expect([...raw]).toEqual([0, 0, 128, 255, 0, 64, 255, 0]);
    expect(() => pngDataUrl(px, 2, 3, 2)).toThrow(/Must be one of \[1, 3, 4\]/);
  });
});

describe('extractFeatures', () => {
  // Image i is a 2×2×1 image filled with i + 1; labels are i % 3.
  const source: DataSource<ImageBatch> = {
    modality: 'image',
    size: 7,
    batch: (idx) => ({
      modality: 'image',
      images: Float32Array.from({ length: idx.length * 4 }, (_, k) => idx[Math.floor(k / 4)]! + 1),
      n: idx.length,
      height: 2,
      width: 2,
      channels: 1,
      labels: Int32Array.from(idx, (i) => i % 3),
      indices: idx,
    }),
  };
  // Features of image i: [sum = 4(i + 1), −sum] (flatten → dense with fixed weights).
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [2, 2, 1] }),
      tf.layers.dense({ units: 2, useBias: false, weights: [tf.tensor2d([1, -1, 1, -1, 1, -1, 1, -1], [4, 2])] }),
    ],
  });

  it('returns [n, dim] rows in dataset order with labels, leaking no tensors', async () => {
    const before = tf.memory().numTensors;
    const f = await extractFeatures(model, source, { batchSize: 3 });
    expect(f.n).toBe(7);
    expect(f.dim).toBe(2);
    expect([...f.features]).toEqual([0, 1, 2, 3, 4, 5, 6].flatMap((i) => [4 * (i + 1), -4 * (i + 1)]));
    expect([...f.labels!]).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(tf.memory().numTensors).toBe(before);
    const limited = await extractFeatures(model, source, { limit: 4 });
    expect(limited.n).toBe(4);
    expect(limited.features.length).toBe(8);
  });

  it('rejects a bad batch size with a one-line error', async () => {
    await expect(extractFeatures(model, source, { batchSize: 0 })).rejects.toThrow(/field "batchSize" = 0/);
  });
});
