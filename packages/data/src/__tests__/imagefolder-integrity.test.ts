import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { loadDataset, loadImageFolder } from '../index';

/** Writes a w×h PNG filled with one colour. */
function writePng(file: string, rgb: [number, number, number], w = 4, h = 4): void {
  const png = new PNG({ width: w, height: h });
  for (let p = 0; p < w * h; p++) png.data.set([...rgb, 255], 4 * p);
  writeFileSync(file, PNG.sync.write(png));
}

/** root/<class>/<i>.png: 3 classes × 10 images, image i of class c has red = 10c + i (so each is identifiable). */
function classFolder(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'ssl-ifl-'));
  for (const [c, cls] of ['ant', 'bee', 'cow'].entries()) {
    mkdirSync(path.join(root, cls));
    for (let i = 0; i < 10; i++) writePng(path.join(root, cls, `${i}.png`), [10 * c + i, 0, 0]);
  }
  return root;
}

const reds = (ds: { pixels: Uint8Array; size: number; height: number; width: number; channels: number }) =>
  Array.from({ length: ds.size }, (_, i) => ds.pixels[i * ds.height * ds.width * ds.channels]!);

function cacheFiles(dir: string) {
  const bin = readdirSync(dir).find((f) => f.endsWith('.bin'))!;
  return { bin: path.join(dir, bin), json: path.join(dir, bin.replace(/\.bin$/, '.json')) };
}

describe('image folders as documented', () => {
  it('root/<class>/… without train/test is split per class with a seeded, stated fraction; train and test are disjoint', () => {
    const root = classFolder();
    const lines: string[] = [];
    const train = loadImageFolder(root, { split: 'train', log: (l) => lines.push(l) });
    const test = loadImageFolder(root, { split: 'test', log: (l) => lines.push(l) });
    expect([train.size, test.size]).toEqual([24, 6]);
    expect(lines).toEqual([expect.stringMatching(/has no train\/ and test\/ folders: split each class with seed 0, 20 % test: 24 train, 6 test images/)]);
    // Disjoint and together all 30 images; 2 test images per class; labels follow the class folders.
    const all = [...reds(train), ...reds(test)].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 30 }, (_, i) => Math.floor(i / 10) * 10 + (i % 10)));
    expect(Array.from(test.labels!).sort()).toEqual([0, 0, 1, 1, 2, 2]);
    reds(test).forEach((r, i) => expect(Math.floor(r / 10)).toBe(test.labels![i]));
    // Seeded: the same split again; another seed or fraction gives another split.
    expect(reds(loadImageFolder(root, { split: 'test', log: () => {} }))).toEqual(reds(test));
    expect(reds(loadImageFolder(root, { split: 'test', splitSeed: 1, log: () => {} }))).not.toEqual(reds(test));
    expect(loadImageFolder(root, { split: 'test', testFraction: 0.5, log: () => {} }).size).toBe(15);
    expect(() => loadImageFolder(root, { testFraction: 1.5 })).toThrow(/testFraction 1.5 is not allowed; it must be between 0 and 1/);
  });

  it('an unlabelled flat folder loads for pretraining; its test split is refused with the reason', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ssl-iff-'));
    for (let i = 0; i < 5; i++) writePng(path.join(root, `${i}.png`), [i, 0, 0]);
    const train = loadDataset(`imagefolder:${root}`, { split: 'train' });
    expect(train.size).toBe(5);
    expect(train.labels).toBeUndefined();
    expect(() => loadDataset(`imagefolder:${root}`, { split: 'test' })).toThrow(/is a flat folder of unlabelled images, so it has no test split to probe on/);
  });

  it('mixed sizes: refused naming --image-size; with a size every image is resized', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ssl-ifm-'));
    writePng(path.join(root, 'a.png'), [9, 9, 9], 4, 4);
    writePng(path.join(root, 'b.png'), [9, 9, 9], 6, 3);
    expect(() => loadImageFolder(root)).toThrow(/b.png" is 3×6 but the first image is 4×4\. Resize them all: --image-size 4/);
    const ds = loadDataset(`imagefolder:${root}`, { size: [5, 5] });
    expect([ds.size, ds.height, ds.width]).toEqual([2, 5, 5]);
  });
});

describe('decoded-pixel cache integrity', () => {
  it('an inverted cache file (same size) is caught by its checksum and rebuilt with a warning', () => {
    const root = classFolder();
    const cache = path.join(root, '.cache');
    const opts = { cache, split: 'train' as const, log: () => {} };
    const good = loadImageFolder(root, opts);
    const { bin } = cacheFiles(cache);
    const bytes = readFileSync(bin);
    for (let i = 0; i < bytes.length; i++) bytes[i] = 255 - bytes[i]!;
    writeFileSync(bin, bytes);
    const lines: string[] = [];
    const again = loadImageFolder(root, { ...opts, log: (l) => lines.push(l) });
    expect(lines).toEqual([
      expect.stringMatching(/^warning: image cache ".*\.bin" is damaged \(its sha256 does not match its shape and bytes\); rebuilding it from the images\.$/),
    ]);
    expect(Array.from(again.pixels)).toEqual(Array.from(good.pixels));
    // Rebuilt: the next load reads a good entry silently.
    const quiet: string[] = [];
    loadImageFolder(root, { ...opts, log: (l) => quiet.push(l) });
    expect(quiet).toEqual([]);
  });

  it('a zeroed region of the cache file is caught too', () => {
    const root = classFolder();
    const cache = path.join(root, '.cache');
    const opts = { cache, log: () => {} };
    const good = loadImageFolder(root, opts);
    const { bin } = cacheFiles(cache);
    const bytes = readFileSync(bin);
    bytes.fill(0, 100, 300);
    writeFileSync(bin, bytes);
    const lines: string[] = [];
    expect(Array.from(loadImageFolder(root, { ...opts, log: (l) => lines.push(l) }).pixels)).toEqual(Array.from(good.pixels));
    expect(lines[0]).toMatch(/is damaged \(its sha256 does not match/);
  });

  it('a shape JSON changed to another shape with the same byte count is caught; damaged JSON is one line naming the file', () => {
    const root = classFolder();
    const cache = path.join(root, '.cache');
    const opts = { cache, log: () => {} };
    const good = loadImageFolder(root, opts);
    const { json } = cacheFiles(cache);
    const meta = JSON.parse(readFileSync(json, 'utf8'));
    writeFileSync(json, JSON.stringify({ ...meta, height: 2, width: 8 }));
    const lines: string[] = [];
    const again = loadImageFolder(root, { ...opts, log: (l) => lines.push(l) });
    expect([again.height, again.width]).toEqual([4, 4]);
    expect(Array.from(again.pixels)).toEqual(Array.from(good.pixels));
    expect(lines[0]).toMatch(/\.bin" is damaged \(its sha256 does not match/);
    writeFileSync(json, '{"height": 4, "wid');
    lines.length = 0;
    expect(loadImageFolder(root, { ...opts, log: (l) => lines.push(l) }).size).toBe(30);
    expect(lines).toEqual([expect.stringMatching(/^warning: image cache ".*\.json" is damaged \(not valid JSON: .*\); rebuilding it from the images\.$/)]);
  });
});
