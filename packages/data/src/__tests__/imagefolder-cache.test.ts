import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { loadImageFolder } from '../index';

/** Writes a w×h PNG filled with one colour. */
function writePng(file: string, rgb: [number, number, number], w = 3, h = 2): void {
  const png = new PNG({ width: w, height: h });
  for (let p = 0; p < w * h; p++) png.data.set([...rgb, 255], 4 * p);
  writeFileSync(file, PNG.sync.write(png));
}

describe('loadImageFolder: decoded-pixel cache', () => {
  it('writes the decoded bytes once, reads them back identically, and notices a changed file', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ssl-if-'));
    const cache = path.join(root, '.cache');
    for (const [cls, rgb] of [
      ['cat', [200, 10, 10]],
      ['dog', [10, 10, 200]],
    ] as const) {
      mkdirSync(path.join(root, cls));
      for (let i = 0; i < 3; i++) writePng(path.join(root, cls, `${i}.png`), [rgb[0], rgb[1] + i, rgb[2]]);
    }
    const fresh = loadImageFolder(root, { cache });
    expect(readdirSync(cache).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    const again = loadImageFolder(root, { cache });
    expect(Array.from(again.pixels)).toEqual(Array.from(fresh.pixels));
    expect(Array.from(again.labels!)).toEqual(Array.from(fresh.labels!));
    expect([again.height, again.width, again.channels]).toEqual([2, 3, 3]);
    expect(Array.from(again.pixels.subarray(0, 3))).toEqual([200, 10, 10]);
    // Different options (grey) get their own entry, never the RGB bytes.
    const grey = loadImageFolder(root, { cache, channels: 1 });
    expect(grey.pixels.length).toBe(6 * 6);
    expect(readdirSync(cache).filter((f) => f.endsWith('.bin'))).toHaveLength(2);
    // Rewriting a file (new content, new modification time) makes a new entry with the new pixels.
    writePng(path.join(root, 'cat', '0.png'), [0, 255, 0]);
    utimesSync(path.join(root, 'cat', '0.png'), new Date(), new Date(Date.now() + 5000));
    const changed = loadImageFolder(root, { cache });
    expect(Array.from(changed.pixels.subarray(0, 3))).toEqual([0, 255, 0]);
    expect(readdirSync(cache).filter((f) => f.endsWith('.bin'))).toHaveLength(3);
  });

  it('stays off for small folders unless asked, and `cache: false` turns it off', () => {
    const root = mkdtempSync(path.join(tmpdir(), 'ssl-if-'));
    const cache = path.join(root, 'c');
    writePng(path.join(root, 'a.png'), [1, 2, 3]);
    process.env.SSL_CACHE_DIR = cache;
    try {
      loadImageFolder(root);
      loadImageFolder(root, { cache: false });
      expect(existsSync(cache)).toBe(false);
      loadImageFolder(root, { cache: true });
      expect(readdirSync(cache).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    } finally {
      delete process.env.SSL_CACHE_DIR;
    }
  });
});
