import { Rng } from '@ssl/core';
import { describe, expect, it } from 'vitest';
import { labToRgb, rgbToLab } from '../index';

describe('sRGB ↔ Lab (D65)', () => {
  it('maps reference colours to their published Lab values', () => {
    const lab = rgbToLab(Float32Array.of(1, 1, 1, 0, 0, 0, 1, 0, 0, 0.5, 0.5, 0.5));
    const want = [100, 0, 0, 0, 0, 0, 53.2408, 80.0925, 67.2032, 53.3889, 0, 0];
    want.forEach((v, i) => expect(lab[i]).toBeCloseTo(v, 2));
  });

  it('round-trips random NHWC batches and rejects data without 3 channels', () => {
    const rng = new Rng(4);
    const rgb = Float32Array.from({ length: 2 * 4 * 4 * 3 }, () => rng.float());
    const back = labToRgb(rgbToLab(rgb));
    rgb.forEach((v, i) => expect(back[i]).toBeCloseTo(v, 4));
    expect(() => rgbToLab(new Float32Array(4))).toThrow(/4 values is not a multiple of 3/);
  });
});
