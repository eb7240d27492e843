/**
 * One image: float32 HWC pixels in [0, 1] (what augmentations take and return).
 *
 * @example
 * const img: Image = { data: new Float32Array(28 * 28), height: 28, width: 28, channels: 1 };
 */
export interface Image {
  data: Float32Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * A black (all-zero) image of a shape.
 *
 * @example
 * const canvas = blankImage(64, 64, 1);
 */
export function blankImage(height: number, width: number, channels: number): Image {
  return { data: new Float32Array(height * width * channels), height, width, channels };
}

/**
 * Bilinear resampling (pixel centres aligned, edges clamped) of the region [y0, y0+h) × [x0, x0+w) of `img` to `outH` × `outW`.
 *
 * @example
 * const small = resizeBilinear(img, 0, 0, img.height, img.width, 16, 16);
 */
export function resizeBilinear(img: Image, y0: number, x0: number, h: number, w: number, outH: number, outW: number): Image {
  const out = blankImage(outH, outW, img.channels);
  const { data, height, width, channels: c } = img;
  const sy = h / outH;
  const sx = w / outW;
  for (let oy = 0; oy < outH; oy++) {
    // Pixel centres map to pixel centres.
    const fy = Math.min(height - 1, Math.max(0, y0 + (oy + 0.5) * sy - 0.5));
    const yA = Math.floor(fy);
    const yB = Math.min(height - 1, yA + 1);
    const wy = fy - yA;
    for (let ox = 0; ox < outW; ox++) {
      const fx = Math.min(width - 1, Math.max(0, x0 + (ox + 0.5) * sx - 0.5));
      const xA = Math.floor(fx);
      const xB = Math.min(width - 1, xA + 1);
      const wx = fx - xA;
      for (let ch = 0; ch < c; ch++) {
        const a = data[(yA * width + xA) * c + ch]!;
        const b = data[(yA * width + xB) * c + ch]!;
        const d = data[(yB * width + xA) * c + ch]!;
        const e = data[(yB * width + xB) * c + ch]!;
        out.data[(oy * outW + ox) * c + ch] = (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
      }
    }
  }
  return out;
}
