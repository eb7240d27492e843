import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { Rng } from '../rng';

function randomArray(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}

async function on<T>(backend: string, f: () => T): Promise<T> {
  await tf.setBackend(backend);
  return f();
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

describe('wasm training kernels match the cpu backend', () => {
  // 3 channels take the scalar loop of simd/kernels.c, 8 and 11 its 4-wide SIMD path (11: and the tail).
  it.each([
    [8, 'valid', 3],
    [9, 'valid', 3],
    [8, 'same', 3],
    [8, 'valid', 8],
    [9, 'valid', 11],
  ] as const)('MaxPoolGrad 2×2/2 H=%i pad=%s, %i channels, with ties after a ReLU', async (h, pad, c) => {
    // Rounded, ReLU'd inputs: windows of equal maxima (zeros) test which position gets dY.
    const x = randomArray(2 * h * h * c, 7).map((v) => Math.max(0, Math.round(v * 2) / 2));
    const grad = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const xt = tf.tensor4d(x, [2, h, h, c]);
          const y0 = tf.maxPool(xt, 2, 2, pad);
          const dy = tf.tensor(randomArray(y0.size, 8), y0.shape);
          return tf
            .grad((a) =>
              tf
                .maxPool(a as tf.Tensor4D, 2, 2, pad)
                .mul(dy)
                .sum(),
            )(xt)
            .dataSync()
            .slice();
        }),
      );
    expect(Array.from(await grad('wasm'))).toEqual(Array.from(await grad('cpu')));
  });

  const cases: Array<[number, number, 'same' | 'valid', number]> = [
    [12, 1, 'same', 3],
    [12, 2, 'same', 3],
    [7, 2, 'valid', 3],
    [9, 2, 'same', 5],
    [6, 1, 'valid', 1],
  ];
  // 3 → 4 channels take the convolution form; the 1- and 3-channel cases with wide outputs
  // (k·k·Cin ≤ 32 and ≤ Cout/2) take im2col.
  // The SIMD kernel (output channels a multiple of 8) cuts the batch into up to 16 blocks of
  // images and the filter into groups of 4 input channels: 37 images in 16 uneven blocks, 6 input
  // channels (one group of 4 and a remainder), and one image (a single block).
  const filterCases: Array<[number, number, 'same' | 'valid', number, number, number, number]> = [
    ...cases.map(([h, s, p, k]) => [h, s, p, k, 3, 4, 2] as [number, number, 'same' | 'valid', number, number, number, number]),
    [12, 1, 'same', 3, 1, 32, 2],
    [12, 2, 'same', 3, 1, 32, 2],
    [7, 2, 'valid', 3, 3, 64, 2],
    [9, 2, 'same', 5, 1, 64, 2],
    [6, 1, 'same', 3, 6, 16, 37],
    [5, 2, 'valid', 3, 8, 24, 1],
  ];
  it.each(filterCases)('Conv2DBackpropFilter H=%i stride=%i pad=%s k=%i, %i → %i channels, %i images', async (h, stride, pad, k, ci, co, n) => {
    const x = randomArray(n * h * h * ci, 1);
    const w = randomArray(k * k * ci * co, 2);
    const grad = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const xt = tf.tensor4d(x, [n, h, h, ci]);
          const y0 = tf.conv2d(xt, tf.tensor4d(w, [k, k, ci, co]), stride, pad);
          const dy = tf.tensor(randomArray(y0.size, 3), y0.shape);
          const g = tf.grad((wt) =>
            tf
              .conv2d(xt, wt as tf.Tensor4D, stride, pad)
              .mul(dy)
              .sum(),
          )(tf.tensor4d(w, [k, k, ci, co]));
          return g.dataSync().slice();
        }),
      );
    const cpu = await grad('cpu');
    const wasm = await grad('wasm');
    let maxDiff = 0;
    cpu.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - wasm[i]!))));
    expect(wasm.length).toBe(cpu.length);
    expect(maxDiff).toBeLessThan(1e-3);
  });

  it.each(cases)('Conv2DBackpropInput H=%i stride=%i pad=%s k=%i', async (h, stride, pad, k) => {
    const x = randomArray(2 * h * h * 3, 4);
    const w = randomArray(k * k * 3 * 4, 5);
    const grad = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const wt = tf.tensor4d(w, [k, k, 3, 4]);
          const y0 = tf.conv2d(tf.tensor4d(x, [2, h, h, 3]), wt, stride, pad);
          const dy = tf.tensor(randomArray(y0.size, 6), y0.shape);
          const g = tf.grad((xt) =>
            tf
              .conv2d(xt as tf.Tensor4D, wt, stride, pad)
              .mul(dy)
              .sum(),
          )(tf.tensor4d(x, [2, h, h, 3]));
          return g.dataSync().slice();
        }),
      );
    const cpu = await grad('cpu');
    const wasm = await grad('wasm');
    expect(wasm.length).toBe(cpu.length);
    let maxDiff = 0;
    cpu.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - wasm[i]!))));
    expect(maxDiff).toBeLessThan(1e-3);
  });

  it('batch-norm gradients (broadcast instead of tile) match the same function written with plain ops', async () => {
    const x = randomArray(4 * 5 * 5 * 3, 7);
    const dyv = randomArray(4 * 5 * 5 * 3, 8);
    const grads = (backend: string, fused: boolean) =>
      on(backend, () =>
        tf.tidy(() => {
          const xt = tf.tensor4d(x, [4, 5, 5, 3]);
          const dy = tf.tensor4d(dyv, [4, 5, 5, 3]);
          const gamma = tf.tensor1d([1.5, -0.5, 2]);
          const beta = tf.tensor1d([0.1, 0.2, 0.3]);
          const f = (a: tf.Tensor, gm: tf.Tensor, bt: tf.Tensor) => {
            const { mean, variance } = tf.moments(a, [0, 1, 2]);
            const y = fused
              ? tf.batchNorm(a, mean, variance, bt, gm, 1e-3)
              : a
                  .sub(mean)
                  .mul(tf.rsqrt(variance.add(1e-3)))
                  .mul(gm)
                  .add(bt);
            return y.mul(dy).sum();
          };
          return tf
            .grads(f)([xt, gamma, beta])
            .flatMap((g) => [...g.dataSync()]);
        }),
      );
    const cpu = await grads('cpu', false);
    const wasm = await grads('wasm', true);
    expect(wasm.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((v, i) => expect(Math.abs(v - wasm[i]!)).toBeLessThan(1e-3));
  });

  it.each([8, 5])('per-channel Add, Sub and Multiply (%i channels, both operand orders) are exactly the cpu backend', async (c) => {
    const x = randomArray(3 * 4 * 5 * c, 21);
    const v = randomArray(c, 22);
    const ops = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const t = tf.tensor4d(x, [3, 4, 5, c]);
          const s = tf.tensor1d(v);
          const s4 = tf.reshape(s, [1, 1, 1, c]);
          return [t.add(s), s.add(t), t.sub(s), s.sub(t), t.mul(s), s4.mul(t), s4.sub(t)].flatMap((r) => [...r.shape, ...r.dataSync()]);
        }),
      );
    expect(await ops('wasm')).toEqual(await ops('cpu'));
  });

  it.each([
    [700, 40],
    [600, 37],
  ])('Sum and Mean of %i rows × %i columns (several blocks, SIMD groups and a tail) match the cpu backend', async (rows, c) => {
    const x = randomArray(rows * c, 23);
    const reduce = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const t = tf.tensor3d(x, [rows / 4, 4, c]);
          return [t.sum([0, 1]), t.mean([0, 1])].flatMap((r) => [...r.dataSync()]);
        }),
      );
    const cpu = await reduce('cpu');
    const wasm = await reduce('wasm');
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((v, i) => expect(Math.abs(v - wasm[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
  });

  it('same-shape Add, Sub, Multiply and Step (with NaN and alpha) are exactly the cpu backend', async () => {
    const n = 2 * 9 * 9 * 131; // above the size shared out, not a multiple of 4
    const x = randomArray(n, 31);
    const y = randomArray(n, 32);
    x[5] = NaN;
    const ops = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const a = tf.tensor4d(x, [2, 9, 9, 131]);
          const b = tf.tensor4d(y, [2, 9, 9, 131]);
          return [a.add(b), a.sub(b), a.mul(b), tf.step(a), tf.step(a, 0.25)].flatMap((r) => [...r.dataSync()]);
        }),
      );
    expect(await ops('wasm')).toEqual(await ops('cpu'));
  });

  it('Exp (our polynomial) is within 2 ulp of the cpu backend, with overflow, underflow, ±inf and NaN', async () => {
    const n = 20_003; // above the size shared out; the last 3 values take the tail path
    const r = new Rng(33);
    const x = Float32Array.from({ length: n }, () => r.uniform(-95, 95));
    const special = [NaN, Infinity, -Infinity, 0, -0, 1, 88.72, 88.73, 89, -87.3, -87.4, -100, 1e-8, -1e-8];
    special.forEach((v, i) => (x[i] = v));
    x.set([NaN, 88.7, -1.5], n - 3);
    const exp = (backend: string) => on(backend, () => tf.tidy(() => tf.exp(tf.tensor1d(x)).dataSync().slice()));
    const wasm = await exp('wasm');
    const cpu = await exp('cpu');
    const ulp = (v: number) => 2 ** (Math.floor(Math.log2(Math.abs(v))) - 23);
    wasm.forEach((v, i) => {
      const want = cpu[i]!;
      if (Number.isNaN(want) || !Number.isFinite(want)) expect(v, `exp(${x[i]})`).toBe(want);
      // Below the smallest normal float we give 0 where the cpu backend keeps a denormal.
      else if (Math.abs(want) < 2 ** -126) expect(v, `exp(${x[i]})`).toBeLessThan(2 ** -126);
      else expect(Math.abs(v - want), `exp(${x[i]}) = ${want}, got ${v}`).toBeLessThanOrEqual(2 * ulp(want));
    });
  });

  it('Sum and Mean over middle axes (global average pooling), Tile broadcasts, and the gradients of Sum and Mean match the cpu backend', async () => {
    const x = randomArray(3 * 5 * 6 * 10, 33);
    const run = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const t = tf.tensor4d(x, [3, 5, 6, 10]);
          const small = tf.tensor4d(x.slice(0, 30), [3, 1, 1, 10]);
          const f = (a: tf.Tensor) => tf.add(tf.mean(a, [1, 2]).square().sum(), tf.sum(a, [0, 1, 2], true).square().sum()).add(tf.mean(a, 0).sum());
          return [
            tf.mean(t, [1, 2]),
            tf.sum(t, [1, 2], true),
            tf.sum(t, [1]),
            tf.tile(small, [1, 5, 6, 1]),
            tf.tile(tf.tensor1d([1, 2, 3]), [4]),
            tf.grad(f)(t),
          ].flatMap((r) => [...r.shape, ...r.dataSync()]);
        }),
      );
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((v, i) => expect(Math.abs(v - wasm[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(v))));
  });

  it('Sum and Mean over leading axes (as a matrix product) match the cpu backend', async () => {
    const x = randomArray(3 * 4 * 5 * 6, 9);
    const reduce = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const t = tf.tensor4d(x, [3, 4, 5, 6]);
          return [t.sum([0, 1, 2]), t.mean([0, 1, 2], true), t.sum(0), t.mean([1, 2]), t.sum([2, 0]), t.sum()].flatMap((r) => [...r.shape, ...r.dataSync()]);
        }),
      );
    const cpu = await reduce('cpu');
    const wasm = await reduce('wasm');
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((v, i) => expect(Math.abs(v - wasm[i]!)).toBeLessThan(1e-4));
  });

  it('matrix products with transposed operands (copied contiguous first) match the cpu backend and do not leak', async () => {
    const a = randomArray(2 * 6 * 5, 11);
    const b = randomArray(2 * 6 * 7, 12);
    const bias = randomArray(7, 13);
    const products = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const a2 = tf.tensor2d(a.subarray(0, 30), [6, 5]);
          const b2 = tf.tensor2d(b.subarray(0, 42), [6, 7]);
          const a3 = tf.tensor3d(a, [2, 6, 5]);
          const b3 = tf.tensor3d(b, [2, 6, 7]);
          const out = [
            tf.matMul(a2, b2, true, false), // [5, 7]: xᵀ·dy, a Dense layer's weight gradient
            tf.matMul(b2, a2.transpose(), true, true), // [7, 6]: both transposed
            tf.matMul(a2.transpose(), b2.transpose(), false, true), // [5, 7]: dy·Wᵀ, its input gradient
            tf.matMul(a3, b3, true, false), // batched
            tf.matMul(a2, a2.sum(1, true), true, false), // matrix-vector: the native path
            tf.fused.matMul({ a: a2, b: b2, transposeA: true, bias: tf.tensor1d(bias), activation: 'relu' }),
          ];
          return out.flatMap((r) => [...r.shape, ...r.dataSync()]);
        }),
      );
    const cpu = await products('cpu');
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const wasm = await products('wasm');
    expect(tf.memory().numTensors).toBe(before);
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((v, i) => expect(Math.abs(v - wasm[i]!)).toBeLessThan(1e-4));
  });

  it('batched products above the per-matrix threshold (one native product per matrix) match the cpu backend and free every buffer', async () => {
    // [2, 3] matrices of 24×20 · 20×24 (11,520 multiply-adds each, above the 8,192 threshold), as attention's
    // scores (q·kᵀ), its output (p·v) and their gradients ask for them; and one below the threshold.
    const q = randomArray(2 * 3 * 24 * 20, 21);
    const k = randomArray(2 * 3 * 24 * 20, 22);
    const small = randomArray(2 * 3 * 8 * 8, 23);
    const products = (backend: string) =>
      on(backend, () =>
        tf.tidy(() => {
          const q4 = tf.tensor4d(q, [2, 3, 24, 20]);
          const k4 = tf.tensor4d(k, [2, 3, 24, 20]);
          const s4 = tf.tensor4d(small, [2, 3, 8, 8]);
          const out = [
            tf.matMul(q4, k4, false, true), // [2, 3, 24, 24]: scores
            tf.matMul(q4, k4.reshape([2, 3, 20, 24])), // plain
            tf.matMul(q4, k4, true, false), // [2, 3, 20, 20]: a weight-style gradient
            tf.matMul(s4, s4, false, true), // 512 multiply-adds: the native loop
          ];
          return out.flatMap((r) => [...r.shape, ...r.dataSync()]);
        }),
      );
    const cpu = await products('cpu');
    await tf.setBackend('wasm');
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const [tensors, buffers] = [tf.memory().numTensors, backend.numDataIds()];
    const wasm = await products('wasm');
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(buffers);
    expect(wasm.length).toBe(cpu.length);
    cpu.forEach((v, i) => expect(Math.abs(v - wasm[i]!)).toBeLessThan(1e-4));
  });

  it('UnsortedSegmentSum (gather gradient) matches and does not leak', async () => {
    const table = randomArray(10 * 4, 4);
    const ids = [1, 3, 3, 9, 0, 1];
    const grad = (backend: string) =>
      on(backend, () =>
        tf.tidy(() =>
          tf
            .grad((t) => tf.gather(t, tf.tensor1d(ids, 'int32')).square().sum())(tf.tensor2d(table, [10, 4]))
            .dataSync()
            .slice(),
        ),
      );
    const cpu = await grad('cpu');
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const wasm = await grad('wasm');
    expect(tf.memory().numTensors).toBe(before);
    cpu.forEach((v, i) => expect(Math.abs(v - wasm[i]!)).toBeLessThan(1e-5));
  });
});
