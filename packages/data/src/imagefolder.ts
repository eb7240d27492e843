import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { SslError } from '@ssl/core';
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

/** Decodes a JPEG or PNG to RGBA bytes. */
function decodeRgba(buffer: Uint8Array, name: string): { rgba: Uint8Array; width: number; height: number } {
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (buffer[0] === 0x89 && buffer[1] === 0x50) {
      const png = PNG.sync.read(Buffer.isBuffer(buffer) ? buffer : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength));
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
  /** With `root/train` and `root/test`, which one to read (default `train`). */
  split?: Split;
  /**
   * Cache of the decoded bytes, keyed by the file list (names, sizes, modification times), size and
   * channels: a folder, `true` for `$SSL_CACHE_DIR` or `<tmpdir>/ssl-imagefolder-cache`, or `false`.
   * Default: on for loads of 1000 images or more (CIFAR-10's 60k JPEGs: decoded once, then read back).
   */
  cache?: boolean | string;
}

const CACHE_VERSION = 1;

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
    throw new SslError(`Image folder "${root}": size [${options.size.join(', ')}] is not allowed; it must be [height, width] with whole numbers ≥ 1, e.g. [32, 32].`);
  }
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new SslError(`Image folder "${root}" does not exist. Pass imagefolder:PATH with a folder of class sub-folders (root/<class>/*.jpg|png) or of images.`);
  }
  const split = options.split ?? 'train';
  let base = root;
  if (existsSync(path.join(root, 'train')) && existsSync(path.join(root, 'test'))) base = path.join(root, split);
  else if (options.split === 'test') {
    // Reading the training images as a "test" split would silently leak them into evaluation.
    throw new SslError(`Image folder "${root}" has no train/ and test/ sub-folders, so split "test" does not exist. Lay it out as root/{train,test}/<class>/*.jpg, or load it whole and call .split(fraction, rng).`);
  }
  const classDirs = readdirSync(base)
    .filter((d) => visible(d) && statSync(path.join(base, d)).isDirectory())
    .sort();
  let files: Array<{ file: string; label: number }>;
  let classNames: string[] | undefined;
  if (classDirs.length > 0) {
    classNames = classDirs;
    const byClass = classDirs.map((d) => listImages(path.join(base, d)));
    files = [];
    const longest = Math.max(...byClass.map((l) => l.length));
    for (let i = 0; i < longest; i++) byClass.forEach((list, label) => i < list.length && files.push({ file: list[i]!, label }));
  } else {
    files = listImages(base).map((file) => ({ file, label: -1 }));
  }
  if (files.length === 0) throw new SslError(`Image folder "${base}" holds no .jpg, .jpeg or .png files. Lay it out as root/<class>/*.jpg (or a flat folder of images).`);
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
  const cached = key && existsSync(`${key}.json`) && existsSync(`${key}.bin`) ? (JSON.parse(readFileSync(`${key}.json`, 'utf8')) as { height: number; width: number }) : undefined;
  let size = cached ? ([cached.height, cached.width] as [number, number]) : options.size;
  let pixels: Uint8Array | undefined = cached ? new Uint8Array(readFileSync(`${key}.bin`)) : undefined;
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
        if (!options.size) throw new SslError(`Image "${file}" is ${img.height}×${img.width} but the first image is ${size[0]}×${size[1]}. Pass a size (e.g. size: [32, 32]) to resize them all.`);
        img = resizeBilinear(img, 0, 0, img.height, img.width, size[0], size[1]);
      }
      for (let p = 0; p < size[0] * size[1]; p++) {
        if (channels === 3) for (let c = 0; c < 3; c++) pixels[off + p * 3 + c] = Math.round(img.data[p * 3 + c]! * 255);
        else pixels[off + p] = Math.round((0.299 * img.data[p * 3]! + 0.587 * img.data[p * 3 + 1]! + 0.114 * img.data[p * 3 + 2]!) * 255);
      }
    });
    if (key) writeCache(key, pixels!, size!);
  }
  if (pixels!.length !== files.length * size![0] * size![1] * channels) throw new SslError(`Image cache "${key}.bin" is damaged (${pixels!.length} bytes). Delete it and load again.`);
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

/** Writes the decoded bytes atomically (temp file + rename), so concurrent runs never read half a file; failures only cost the cache. */
function writeCache(key: string, pixels: Uint8Array, size: [number, number]): void {
  try {
    mkdirSync(path.dirname(key), { recursive: true });
    const tmp = `${key}.${process.pid}.tmp`;
    writeFileSync(tmp, pixels);
    renameSync(tmp, `${key}.bin`);
    writeFileSync(`${tmp}j`, JSON.stringify({ height: size[0], width: size[1] }));
    renameSync(`${tmp}j`, `${key}.json`);
  } catch {
    // A read-only or full disk: the load itself succeeded.
  }
}
