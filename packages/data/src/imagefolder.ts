import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { Rng, SslError } from '@ssl/core';
import { ImageDataset } from './dataset';
import { resizeBilinear, type Image } from './image';
import type { Split } from './mnist';
import { checkLimit } from './util';

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/**
 * Decodes a JPEG or PNG (pure JavaScript, detected by content) into float32 HWC RGB in [0, 1];
 * alpha is dropped, grey images come out with three equal channels. `name` is for errors.
 *
 * @example
 * const img = decodeImage(readFileSync('cat.jpg'), 'cat.jpg');
 */
export function decodeImage(buffer: Uint8Array, name: string): Image {
  const { rgba, width, height } = decodeRgba(buffer, name);
  return rgbaToImage(rgba, width, height);
}

/** RGBA bytes → float HWC RGB in [0, 1]. */
function rgbaToImage(rgba: Uint8Array, width: number, height: number): Image {
  const data = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    data[i * 3] = rgba[j]! / 255;
    data[i * 3 + 1] = rgba[j + 1]! / 255;
    data[i * 3 + 2] = rgba[j + 2]! / 255;
  }
  return { data, height, width, channels: 3 };
}

let pngModule: typeof import('pngjs') | undefined;
/**
 * pngjs, loaded on first use and kept: it needs Node's zlib and stream at import time, which would
 * keep @ssl/data out of browser bundles.
 */
function pngjs(): typeof import('pngjs') {
  return (pngModule ??= createRequire(import.meta.url)('pngjs') as typeof import('pngjs'));
}

/** Decodes a JPEG or PNG to RGBA bytes. */
function decodeRgba(buffer: Uint8Array, name: string): { rgba: Uint8Array; width: number; height: number } {
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (buffer[0] === 0x89 && buffer[1] === 0x50) {
      const png = pngjs().PNG.sync.read(Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength));
      ({ width, height } = png);
      rgba = png.data;
    } else {
      const j = jpeg.decode(buffer, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
      ({ width, height } = j);
      rgba = j.data;
    }
  } catch (e) {
    throw new SslError(`Cannot decode image "${name}": ${(e as Error).message}. Only JPEG and PNG are supported.`);
  }
  return { rgba, width, height };
}

/**
 * Options of {@link loadImageFolder}.
 *
 * @example
 * const opts: ImageFolderOptions = { size: [32, 32], channels: 3, split: 'test', limit: 500 };
 */
export interface ImageFolderOptions {
  /** Keep the first N images of the listing (which interleaves classes, see loadImageFolder). */
  limit?: number;
  /** Resize every image to [height, width] (bilinear); without it all images must match the first. */
  size?: [number, number];
  /** 1 converts to grey (ITU-R 601 luma); 3 keeps RGB (default). */
  channels?: 1 | 3;
  /**
   * Which split to read: `root/train` or `root/test` when both exist (default `train`); otherwise,
   * for class folders, a seeded per-class split with {@link ImageFolderOptions.testFraction} held out
   * (without `split`: the whole folder).
   */
  split?: Split;
  /** Class folders without train/ and test/: the fraction of each class held out as `test` (default 0.2). */
  testFraction?: number;
  /** Seed of that split (default 0); the same seed gives the same split on every machine. */
  splitSeed?: number;
  /** Where the stated split and cache warnings go (default: stderr). */
  log?: (line: string) => void;
  /**
   * Cache of the decoded bytes, keyed by the file list (names, sizes, modification times), size and
   * channels, with a sha256 of shape and bytes that is verified on every read (a damaged entry is
   * rebuilt from the images with a warning): a folder, `true` for `$SSL_CACHE_DIR` or `<tmpdir>/ssl-imagefolder-cache`, or `false`.
   * Default: on for loads of 1000 images or more (CIFAR-10's 60k JPEGs: decoded once, then read back).
   */
  cache?: boolean | string;
}

const CACHE_VERSION = 2;

function cacheDirOf(option: boolean | string | undefined, count: number): string | undefined {
  if (option === false || (option === undefined && count < 1000)) return undefined;
  if (typeof option === 'string') return option;
  return process.env.SSL_CACHE_DIR || path.join(tmpdir(), 'ssl-imagefolder-cache');
}

// Hidden entries (.git, .DS_Store, editor folders) are never classes or images.
const visible = (name: string) => !name.startsWith('.');

function listImages(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => visible(f) && IMAGE_EXT.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Loads images from a folder: labelled `root/<class>/*.jpg|jpeg|png` (classes sorted by name,
 * label = index), `root/<split>/<class>/…` when `train/` and `test/` both exist, or an
 * unlabelled flat folder of images. Files are listed round-robin over classes (first image of
 * each class, then the second, …) so that `limit`, which keeps the first N, covers every class
 * and equals `take(N)` of the full load.
 *
 * @example
 * const ds = loadImageFolder('/data/cifar10-jpeg', { split: 'test', size: [32, 32], limit: 1000 });
 */
export function loadImageFolder(root: string, options: ImageFolderOptions = {}): ImageDataset {
  const limit = checkLimit(options.limit, `Image folder "${root}"`);
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new SslError(`Image folder "${root}": channels ${String(channels)} is not allowed. Must be one of [1, 3].`);
  if (options.size && !options.size.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new SslError(
      `Image folder "${root}": size [${options.size.join(', ')}] is not allowed; it must be [height, width] with whole numbers ≥ 1, e.g. [32, 32].`,
    );
  }
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new SslError(
      `Image folder "${root}" does not exist. Pass imagefolder:PATH with a folder of class sub-folders (root/<class>/*.jpg|png) or of images.`,
    );
  }
  const split = options.split ?? 'train';
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const testFraction = options.testFraction ?? 0.2;
  if (!(testFraction > 0 && testFraction < 1))
    throw new SslError(`Image folder "${root}": testFraction ${String(testFraction)} is not allowed; it must be between 0 and 1 (exclusive), e.g. 0.2.`);
  let base = root;
  const hasSplits = existsSync(path.join(root, 'train')) && existsSync(path.join(root, 'test'));
  if (hasSplits) base = path.join(root, split);
  const classDirs = readdirSync(base)
    .filter((d) => visible(d) && statSync(path.join(base, d)).isDirectory())
    .sort();
  let files: Array<{ file: string; label: number }>;
  let classNames: string[] | undefined;
  if (classDirs.length > 0) {
    classNames = classDirs;
    let byClass = classDirs.map((d) => listImages(path.join(base, d)));
    // Without train/ and test/, an explicit split is a seeded per-class split; no split means the whole folder.
    if (!hasSplits && options.split) byClass = splitClasses(root, byClass, classDirs, testFraction, options.splitSeed ?? 0, split, log);
    files = [];
    const longest = Math.max(...byClass.map((l) => l.length));
    for (let i = 0; i < longest; i++) byClass.forEach((list, label) => i < list.length && files.push({ file: list[i]!, label }));
  } else {
    if (options.split === 'test' && !hasSplits) {
      // Reading the training images as a "test" split would silently leak them into evaluation.
      throw new SslError(
        `Image folder "${root}" is a flat folder of unlabelled images, so it has no test split to probe on. Pretrain on it as is; for a probe lay it out as root/<class>/*.jpg (split ${Math.round(testFraction * 100)} % test, seeded) or root/{train,test}/<class>/*.jpg.`,
      );
    }
    files = listImages(base).map((file) => ({ file, label: -1 }));
  }
  if (files.length === 0)
    throw new SslError(`Image folder "${base}" holds no .jpg, .jpeg or .png files. Lay it out as root/<class>/*.jpg (or a flat folder of images).`);
  if (limit !== undefined) files = files.slice(0, limit);

  const labels = classNames ? Int32Array.from(files, (f) => f.label) : undefined;
  const dir = cacheDirOf(options.cache, files.length);
  let key = '';
  if (dir) {
    const hash = createHash('sha256').update(JSON.stringify({ v: CACHE_VERSION, size: options.size ?? null, channels }));
    for (const { file } of files) {
      const st = statSync(file);
      hash.update(`${path.resolve(file)}\0${st.size}\0${st.mtimeMs}\n`);
    }
    key = path.join(dir, hash.digest('hex').slice(0, 32));
  }
  const cached = key ? readCache(key, files.length, channels, options.size, log) : undefined;
  let size = cached ? cached.size : options.size;
  let pixels: Uint8Array | undefined = cached?.pixels;
  if (!cached) {
    files.forEach(({ file }, i) => {
      const { rgba, width, height } = decodeRgba(readFileSync(file), file);
      if (!size) size = [height, width];
      const per = size[0] * size[1] * channels;
      pixels ??= new Uint8Array(files.length * per);
      const off = i * per;
      if (height === size[0] && width === size[1] && channels === 3) {
        // Bytes straight from the decoder: no float round trip.
        for (let p = 0, j = 0; p < height * width; p++, j += 4) {
          pixels[off + p * 3] = rgba[j]!;
          pixels[off + p * 3 + 1] = rgba[j + 1]!;
          pixels[off + p * 3 + 2] = rgba[j + 2]!;
        }
        return;
      }
      let img = rgbaToImage(rgba, width, height);
      if (img.height !== size[0] || img.width !== size[1]) {
        if (!options.size)
          throw new SslError(
            `Image "${file}" is ${img.height}×${img.width} but the first image is ${size[0]}×${size[1]}. Resize them all: --image-size ${size[0]} on the command line, or size: [${size[0]}, ${size[1]}] in loadImageFolder.`,
          );
        img = resizeBilinear(img, 0, 0, img.height, img.width, size[0], size[1]);
      }
      for (let p = 0; p < size[0] * size[1]; p++) {
        if (channels === 3) for (let c = 0; c < 3; c++) pixels[off + p * 3 + c] = Math.round(img.data[p * 3 + c]! * 255);
        else pixels[off + p] = Math.round((0.299 * img.data[p * 3]! + 0.587 * img.data[p * 3 + 1]! + 0.114 * img.data[p * 3 + 2]!) * 255);
      }
    });
    if (key) writeCache(key, pixels!, size!, files.length, channels);
  }
  return new ImageDataset({
    pixels: pixels!,
    n: files.length,
    height: size![0],
    width: size![1],
    channels,
    ...(labels ? { labels } : {}),
    ...(classNames ? { classNames } : {}),
    name: `imagefolder:${root}`,
  });
}

/** The digest stored with a cache entry: sha256 over its shape and its bytes, so neither can change unseen. */
function cacheDigest(shape: { n: number; height: number; width: number; channels: number }, pixels: Uint8Array): string {
  return createHash('sha256')
    .update(JSON.stringify([shape.n, shape.height, shape.width, shape.channels]))
    .update(pixels)
    .digest('hex');
}

/**
 * Reads a cache entry and verifies it (shape, byte count, sha256); a missing entry is undefined, a
 * damaged one is a warning naming the file and undefined, so the caller rebuilds it from the images.
 */
function readCache(
  key: string,
  n: number,
  channels: number,
  size: [number, number] | undefined,
  log: (line: string) => void,
): { size: [number, number]; pixels: Uint8Array } | undefined {
  if (!existsSync(`${key}.json`) || !existsSync(`${key}.bin`)) return undefined;
  const bad = (file: string, why: string) => {
    log(`warning: image cache "${file}" is damaged (${why}); rebuilding it from the images.`);
    return undefined;
  };
  let meta: { n?: unknown; height?: unknown; width?: unknown; channels?: unknown; sha256?: unknown };
  try {
    meta = JSON.parse(readFileSync(`${key}.json`, 'utf8')) as typeof meta;
  } catch (e) {
    return bad(`${key}.json`, `not valid JSON: ${(e as Error).message}`);
  }
  const { height, width } = meta ?? {};
  if (!meta || meta.n !== n || meta.channels !== channels || !Number.isInteger(height) || !Number.isInteger(width) || typeof meta.sha256 !== 'string') {
    return bad(`${key}.json`, 'its shape does not describe this folder');
  }
  if (size && (size[0] !== height || size[1] !== width)) return bad(`${key}.json`, `shape ${String(height)}×${String(width)}, expected ${size[0]}×${size[1]}`);
  const pixels = new Uint8Array(readFileSync(`${key}.bin`));
  const shape = { n, height: height as number, width: width as number, channels };
  if (pixels.length !== n * shape.height * shape.width * channels)
    return bad(`${key}.bin`, `${pixels.length} bytes, the shape needs ${n * shape.height * shape.width * channels}`);
  if (cacheDigest(shape, pixels) !== meta.sha256) return bad(`${key}.bin`, 'its sha256 does not match its shape and bytes');
  return { size: [shape.height, shape.width], pixels };
}

/** Writes the decoded bytes atomically (temp file + rename), so concurrent runs never read half a file; failures only cost the cache. */
function writeCache(key: string, pixels: Uint8Array, size: [number, number], n: number, channels: number): void {
  try {
    mkdirSync(path.dirname(key), { recursive: true });
    const tmp = `${key}.${process.pid}.tmp`;
    writeFileSync(tmp, pixels);
    renameSync(tmp, `${key}.bin`);
    const shape = { n, height: size[0], width: size[1], channels };
    writeFileSync(`${tmp}j`, JSON.stringify({ ...shape, sha256: cacheDigest(shape, pixels) }));
    renameSync(`${tmp}j`, `${key}.json`);
  } catch {
    // A read-only or full disk: the load itself succeeded.
  }
}

const statedSplits = new Set<string>();

/**
 * Splits each class's files into train and test: a seeded permutation per class (keyed by the
 * class name, so adding a class never moves another's images), `round(n × testFraction)` held out
 * (at least one when the class has two or more). The split is stated once per folder.
 */
function splitClasses(
  root: string,
  byClass: string[][],
  classNames: string[],
  testFraction: number,
  seed: number,
  split: Split,
  log: (line: string) => void,
): string[][] {
  let nTest = 0;
  const out = byClass.map((list, c) => {
    const k = list.length >= 2 ? Math.max(1, Math.round(list.length * testFraction)) : 0;
    nTest += k;
    const order = Rng.derive(seed, 'imagefolder-split', classNames[c]!).permutation(list.length);
    const isTest = new Uint8Array(list.length);
    for (let i = 0; i < k; i++) isTest[order[i]!] = 1;
    return list.filter((_, i) => (split === 'test') === (isTest[i] === 1));
  });
  const total = byClass.reduce((a, l) => a + l.length, 0);
  const id = `${path.resolve(root)}|${testFraction}|${seed}`;
  if (!statedSplits.has(id)) {
    statedSplits.add(id);
    log(
      `imagefolder:${root} has no train/ and test/ folders: split each class with seed ${seed}, ${Math.round(testFraction * 100)} % test: ${total - nTest} train, ${nTest} test images (option testFraction; --test-fraction on the command line).`,
    );
  }
  return out;
}
