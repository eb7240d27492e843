import { SslError } from '@ssl/core';

// sRGB (D65) ↔ CIE XYZ matrices (IEC 61966-2-1) and the D65 white point.
const RGB2XYZ = [0.4124564, 0.3575761, 0.1804375, 0.2126729, 0.7151522, 0.072175, 0.0193339, 0.119192, 0.9503041] as const;
const XYZ2RGB = [3.2404542, -1.5371385, -0.4985314, -0.969266, 1.8760108, 0.041556, 0.0556434, -0.2040259, 1.0572252] as const;
const WHITE = [0.95047, 1, 1.08883] as const;
const DELTA = 6 / 29;

const toLinear = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
const toGamma = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * Math.sign(c) * Math.abs(c) ** (1 / 2.4) - 0.055);
const f = (t: number) => (t > DELTA ** 3 ? Math.cbrt(t) : t / (3 * DELTA * DELTA) + 4 / 29);
const fInv = (t: number) => (t > DELTA ? t ** 3 : 3 * DELTA * DELTA * (t - 4 / 29));

function checkPixels(name: string, data: Float32Array): void {
  if (data.length % 3 !== 0) throw new SslError(`${name}: ${data.length} values is not a multiple of 3. Pass NHWC data with 3 channels.`);
}

/**
 * sRGB → CIE L*a*b* (D65), pixel by pixel, for NHWC data with 3 channels: input in [0, 1],
 * output L in [0, 100], a and b roughly in [−128, 127].
 *
 * @example
 * rgbToLab(Float32Array.of(1, 1, 1)); // ≈ [100, 0, 0]
 */
export function rgbToLab(rgb: Float32Array): Float32Array {
  checkPixels('rgbToLab', rgb);
  const out = new Float32Array(rgb.length);
  const M = RGB2XYZ;
  for (let p = 0; p < rgb.length; p += 3) {
    const r = toLinear(rgb[p]!);
    const g = toLinear(rgb[p + 1]!);
    const b = toLinear(rgb[p + 2]!);
    const fx = f((M[0] * r + M[1] * g + M[2] * b) / WHITE[0]);
    const fy = f((M[3] * r + M[4] * g + M[5] * b) / WHITE[1]);
    const fz = f((M[6] * r + M[7] * g + M[8] * b) / WHITE[2]);
    out[p] = 116 * fy - 16;
    out[p + 1] = 500 * (fx - fy);
    out[p + 2] = 200 * (fy - fz);
  }
  return out;
}

/**
 * CIE L*a*b* (D65) → sRGB in [0, 1] (out-of-gamut colours are clipped), inverse of {@link rgbToLab}.
 *
 * @example
 * labToRgb(rgbToLab(pixels)); // ≈ pixels
 */
export function labToRgb(lab: Float32Array): Float32Array {
  checkPixels('labToRgb', lab);
  const out = new Float32Array(lab.length);
  const M = XYZ2RGB;
  for (let p = 0; p < lab.length; p += 3) {
    const fy = (lab[p]! + 16) / 116;
    const x = WHITE[0] * fInv(fy + lab[p + 1]! / 500);
    const y = WHITE[1] * fInv(fy);
    const z = WHITE[2] * fInv(fy - lab[p + 2]! / 200);
    for (let c = 0; c < 3; c++) {
      const v = toGamma(M[3 * c]! * x + M[3 * c + 1]! * y + M[3 * c + 2]! * z);
      out[p + c] = Math.min(1, Math.max(0, v));
    }
  }
  return out;
}
