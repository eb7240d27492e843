import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend';
import { SslError } from '../errors';
import { WASM_HEAP_MAX_BYTES, type WasmModule, installWasmHeapGuard, resetWasmHeapPeak, wasmHeapStats, withMemoryGuard, wrapAllocator } from '../memory';
import { Rng } from '../rng';

type Grads = (f: () => tf.Tensor, xs: tf.Tensor[]) => { value: tf.Tensor; grads: tf.Tensor[] };
// tfjs's own backprop, kept on the engine's prototype; initBackend installs ours on the instance.
const tfjsGradients: Grads = (f, xs) => (Object.getPrototypeOf(tf.engine()) as { gradients: Grads }).gradients.call(tf.engine(), f, xs);
const ourGradients: Grads = (f, xs) => (tf.engine() as unknown as { gradients: Grads }).gradients(f, xs);

function randomTensor(shape: number[], seed: number): tf.Tensor {
  const r = new Rng(seed);
  return tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => r.normal()),
    shape,
  );
}

/** conv-BN-ReLU ×3 with a residual add: the shapes of a ResNet stage, tiny. */
function makeNet() {
  const w = [randomTensor([3, 3, 3, 8], 1), randomTensor([3, 3, 8, 8], 2), randomTensor([3, 3, 8, 8], 3)].map((t) => tf.variable(t.mul(0.2)));
  const gamma = tf.variable(tf.ones([8]));
  const beta = tf.variable(tf.zeros([8]));
  const x = randomTensor([4, 12, 12, 3], 4);
  const loss = () => {
    let h: tf.Tensor = tf.relu(tf.conv2d(x as tf.Tensor4D, w[0] as tf.Tensor4D, 1, 'same'));
    const skip = h;
    for (const k of [1, 2]) {
      const c = tf.conv2d(h as tf.Tensor4D, w[k] as tf.Tensor4D, 1, 'same');
      const { mean, variance } = tf.moments(c, [0, 1, 2]);
      h = tf.relu(tf.batchNorm(c, mean, variance, beta, gamma, 1e-3));
    }
    return tf.mean(tf.square(tf.add(h, skip)));
  };
  return { vars: [...w, gamma, beta], loss, dispose: () => tf.dispose([...w, gamma, beta, x]) };
}

beforeAll(async () => {
  await initBackend({ backend: 'wasm' });
});

afterAll(() => installWasmHeapGuard(WASM_HEAP_MAX_BYTES));

describe('low-memory backprop', () => {
  it('gives bit-identical gradients to tfjs, holds fewer bytes at its peak, and leaks nothing', () => {
    const net = makeNet();
    const run = (g: Grads) => {
      const before = tf.memory().numTensors;
      resetWasmHeapPeak();
      const base = wasmHeapStats().liveBytes;
      const { value, grads } = g(net.loss, net.vars);
      const peak = wasmHeapStats().peakBytes - base;
      const out = { loss: value.dataSync()[0]!, grads: grads.map((t) => Array.from(t.dataSync())), peak };
      tf.dispose([value, ...grads]);
      expect(tf.memory().numTensors).toBe(before);
      return out;
    };
    const theirs = run(tfjsGradients);
    const ours = run(ourGradients);
    expect(ours.loss).toBe(theirs.loss);
    expect(ours.grads).toEqual(theirs.grads);
    // The forward activations are the same; tfjs also keeps every intermediate gradient.
    expect(ours.peak).toBeLessThan(0.8 * theirs.peak);
    net.dispose();
  });

  it("frees a custom gradient's temporaries and handles a tensor used twice", () => {
    const x = tf.variable(tf.tensor1d([1, -2, 3]));
    const f = tf.customGrad((...args: unknown[]) => {
      const [a, save] = args as [tf.Tensor, tf.GradSaveFunc];
      save([a]);
      return { value: tf.mul(a, a), gradFunc: (dy, saved) => tf.mul(tf.mul(dy as tf.Tensor, saved[0]!), tf.scalar(2)) };
    });
    const before = tf.memory().numTensors;
    const { value, grads } = ourGradients(() => tf.sum(tf.add(f(x), tf.mul(x, x))), [x]);
    expect(Array.from(grads[0]!.dataSync())).toEqual([4, -8, 12]);
    tf.dispose([value, ...grads]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

describe('higher-order gradients', () => {
  it('still work: d²/dx² x³ = 6x', () => {
    const d2 = tf.grad((x: tf.Tensor) => tf.grad((y: tf.Tensor) => tf.pow(y, 3))(x));
    expect(Array.from(d2(tf.tensor1d([1, 2, -3])).dataSync())).toEqual([6, 12, -18]);
  });
});

describe('out of memory', () => {
  it('ends an oversized step with one line naming batch, encoder and input, and proposing what fits', () => {
    const net = makeNet();
    // A soft ceiling a little above what is live: the step cannot fit, as 2 × 4096 views of a
    // ResNet cannot fit in 4 GiB, and fails the same way (at an allocation, before any write).
    installWasmHeapGuard(wasmHeapStats().liveBytes + 64 * 1024);
    const before = tf.memory().numTensors;
    let err: unknown;
    try {
      withMemoryGuard(() => tf.tidy(() => ourGradients(net.loss, net.vars).value), { batchSize: 512, encoder: 'resnet18', inputShape: [96, 96, 3] });
    } catch (e) {
      err = e;
    }
    installWasmHeapGuard(WASM_HEAP_MAX_BYTES);
    expect(err).toBeInstanceOf(SslError);
    const msg = (err as SslError).message;
    expect(msg.split('\n')).toHaveLength(1);
    expect(msg).toMatch(/batch size 512/);
    expect(msg).toMatch(/encoder resnet18/);
    expect(msg).toMatch(/96×96×3/);
    expect(msg).toMatch(/--batch-size 256 or less/);
    expect(msg).toMatch(/--set encoder\.width=0\.5/);
    expect(msg).not.toMatch(/Aborted/);
    // The module survived: the same step runs once the memory is there.
    const { value, grads } = ourGradients(net.loss, net.vars);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    tf.dispose([value, ...grads]);
    net.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });
});

describe('heap accounting above 2 GiB', () => {
  it('counts a block freed by its unsigned address as freed (emscripten returns it signed)', () => {
    // A stand-in module whose allocator hands out addresses above 2 GiB, as the real heap does
    // once it has grown past that: _malloc's i32 result is then negative, and tfjs frees `p >>> 0`.
    let next = 2 ** 31 + 4096;
    const freed: number[] = [];
    const fake: WasmModule = {
      _malloc: (n: number) => {
        const p = next | 0;
        next += n;
        return p;
      },
      _free: (p: number) => void freed.push(p),
      HEAPU8: new Uint8Array(0),
    };
    wrapAllocator(fake);
    const base = wasmHeapStats().liveBytes;
    const mb = 2 ** 20;
    const ptrs = [fake._malloc(64 * mb), fake._malloc(64 * mb)];
    expect(ptrs[0]).toBeLessThan(0);
    expect(wasmHeapStats().liveBytes - base).toBe(128 * mb);
    for (const p of ptrs) fake._free(p >>> 0);
    expect(wasmHeapStats().liveBytes).toBe(base);
    expect(freed).toEqual(ptrs.map((p) => p >>> 0));
  });
});
