import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { SslError } from '@ssl/core';
import { ImageDataset } from './dataset';
import { resizeBilinear, type Image } from './image';
import type { Split } from './mnist';

const IMAGE_EXT = /\.(jpe?g|png)$/i;

/**
 * Decodes a JPEG or PNG (pure JavaScript) into float32 HWC in [0, 1], RGB (alpha dropped).
 *
 * @example
 * const img = decodeImage(readFileSync('cat.jpg'), 'cat.jpg');
 */
export function decodeImage(buffer: Uint8Array, name: string): Image {
  let rgba: Uint8Array;
  let width: number;
  let height: number;
  try {
    if (buffer[0] === 0x89 && buffer[1] === 0x50) {
      const png = PNG.sync.read(Buffer.from(buffer));
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
  const data = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height; i++, j += 4) {
    data[i * 3] = rgba[j]! / 255;
    data[i * 3 + 1] = rgba[j + 1]! / 255;
    data[i * 3 + 2] = rgba[j + 2]! / 255;
  }
  return { data, height, width, channels: 3 };
}

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  limit?: number;
  /** Resize every image to [height, width] (bilinear). */
  size?: [number, number];
  /** 1 converts to grey (ITU-R 601 luma); 3 keeps RGB (default). */
  channels?: 1 | 3;
  /** With `root/train` and `root/test`, which one to read. */
  split?: Split;
}

function listImages(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => IMAGE_EXT.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/**
 * Loads images from a folder: labelled `root/<class>/*.jpg|png` (classes sorted by name), or
 * `root/<split>/<class>/…` when `train/` and `test/` exist, or an unlabelled flat folder.
 *
 * @example
 * const ds = loadImageFolder('/data/pets', { size: [32, 32], limit: 1000 });
 */
export function loadImageFolder(root: string, options: ImageFolderOptions = {}): ImageDataset {
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new SslError(`Image folder "${root}" does not exist. Pass imagefolder:PATH with a folder of class sub-folders (root/<class>/*.jpg|png).`);
  }
  let base = root;
  if (existsSync(path.join(root, 'train')) && existsSync(path.join(root, 'test'))) base = path.join(root, options.split ?? 'train');
  const classDirs = readdirSync(base)
    .filter((d) => statSync(path.join(base, d)).isDirectory())
    .sort();
  let files: Array<{ file: string; label: number }>;
  let classNames: string[] | undefined;
  if (classDirs.length > 0) {
    classNames = classDirs;
    files = classDirs.flatMap((d, label) => listImages(path.join(base, d)).map((file) => ({ file, label })));
  } else {
    files = listImages(base).map((file) => ({ file, label: -1 }));
  }
  if (files.length === 0) throw new SslError(`Image folder "${base}" holds no .jpg, .jpeg or .png files. Lay it out as root/<class>/*.jpg.`);
  // With a limit, take images round-robin across classes so every class is represented.
  if (options.limit !== undefined && options.limit < files.length && classNames) {
    const byClass = classNames.map((_, c) => files.filter((f) => f.label === c));
    const picked: typeof files = [];
    for (let i = 0; picked.length < options.limit; i++) for (const list of byClass) if (i < list.length && picked.length < options.limit) picked.push(list[i]!);
    files = picked;
  } else if (options.limit !== undefined) files = files.slice(0, options.limit);

  const channels = options.channels ?? 3;
  let size = options.size;
  let pixels: Uint8Array | undefined;
  const labels = classNames ? new Int32Array(files.length) : undefined;
  files.forEach(({ file, label }, i) => {
    let img = decodeImage(readFileSync(file), file);
    if (!size) size = [img.height, img.width];
    if (img.height !== size[0] || img.width !== size[1]) {
      if (!options.size) throw new SslError(`Image "${file}" is ${img.height}×${img.width} but the first image is ${size[0]}×${size[1]}. Pass a size to resize them all.`);
      img = resizeBilinear(img, 0, 0, img.height, img.width, size[0], size[1]);
    }
    const per = size[0] * size[1] * channels;
    pixels ??= new Uint8Array(files.length * per);
    const off = i * per;
    for (let p = 0; p < size[0] * size[1]; p++) {
      if (channels === 3) for (let c = 0; c < 3; c++) pixels[off + p * 3 + c] = Math.round(img.data[p * 3 + c]! * 255);
      else pixels[off + p] = Math.round((0.299 * img.data[p * 3]! + 0.587 * img.data[p * 3 + 1]! + 0.114 * img.data[p * 3 + 2]!) * 255);
    }
    if (labels) labels[i] = label;
  });
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
