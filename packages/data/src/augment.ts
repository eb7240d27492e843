import { SslError, type ImageBatch, type Rng } from '@ssl/core';
import { blankImage, resizeBilinear, type Image } from './image';

/**
 * A pure, seeded image transform: the same image and generator state give the same output,
 * and the input is never modified.
 *
 * @example
 * const invert: Augmentation = (img) => ({ ...img, data: img.data.map((v) => 1 - v) });
 */
export type Augmentation = (img: Image, rng: Rng) => Image;

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
const copy = (img: Image): Image => ({ ...img, data: img.data.slice() });

/**
 * Rotates by k·90° counter-clockwise, exactly (index remapping, no interpolation); an h×w
 * image becomes w×h for odd k. Any integer k works (taken mod 4); the rng is unused.
 *
 * @example
 * const upsideDown = rotate90(2)(img);
 */
export function rotate90(k: number): (img: Image, rng?: Rng) => Image {
  if (!Number.isInteger(k)) throw new SslError(`rotate90(k): k ${k} is not allowed; it must be a whole number of quarter turns, one of [0, 1, 2, 3].`);
  const turns = ((k % 4) + 4) % 4;
  return (img) => {
    const { height: h, width: w, channels: c, data } = img;
    if (turns === 0) return copy(img);
    const oh = turns === 2 ? h : w;
    const ow = turns === 2 ? w : h;
    const out = blankImage(oh, ow, c);
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++) {
        // Source pixel of output (y, x) for a counter-clockwise turn.
        const [sy, sx] = turns === 1 ? [x, w - 1 - y] : turns === 2 ? [h - 1 - y, w - 1 - x] : [h - 1 - x, y];
        for (let ch = 0; ch < c; ch++) out.data[(y * ow + x) * c + ch] = data[(sy * w + sx) * c + ch]!;
      }
    return out;
  };
}

/**
 * Rotates by a random multiple of 90° (0, 1, 2 or 3 counter-clockwise quarter turns).
 *
 * @example
 * const view = compose(randomRotate90(), horizontalFlip());
 */
export function randomRotate90(): Augmentation {
  return (img, rng) => rotate90(rng.int(4))(img);
}

/**
 * Crops a random region (area fraction in `scale`, aspect ratio in `ratio`) and resizes it
 * to `size` (default: the input size) with bilinear sampling, as in SimCLR.
 *
 * @example
 * const crop = randomResizedCrop({ scale: [0.2, 1] });
 */
export function randomResizedCrop(options: { scale?: [number, number]; ratio?: [number, number]; size?: [number, number] } = {}): Augmentation {
  const [smin, smax] = options.scale ?? [0.08, 1];
  const [rmin, rmax] = options.ratio ?? [3 / 4, 4 / 3];
  if (!(smin > 0 && smin <= smax && smax <= 1))
    throw new SslError(`randomResizedCrop: scale [${smin}, ${smax}] is not allowed; it must satisfy 0 < min ≤ max ≤ 1, e.g. [0.08, 1].`);
  if (!(rmin > 0 && rmin <= rmax))
    throw new SslError(`randomResizedCrop: ratio [${rmin}, ${rmax}] is not allowed; it must satisfy 0 < min ≤ max, e.g. [3/4, 4/3].`);
  return (img, rng) => {
    const [outH, outW] = options.size ?? [img.height, img.width];
    const area = img.height * img.width;
    for (let attempt = 0; attempt < 10; attempt++) {
      const target = area * rng.uniform(smin, smax);
      const logRatio = rng.uniform(Math.log(rmin), Math.log(rmax));
      const ratio = Math.exp(logRatio);
      const w = Math.round(Math.sqrt(target * ratio));
      const h = Math.round(Math.sqrt(target / ratio));
      if (w >= 1 && h >= 1 && w <= img.width && h <= img.height) {
        const y0 = rng.int(img.height - h + 1);
        const x0 = rng.int(img.width - w + 1);
        return resizeBilinear(img, y0, x0, h, w, outH, outW);
      }
    }
    // Fallback: the whole image (as torchvision does after failed attempts).
    return resizeBilinear(img, 0, 0, img.height, img.width, outH, outW);
  };
}

/**
 * Mirrors left-right with probability `p` (default 0.5).
 *
 * @example
 * const alwaysFlip = horizontalFlip({ p: 1 });
 */
export function horizontalFlip(options: { p?: number } = {}): Augmentation {
  const p = options.p ?? 0.5;
  return (img, rng) => {
    if (!rng.bernoulli(p)) return copy(img);
    const { height: h, width: w, channels: c, data } = img;
    const out = blankImage(h, w, c);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) out.data[(y * w + x) * c + ch] = data[(y * w + (w - 1 - x)) * c + ch]!;
    return out;
  };
}

/**
 * Adds independent Gaussian noise of standard deviation `std` (default 0.1) to every value,
 * clamped to [0, 1], with probability `p` (default 1).
 *
 * @example
 * const noisy = gaussianNoise({ std: 0.05 })(img, rng);
 */
export function gaussianNoise(options: { std?: number; p?: number } = {}): Augmentation {
  const std = options.std ?? 0.1;
  const p = options.p ?? 1;
  return (img, rng) => {
    if (!rng.bernoulli(p)) return copy(img);
    const out = copy(img);
    for (let i = 0; i < out.data.length; i++) out.data[i] = clamp01(out.data[i]! + rng.normal(0, std));
    return out;
  };
}

/**
 * Gaussian blur with σ drawn uniformly from `sigma` (default [0.1, 2]) with probability `p`
 * (default 0.5); a separable kernel of radius ⌈3σ⌉ with replicated edges.
 *
 * @example
 * const blur = gaussianBlur({ sigma: [0.1, 2], p: 0.5 });
 */
export function gaussianBlur(options: { sigma?: [number, number]; p?: number } = {}): Augmentation {
  const [lo, hi] = options.sigma ?? [0.1, 2];
  const p = options.p ?? 0.5;
  if (!(lo > 0 && lo <= hi)) throw new SslError(`gaussianBlur: sigma [${lo}, ${hi}] is not allowed; it must satisfy 0 < min ≤ max, e.g. [0.1, 2].`);
  return (img, rng) => {
    if (!rng.bernoulli(p)) return copy(img);
    const sigma = rng.uniform(lo, hi);
    const r = Math.max(1, Math.ceil(3 * sigma));
    const kernel = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
    const sum = kernel.reduce((a, b) => a + b, 0);
    const k = kernel.map((v) => v / sum);
    const { height: h, width: w, channels: c } = img;
    const pass = (src: Float32Array, horizontal: boolean) => {
      const out = new Float32Array(src.length);
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let ch = 0; ch < c; ch++) {
            let acc = 0;
            for (let t = -r; t <= r; t++) {
              // Edges are replicated.
              const yy = horizontal ? y : Math.min(h - 1, Math.max(0, y + t));
              const xx = horizontal ? Math.min(w - 1, Math.max(0, x + t)) : x;
              acc += k[t + r]! * src[(yy * w + xx) * c + ch]!;
            }
            out[(y * w + x) * c + ch] = acc;
          }
      return out;
    };
    return { ...img, data: pass(pass(img.data, true), false) };
  };
}

function luma(d: Float32Array, i: number): number {
  return 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
}

/**
 * Converts colour to grey (three equal channels, ITU-R 601 luma) with probability `p`
 * (default 0.2, as in SimCLR); one-channel images pass through unchanged.
 *
 * @example
 * const grey = grayscale({ p: 1 })(img, rng);
 */
export function grayscale(options: { p?: number } = {}): Augmentation {
  const p = options.p ?? 0.2;
  return (img, rng) => {
    if (img.channels !== 3 || !rng.bernoulli(p)) return copy(img);
    const out = copy(img);
    for (let i = 0; i < out.data.length; i += 3) {
      const g = luma(img.data, i);
      out.data[i] = out.data[i + 1] = out.data[i + 2] = g;
    }
    return out;
  };
}

/**
 * Colour jitter as in SimCLR: brightness, contrast and saturation factors drawn from
 * [1 − s, 1 + s] and a hue shift from [−hue, hue] turns (a rotation of the YIQ chroma plane),
 * applied in random order with probability `p`. One-channel images get brightness and contrast only.
 *
 * @example
 * const jitter = colorJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1, p: 0.8 });
 */
export function colorJitter(options: { brightness?: number; contrast?: number; saturation?: number; hue?: number; p?: number } = {}): Augmentation {
  const { brightness = 0.4, contrast = 0.4, saturation = 0.4, hue = 0.1, p = 0.8 } = options;
  return (img, rng) => {
    if (!rng.bernoulli(p)) return copy(img);
    const out = copy(img);
    const d = out.data;
    const ops: Array<() => void> = [
      () => {
        const f = rng.uniform(1 - brightness, 1 + brightness);
        for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i]! * f);
      },
      () => {
        const f = rng.uniform(1 - contrast, 1 + contrast);
        let mean = 0;
        for (let i = 0; i < d.length; i += img.channels) mean += img.channels === 3 ? luma(d, i) : d[i]!;
        mean /= d.length / img.channels;
        for (let i = 0; i < d.length; i++) d[i] = clamp01((d[i]! - mean) * f + mean);
      },
    ];
    if (img.channels === 3) {
      ops.push(
        () => {
          const f = rng.uniform(1 - saturation, 1 + saturation);
          for (let i = 0; i < d.length; i += 3) {
            const g = luma(d, i);
            for (let c = 0; c < 3; c++) d[i + c] = clamp01((d[i + c]! - g) * f + g);
          }
        },
        () => {
          // Rotate chroma in YIQ space by the hue angle.
          const a = rng.uniform(-hue, hue) * 2 * Math.PI;
          const cos = Math.cos(a);
          const sin = Math.sin(a);
          for (let i = 0; i < d.length; i += 3) {
            const r = d[i]!;
            const g = d[i + 1]!;
            const b = d[i + 2]!;
            const yv = 0.299 * r + 0.587 * g + 0.114 * b;
            const iv = 0.596 * r - 0.274 * g - 0.322 * b;
            const qv = 0.211 * r - 0.523 * g + 0.312 * b;
            const i2 = iv * cos - qv * sin;
            const q2 = iv * sin + qv * cos;
            d[i] = clamp01(yv + 0.956 * i2 + 0.621 * q2);
            d[i + 1] = clamp01(yv - 0.272 * i2 - 0.647 * q2);
            d[i + 2] = clamp01(yv - 1.106 * i2 + 1.703 * q2);
          }
        },
      );
    }
    for (const op of rng.shuffle(ops)) op();
    return out;
  };
}

/**
 * Zeroes a `size`×`size` square (default 8) centred on a uniformly drawn pixel, with
 * probability `p` (default 1); as in DeVries & Taylor, the square is clipped at the borders.
 *
 * @example
 * const occluded = cutout({ size: 8 })(img, rng);
 */
export function cutout(options: { size?: number; p?: number } = {}): Augmentation {
  const size = options.size ?? 8;
  const p = options.p ?? 1;
  if (!Number.isInteger(size) || size < 1) throw new SslError(`cutout: size ${size} is not allowed; it must be a whole number of pixels ≥ 1, e.g. 8.`);
  return (img, rng) => {
    const out = copy(img);
    if (!rng.bernoulli(p)) return out;
    const cy = rng.int(img.height);
    const cx = rng.int(img.width);
    const y0 = Math.max(0, cy - Math.floor(size / 2));
    const x0 = Math.max(0, cx - Math.floor(size / 2));
    for (let y = y0; y < Math.min(img.height, y0 + size); y++)
      for (let x = x0; x < Math.min(img.width, x0 + size); x++) for (let c = 0; c < img.channels; c++) out.data[(y * img.width + x) * img.channels + c] = 0;
    return out;
  };
}

/**
 * Chains augmentations into one pipeline (a "view").
 *
 * @example
 * const view = compose(randomResizedCrop({ scale: [0.2, 1] }), horizontalFlip(), gaussianNoise({ std: 0.05 }));
 */
export function compose(...augs: Augmentation[]): Augmentation {
  return (img, rng) => augs.reduce((acc, aug) => aug(acc, rng), img);
}

/**
 * Applies an augmentation to every image of a batch, each with its own child stream of `rng`,
 * so image i's result does not depend on the others. `rng` advances once per call, so two
 * calls with the same generator give two different views. Labels and indices are kept.
 *
 * @example
 * const view1 = augmentBatch(raw, simclrView, rng.fork('view1'));
 */
export function augmentBatch(batch: ImageBatch, aug: Augmentation, rng: Rng): ImageBatch {
  const per = batch.height * batch.width * batch.channels;
  // Without this step fork(i) would not move `rng`, and view 2 would silently equal view 1.
  const base = rng.fork(rng.seed());
  const outs: Image[] = [];
  for (let i = 0; i < batch.n; i++) {
    const img = { data: batch.images.subarray(i * per, (i + 1) * per), height: batch.height, width: batch.width, channels: batch.channels };
    outs.push(aug(img, base.fork(i)));
  }
  const first = outs[0] ?? { height: batch.height, width: batch.width, channels: batch.channels };
  const outPer = first.height * first.width * first.channels;
  const images = new Float32Array(batch.n * outPer);
  outs.forEach((o, i) => {
    if (o.height !== first.height || o.width !== first.width)
      throw new SslError(
        `augmentBatch: augmentation produced ${o.height}×${o.width} for image ${i} but ${first.height}×${first.width} for image 0; give crops a fixed size.`,
      );
    images.set(o.data, i * outPer);
  });
  return { ...batch, images, height: first.height, width: first.width, channels: first.channels };
}
