import * as tf from '@tensorflow/tfjs';
import { runSimd, simdRunsOver, simdThreads, type SimdKernel } from './wasm-pool';

/**
 * Training kernels the tfjs wasm backend lacks, composed from kernels it has (XNNPACK-backed
 * convolution, transpose, slice, matmul). Registered once, on first use of the wasm backend.
 */
type KernelInputs = Record<string, tf.TensorInfo>;
type Backend = { disposeData(dataId: object): void; incRef(dataId: object): void };
type HeapBackend = Backend & WasmHeap;

function call(name: string, backend: Backend, inputs: KernelInputs, attrs: Record<string, unknown> = {}): tf.TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is missing; cannot compose training kernels.`);
  return k.kernelFunc({ inputs, backend: backend as never, attrs: attrs as never }) as tf.TensorInfo;
}

/** Attributes shared by the two convolution-gradient kernels. */
interface ConvGradAttrs {
  strides: [number, number] | number;
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: string;
}

/** Most image blocks of a filter gradient, and the most memory (floats) their partial sums may take. */
const FILTER_GRAD_BLOCKS = 16;
const FILTER_GRAD_PARTIAL_FLOATS = 1 << 23;

/**
 * The filter gradient by simd/kernels.c's conv_filter_grad: the batch cut into blocks of images
 * (up to 16, fewer for large filters, never depending on the thread count), each summed into its
 * own partial filter by whichever thread claims it, the partials then added up in block order. A
 * thread thus reads each image once; splitting the filter instead made every thread read all of
 * x and dy, and memory, not arithmetic, set the pace. `dims`: the kernel's size arguments.
 */
function filterGradBySimd(b: HeapBackend, x: tf.TensorInfo, dy: tf.TensorInfo, filterShape: number[], dims: number[]): tf.TensorInfo | undefined {
  const batch = x.shape[0]!;
  const args = [pointer(b, x), pointer(b, dy), ...dims];
  const size = tf.util.sizeFromShape(filterShape);
  const blocks = Math.max(1, Math.min(FILTER_GRAD_BLOCKS, batch, Math.floor(FILTER_GRAD_PARTIAL_FLOATS / size)));
  // With fewer blocks than two per thread, each block's filter is cut further.
  const groups = Math.max(1, Math.ceil((2 * simdThreads()) / blocks));
  if (blocks === 1) return viaSimd(b, filterShape, 'conv_filter_grad', (out) => [out, ...args, 1], groups);
  const partial = b.makeOutput([blocks, size], 'float32');
  const dw = runSimd('conv_filter_grad', b.wasm, [pointer(b, partial), ...args, blocks], blocks * groups)
    ? viaSimd(b, filterShape, 'column_sum', (out) => [out, pointer(b, partial), blocks, size, 1])
    : undefined;
  b.disposeData(partial.dataId);
  return dw;
}

/**
 * dW[kh,kw,ci,co] = Σ_{b,y,x} X[b, y·s+kh, x·s+kw, ci] · dY[b,y,x,co].
 * With our SIMD kernels running (output channels a multiple of 8): computed directly, over every
 * thread (simd/kernels.c, conv_filter_grad), with no copy and no packing of the long operand.
 * Otherwise through XNNPACK: treat input channels as the batch and the batch as channels: a
 * convolution of Xᵀ ([ci,H,W,B]) with dYᵀ ([oh,ow,B,co]) dilated by the forward stride gives
 * [ci,kh,kw,co]; there XNNPACK packs dYᵀ as a filter on one thread.
 */
const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { strides, pad, dimRoundingMode, filterShape, dataFormat } = attrs as unknown as ConvGradAttrs & {
    filterShape: [number, number, number, number];
  };
  if (dataFormat && dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, got ${dataFormat}.`);
  const b = backend as unknown as HeapBackend;
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const [kh, kw, ci, co] = filterShape;
  if (co % 8 === 0 && x.dtype === 'float32' && dy.dtype === 'float32') {
    const { batchSize, inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth, padInfo } = info;
    const dims = [batchSize, inHeight, inWidth, ci, outHeight, outWidth, co, kh, kw, strideHeight, strideWidth, padInfo.top, padInfo.left];
    const dw = filterGradBySimd(b, x, dy, filterShape, dims);
    if (dw) return dw;
  }
  const k = kh * kw * ci;
  if (k <= IM2COL_MAX_K && 2 * k <= co && x.dtype === 'float32' && dy.dtype === 'float32') return filterGradByIm2col(b, x, dy, info);
  const { top, bottom, left, right } = info.padInfo;
  const xt = call('Transpose', b, { x }, { perm: [3, 1, 2, 0] });
  const dyt = call('Transpose', b, { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = call(
    'Conv2D',
    b,
    { x: xt, filter: dyt },
    {
      strides: [1, 1],
      pad: [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ],
      dilations: [info.strideHeight, info.strideWidth],
      dataFormat: 'NHWC',
    },
  );
  b.disposeData(xt.dataId);
  b.disposeData(dyt.dataId);
  let cropped = conv;
  if (conv.shape[1] !== filterShape[0] || conv.shape[2] !== filterShape[1]) {
    cropped = call('Slice', b, { x: conv }, { begin: [0, 0, 0, 0], size: [conv.shape[0], filterShape[0], filterShape[1], conv.shape[3]] });
    b.disposeData(conv.dataId);
  }
  const out = call('Transpose', b, { x: cropped }, { perm: [1, 2, 0, 3] });
  b.disposeData(cropped.dataId);
  return out;
};

/**
 * Patch length (kh·kw·Cin) up to which a filter gradient goes through im2col: a first layer on
 * images (3×3 on 1–3 channels). There the convolution form above packs the whole output
 * gradient as an XNNPACK filter on one thread (~10 ns a value: 130 ms for the benchmark's
 * 512 × 28 × 28 × 32), which costs ten times the product itself.
 */
const IM2COL_MAX_K = 32;

/**
 * dWᵀ[co, (kh,kw,ci)] = dYᵀ[co, P] · patches[P, (kh,kw,ci)] over the P = N·oh·ow output
 * positions, one XNNPACK product whose packed operand is the small patch matrix. dYᵀ is a
 * blocked transpose (the backend's own walks the output with a page-sized stride) and the
 * patches a plain copy loop; both are ~P·(co + kh·kw·ci) values, small when the patch is.
 */
function filterGradByIm2col(b: HeapBackend, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const p = n * oh * ow;
  const k = kh * kw * ci;
  const dyT = b.makeOutput([1, co, p], 'float32');
  const patches = b.makeOutput([1, p, k], 'float32');
  const src = b.typedArrayFromHeap(dy) as Float32Array;
  const t = b.typedArrayFromHeap(dyT) as Float32Array;
  const BLOCK = 64; // rows of dY per block: co output rows × 64 values stay within a few pages
  for (let r0 = 0; r0 < p; r0 += BLOCK) {
    const r1 = Math.min(p, r0 + BLOCK);
    for (let c = 0; c < co; c++) {
      const base = c * p;
      for (let r = r0; r < r1; r++) t[base + r] = src[r * co + c]!;
    }
  }
  const xs = b.typedArrayFromHeap(x) as Float32Array;
  const pm = b.typedArrayFromHeap(patches) as Float32Array;
  pm.fill(0);
  for (let i = 0; i < n; i++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const row = ((i * oh + y) * ow + xo) * k;
        for (let u = 0; u < kh; u++) {
          const sy = y * sh + u - top;
          if (sy < 0 || sy >= h) continue;
          for (let v = 0; v < kw; v++) {
            const sx = xo * sw + v - left;
            if (sx < 0 || sx >= w) continue;
            const from = ((i * h + sy) * w + sx) * ci;
            const to = row + (u * kw + v) * ci;
            for (let c = 0; c < ci; c++) pm[to + c] = xs[from + c]!;
          }
        }
      }
    }
  }
  const prod = call('BatchMatMul', b, { a: dyT, b: patches }, { transposeA: false, transposeB: false });
  b.disposeData(dyT.dataId);
  b.disposeData(patches.dataId);
  const kco = call('Transpose', b, { x: prod }, { perm: [0, 2, 1] });
  b.disposeData(prod.dataId);
  const out = call('Reshape', b, { x: kco }, { shape: [kh, kw, ci, co] });
  b.disposeData(kco.dataId);
  return out;
}

/** The parts of the wasm backend that move data between the heap and JS. */
interface WasmHeap {
  /** The backend's emscripten module (its memory is the heap). */
  wasm: object;
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array;
}

/**
 * Row gather (axis 0) as typed-array row copies: the wasm Gather kernel walks element by element
 * and takes ~1 s for the 10M values of one word2vec batch; copying rows takes milliseconds.
 * Other gathers (other axes, batch dims, small outputs) keep the native kernel. Exact either way.
 */
function makeRowGather(native: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
    const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
    const inner = x.shape.slice(1).reduce((p, q) => p * q, 1);
    const count = indices.shape.reduce((p, q) => p * q, 1);
    const rows = x.shape[0] ?? 0;
    if ((axis !== 0 && axis !== -x.shape.length) || (batchDims ?? 0) !== 0 || x.dtype !== 'float32' || indices.dtype !== 'int32' || count * inner < 1 << 16) {
      return native({ inputs, backend, attrs });
    }
    const b = backend as unknown as WasmHeap;
    const out = b.makeOutput([...indices.shape, ...x.shape.slice(1)], 'float32');
    const src = b.typedArrayFromHeap(x);
    const ids = b.typedArrayFromHeap(indices);
    const dst = b.typedArrayFromHeap(out);
    for (let i = 0; i < count; i++) {
      const r = ids[i]!;
      if (r < 0 || r >= rows) {
        (backend as unknown as Backend).disposeData(out.dataId);
        throw new Error(`GatherV2: index ${r} is out of range [0, ${rows})`);
      }
      dst.set(src.subarray(r * inner, (r + 1) * inner), i * inner);
    }
    return out;
  };
}

/**
 * The segment sum as a plain loop over rows, for the sizes where the one-hot matrix would not fit
 * in memory (embedding gradients: tens of thousands of token rows × a vocabulary of 10k+ ids).
 */
function segmentSumInJs(b: WasmHeap, x: tf.TensorInfo, segmentIds: tf.TensorInfo, numSegments: number, rest: number[], inner: number): tf.TensorInfo {
  const ids = segmentIds.dtype === 'int32' ? null : b.readSync(segmentIds.dataId);
  const out = b.makeOutput([numSegments, ...rest], 'float32');
  // Heap views only after makeOutput: allocating may grow (and so detach) the wasm memory.
  const data = b.typedArrayFromHeap(x);
  const idView = ids ?? b.typedArrayFromHeap(segmentIds);
  const view = b.typedArrayFromHeap(out);
  view.fill(0);
  for (let i = 0; i < idView.length; i++) {
    const s = idView[i]!;
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const d = i * inner;
    for (let j = 0; j < inner; j++) view[o + j]! += data[d + j]!;
  }
  return out;
}

/**
 * out[s] = Σ_{i: ids[i]=s} data[i]: a one-hot matrix of the segment ids times the data.
 * Needed by the gradient of gather (embeddings).
 */
const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const b = backend as unknown as Backend;
  const n = x.shape[0]!;
  const rest = x.shape.slice(1);
  const inner = rest.reduce((a, v) => a * v, 1);
  if (n * numSegments > 1 << 26) return segmentSumInJs(backend as unknown as WasmHeap, x, segmentIds, numSegments, rest, inner);
  const ids = call('Cast', b, { x: segmentIds }, { dtype: 'int32' });
  const oneHotInt = call('OneHot', b, { indices: ids }, { depth: numSegments, onValue: 1, offValue: 0, dtype: 'int32' });
  const oneHot = call('Cast', b, { x: oneHotInt }, { dtype: 'float32' });
  // outᵀ[inner, S] = x[n, inner]ᵀ · oneHot[n, S]. The fresh one-hot is the right operand on
  // purpose: the wasm matmul caches its right operand by tensor id, and a reshaped view of a
  // live tensor keeps that id under another shape.
  const oh3 = call('Reshape', b, { x: oneHot }, { shape: [1, n, numSegments] });
  const x3 = call('Reshape', b, { x }, { shape: [1, n, inner] });
  const prod = call('BatchMatMul', b, { a: x3, b: oh3 }, { transposeA: true, transposeB: false });
  const t2 = call('Reshape', b, { x: prod }, { shape: [inner, numSegments] });
  const tr = call('Transpose', b, { x: t2 }, { perm: [1, 0] });
  const out = call('Reshape', b, { x: tr }, { shape: [numSegments, ...rest] });
  // Reshape shares (and ref-counts) its input's data, so every intermediate is released once.
  for (const t of [ids, oneHotInt, oneHot, oh3, x3, prod, t2, tr]) b.disposeData(t.dataId);
  return out;
};

/**
 * dX of a convolution is itself a convolution: dY, dilated by the forward stride (zeros between
 * its rows and columns), convolved with the kernel flipped in space and with its in/out channels
 * swapped, padded by K−1−pad before and whatever reaches the input size after. Routing it
 * through the XNNPACK convolution replaces the backend's direct loop, which is many times slower
 * even though a stride-2 dilation makes 3/4 of the products zeros. Dilated-kernel cases keep the
 * native kernel.
 */
function makeConv2DBackpropInput(native: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const { strides, pad, dimRoundingMode, inputShape, dataFormat } = attrs as unknown as ConvGradAttrs & {
      inputShape: [number, number, number, number];
    };
    const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
    if ((dataFormat && dataFormat !== 'NHWC') || dy.dtype !== 'float32' || filter.dtype !== 'float32') return native({ inputs, backend, attrs });
    const b = backend as unknown as HeapBackend;
    const fs = filter.shape as [number, number, number, number];
    const info = tf.backend_util.computeConv2DInfo(inputShape, fs, strides, 1, pad, dimRoundingMode);
    const { top, left } = info.padInfo;
    let src = dy;
    if (sh !== 1 || sw !== 1) {
      const [n, oh, ow, c] = dy.shape as [number, number, number, number];
      const dh = (oh - 1) * sh + 1;
      const dw = (ow - 1) * sw + 1;
      src = b.makeOutput([n, dh, dw, c], 'float32');
      const to = b.typedArrayFromHeap(src) as Float32Array;
      const from = b.typedArrayFromHeap(dy) as Float32Array;
      to.fill(0);
      for (let i = 0; i < n; i++) {
        for (let y = 0; y < oh; y++) {
          for (let x = 0; x < ow; x++) {
            const s0 = ((i * oh + y) * ow + x) * c;
            to.set(from.subarray(s0, s0 + c), ((i * dh + y * sh) * dw + x * sw) * c);
          }
        }
      }
    }
    const padTop = fs[0] - 1 - top;
    const padLeft = fs[1] - 1 - left;
    // Padding after: whatever makes the output inputShape. Negative only when the forward pass
    // ignored trailing input rows (valid padding with a remainder): rare, left to the native kernel.
    const padBottom = inputShape[1] - src.shape[1]! - padTop + fs[0] - 1;
    const padRight = inputShape[2] - src.shape[2]! - padLeft + fs[1] - 1;
    if (padTop < 0 || padLeft < 0 || padBottom < 0 || padRight < 0) {
      if (src !== dy) b.disposeData(src.dataId);
      return native({ inputs, backend, attrs });
    }
    // The filter flipped in space with its channel axes swapped, in one loop (the wasm Reverse
    // kernel takes about 30 ns an element):
    // swapped[kh−1−u, kw−1−v, o, k] = filter[u, v, k, o].
    const [kh, kw, ci, co] = fs;
    const swapped = b.makeOutput([kh, kw, co, ci], 'float32');
    const to = b.typedArrayFromHeap(swapped) as Float32Array;
    const from = b.typedArrayFromHeap(filter) as Float32Array;
    for (let u = 0; u < kh; u++) {
      for (let v = 0; v < kw; v++) {
        const s0 = (u * kw + v) * ci * co;
        const d0 = ((kh - 1 - u) * kw + (kw - 1 - v)) * co * ci;
        for (let k = 0; k < ci; k++) for (let o = 0; o < co; o++) to[d0 + o * ci + k] = from[s0 + k * co + o]!;
      }
    }
    const out = call(
      'Conv2D',
      b,
      { x: src, filter: swapped },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0],
        ],
        dilations: [1, 1],
        dataFormat: 'NHWC',
      },
    );
    b.disposeData(swapped.dataId);
    if (src !== dy) b.disposeData(src.dataId);
    return out;
  };
}

/**
 * The gradient of FusedBatchNorm as tfjs-core defines it, except that dX broadcasts the
 * per-channel factor instead of tiling it to the full activation shape first (the wasm Tile
 * kernel is a slow element loop, and the tiled copy is pure waste). Same math, all backends.
 */
const fusedBatchNormGrad: tf.GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy, saved, attrs) => {
    const g = Array.isArray(dy) ? dy[0]! : dy;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
    const scaleValue = scale ?? tf.scalar(1);
    const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
    const perChannel = mean.rank === 1;
    const reduce = (t: tf.Tensor) => tf.reshape(perChannel ? tf.sum(t, axes) : t, mean.shape);
    const xMinusMean = tf.sub(x, mean);
    const dyScaled = tf.mul(g, scaleValue);
    const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
    const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
    return {
      x: () => tf.reshape(tf.mul(tf.mul(g, rstd), scaleValue), x.shape),
      mean: () => reduce(tf.mul(tf.mul(rstd, tf.scalar(-1)), dyScaled)),
      variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyScaled)),
      scale: () => reduce(tf.mul(g, tf.mul(xMinusMean, rstd))),
      offset: () => reduce(g),
    };
  },
};

/** Rows per block of `column_block_sums` (simd/kernels.c). */
const SUM_BLOCK = 256;

/**
 * Sum or Mean of a float tensor over leading axes (batch-norm statistics and their gradients
 * reduce over N, H, W of NHWC) or over contiguous middle axes (global average pooling: H, W).
 * With the SIMD kernels: column sums in blocks of rows (simd/kernels.c), over every thread.
 * Otherwise, for leading axes, one matrix product ones[1, M] · X[M, C] instead of the backend's
 * transpose-then-reduce path (over N, H, W of a rank-4 tensor, XNNPACK's average pool first
 * takes each image's mean over H×W). Other reductions keep the native kernel.
 */
function makeAxesReduce(native: tf.KernelFunc, mean: boolean): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    const middle = axes.length > 0 && axes[0]! > 0 && axes.at(-1)! < rank - 1 && axes.every((a, i) => a === axes[0]! + i);
    if (x.dtype !== 'float32' || (!leading && !middle)) return native({ inputs, backend, attrs });
    const b = backend as unknown as HeapBackend;
    const size = tf.util.sizeFromShape;
    if (middle) {
      // Over middle axes (global average pooling: N, [H, W], C): per outer index, in row order.
      const outer = size(x.shape.slice(0, axes[0]));
      const rows = size(axes.map((a) => x.shape[a]!));
      const c = size(x.shape.slice(axes.at(-1)! + 1));
      const shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
      const out = rows > 0 ? viaSimd(b, shape, 'middle_sum', (o) => [o, pointer(b, x), outer, rows, c, mean ? 1 / rows : 1]) : undefined;
      return out ?? native({ inputs, backend, attrs });
    }
    const rest = x.shape.slice(axes.length);
    const c = size(rest);
    let m = size(x.shape.slice(0, axes.length));
    let value = mean ? 1 / m : 1;
    if (m > 0 && c > 0) {
      const summed = b.makeOutput(keepDims ? [...axes.map(() => 1), ...rest] : rest, 'float32');
      const blocks = Math.ceil(m / SUM_BLOCK);
      const partial = b.makeOutput([blocks, c], 'float32');
      const ok =
        runSimd('column_block_sums', b.wasm, [pointer(b, partial), pointer(b, x), m, c]) &&
        runSimd('column_sum', b.wasm, [pointer(b, summed), pointer(b, partial), blocks, c, value]);
      b.disposeData(partial.dataId);
      if (ok) return summed;
      b.disposeData(summed.dataId);
    }
    let src = x;
    const [, h, w] = x.shape as number[];
    if (rank === 4 && axes.length === 3 && h! * w! > 1) {
      src = call('AvgPool', b, { x }, { filterSize: [h, w], strides: [1, 1], pad: 'valid' });
      m = x.shape[0]!;
      value = mean ? 1 / m : h! * w!;
    }
    // Xᵀ[C, M] · w[M, 1] with the fresh weights on the right: the wasm matmul caches its right
    // operand by tensor id, so a reshaped view of a live tensor must not go there.
    const weights = call('Fill', b, {}, { shape: [1, m, 1], value, dtype: 'float32' });
    const x3 = call('Reshape', b, { x: src }, { shape: [1, m, c] });
    const prod = call('BatchMatMul', b, { a: x3, b: weights }, { transposeA: true, transposeB: false });
    const out = call('Reshape', b, { x: prod }, { shape: keepDims ? [...axes.map(() => 1), ...rest] : rest });
    for (const t of [weights, x3, prod, ...(src !== x ? [src] : [])]) b.disposeData(t.dataId);
    return out;
  };
}

/**
 * Matrix products with a transposed operand (BatchMatMul, _FusedMatMul) transpose it into a
 * contiguous copy first and then take the plain product. tfjs-wasm sends transposeA /
 * transposeB to a scalar loop that runs 5–20× slower than the transpose plus the plain product
 * together, and every Dense layer's backward pass asks for both (dW = xᵀ·dy, dx = dy·Wᵀ), as do
 * similarity and cross-correlation matrices. Same products; only the summation order may differ.
 *
 * With `perItem` (BatchMatMul only), a product of several matrices (batch > 1, as attention's
 * [n, heads, T, T] scores and their gradients) runs one matrix at a time through the native
 * single-matrix path, which is XNNPACK's SIMD GEMM: tfjs-wasm sends every batched product to the
 * same scalar loop. Each matrix costs a fixed ~8 µs (copies, an XNNPACK operator), so this pays
 * only above {@link PER_ITEM_MIN_MACS} multiply-adds per matrix (ViT attention: 50 × 50 × 16, about
 * 2–4× faster); smaller ones keep the loop.
 */
function makeContiguousMatMul(native: tf.KernelFunc, perItem: boolean): tf.KernelFunc {
  return (args) => {
    const attrs = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const { a, b: bIn } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    const rows = a.shape[a.shape.length - (attrs.transposeA ? 1 : 2)]!;
    const cols = bIn.shape[bIn.shape.length - (attrs.transposeB ? 2 : 1)]!;
    const inner = a.shape[a.shape.length - (attrs.transposeA ? 2 : 1)]!;
    const batch = tf.util.sizeFromShape(a.shape.slice(0, -2));
    const split =
      perItem &&
      batch > 1 &&
      bIn.shape.slice(0, -2).join() === a.shape.slice(0, -2).join() &&
      a.dtype === 'float32' &&
      bIn.dtype === 'float32' &&
      rows * inner * cols >= PER_ITEM_MIN_MACS;
    // Matrix-vector products (makeAxesReduce's fallback sums) are fast natively; a copy would not pay.
    if (!split && ((!attrs.transposeA && !attrs.transposeB) || rows === 1 || cols === 1)) return native(args);
    const b = args.backend as unknown as HeapBackend;
    const swapLast = (t: tf.TensorInfo, on: boolean): tf.TensorInfo => {
      if (!on) return t;
      const perm = t.shape.map((_, i) => i);
      const r = perm.length;
      [perm[r - 2], perm[r - 1]] = [perm[r - 1]!, perm[r - 2]!];
      return call('Transpose', b, { x: t }, { perm });
    };
    const at = swapLast(a, attrs.transposeA);
    const bt = swapLast(bIn, attrs.transposeB);
    try {
      if (split) return matMulPerItem(native, b, at, bt, batch, rows, inner, cols);
      return native({ ...args, inputs: { ...args.inputs, a: at, b: bt }, attrs: { ...args.attrs, transposeA: false, transposeB: false } as never });
    } finally {
      if (at !== a) b.disposeData(at.dataId);
      if (bt !== bIn) b.disposeData(bt.dataId);
    }
  };
}

/** Multiply-adds per matrix above which {@link matMulPerItem} beats tfjs-wasm's batched scalar loop (measured break-even ~8k). */
const PER_ITEM_MIN_MACS = 8192;

/** out[i] = a[i] · b[i] for contiguous a [..., m, k] and b [..., k, n], one native single-matrix product per i. */
function matMulPerItem(
  native: tf.KernelFunc,
  b: HeapBackend,
  a: tf.TensorInfo,
  bm: tf.TensorInfo,
  batch: number,
  m: number,
  k: number,
  n: number,
): tf.TensorInfo {
  const out = b.makeOutput([...a.shape.slice(0, -2), m, n], 'float32');
  const attrs = { transposeA: false, transposeB: false } as never;
  for (let i = 0; i < batch; i++) {
    const ai = b.makeOutput([1, m, k], 'float32');
    const bi = b.makeOutput([1, k, n], 'float32');
    // Heap views after each allocation: growing the wasm memory detaches older ones.
    b.typedArrayFromHeap(ai).set((b.typedArrayFromHeap(a) as Float32Array).subarray(i * m * k, (i + 1) * m * k));
    b.typedArrayFromHeap(bi).set((b.typedArrayFromHeap(bm) as Float32Array).subarray(i * k * n, (i + 1) * k * n));
    const oi = native({ inputs: { a: ai, b: bi }, backend: b as never, attrs }) as tf.TensorInfo;
    b.typedArrayFromHeap(out).set(b.typedArrayFromHeap(oi), i * m * n);
    // bi is fresh per matrix because XNNPACK caches the packed right operand by buffer id; disposing it
    // frees that cached operator.
    for (const t of [ai, bi, oi]) b.disposeData(t.dataId);
  }
  return out;
}

/**
 * Identity (and a Cast to the same dtype) share their input's data, ref-counted, as the cpu backend
 * does. The wasm backend copies instead, and the gradient tape clones every tensor it saves for the
 * backward pass through Identity: a full second copy of every activation kept for backward (about
 * half the heap of a ResNet-18 step). Tensor data is immutable, so sharing is exact.
 */
function makeSharingIdentity(native: tf.KernelFunc, isCast: boolean): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { x } = inputs as { x: tf.TensorInfo };
    const dtype = isCast ? (attrs as unknown as { dtype: string }).dtype : x.dtype;
    if (x.dtype === 'string' || dtype !== x.dtype) return native({ inputs, backend, attrs });
    (backend as unknown as Backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
}

/**
 * The gradient of a 2×2, stride-2 max-pool as one pass over the windows: dY goes to the first
 * maximum of each window (row-major, as the cpu backend picks it), zeros elsewhere. The native
 * kernel is a general loop that costs about 15 % of the benchmark ConvNet's step. Other pools
 * keep the native kernel.
 */
function makeMaxPoolGrad(native: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: 'valid' | 'same' | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const p = info.padInfo;
    if (
      info.filterHeight !== 2 ||
      info.filterWidth !== 2 ||
      info.strideHeight !== 2 ||
      info.strideWidth !== 2 ||
      p.top !== 0 ||
      p.left !== 0 ||
      info.outHeight * 2 > info.inHeight ||
      info.outWidth * 2 > info.inWidth ||
      input.dtype !== 'float32' ||
      dy.dtype !== 'float32'
    ) {
      return native(args);
    }
    const b = backend as unknown as HeapBackend;
    const [n, h, w, c] = input.shape as [number, number, number, number];
    const out = viaSimd(b, input.shape, 'maxpool_grad_2x2', (o) => [o, pointer(b, input), pointer(b, dy), n, h, w, c, info.outHeight, info.outWidth]);
    return out ?? native(args);
  };
}

/** Where a tensor's data lies in the wasm heap (a byte address). */
function pointer(b: WasmHeap, t: tf.TensorInfo): number {
  return b.typedArrayFromHeap(t).byteOffset;
}

/**
 * A float output of `shape` written by SIMD `kernel` (its arguments from the output's address), or
 * undefined, nothing left allocated, where the SIMD kernels do not run: the caller falls back.
 */
function viaSimd(b: HeapBackend, shape: number[], kernel: SimdKernel, args: (out: number) => number[], chunks?: number): tf.TensorInfo | undefined {
  const out = b.makeOutput(shape, 'float32');
  if (runSimd(kernel, b.wasm, args(pointer(b, out)), chunks)) return out;
  b.disposeData(out.dataId);
  return undefined;
}

const BINARY_OPS = { Add: 0, Sub: 1, Multiply: 2 } as const;

/** Element count from which a same-shape binary op is worth sharing out (below, tfjs's call is as quick). */
const SHARE_MIN_SIZE = 1 << 14;

/**
 * Add, Sub and Multiply of two float tensors of one shape, or of a tensor [..., C] and a
 * per-channel [C] (either order: batch norm's broadcasts, which the wasm backend walks element by
 * element), as one SIMD pass shared by every thread. Other shapes and dtypes keep the native
 * kernel. Exact.
 */
function makeBinary(native: tf.KernelFunc, op: number): tf.KernelFunc {
  return (args) => {
    const { a, b: y } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
    if (a.dtype !== 'float32' || y.dtype !== 'float32') return native(args);
    const size = (t: tf.TensorInfo) => tf.util.sizeFromShape(t.shape);
    const b = args.backend as unknown as HeapBackend;
    if (tf.util.arraysEqual(a.shape, y.shape)) {
      if (size(a) < SHARE_MIN_SIZE) return native(args);
      return viaSimd(b, a.shape, 'same_binary', (o) => [o, pointer(b, a), pointer(b, y), size(a), op]) ?? native(args);
    }
    const perChannel = (big: tf.TensorInfo, small: tf.TensorInfo) => {
      const c = big.shape.at(-1) ?? 0;
      return big.shape.length >= 2 && small.shape.length >= 1 && small.shape.at(-1) === c && size(small) === c && size(big) > c;
    };
    const smallFirst = !perChannel(a, y) && perChannel(y, a);
    if (!smallFirst && !perChannel(a, y)) return native(args);
    const [big, small] = smallFirst ? [y, a] : [a, y];
    const c = big.shape.at(-1)!;
    const out = viaSimd(b, big.shape, 'channel_binary', (o) => [o, pointer(b, big), pointer(b, small), size(big) / c, c, op, smallFirst ? 1 : 0]);
    return out ?? native(args);
  };
}

/**
 * An element-wise op on a float tensor as one SIMD pass shared by every thread: `step` (tfjs's
 * Step, ReLU's gradient mask; its alpha from the attributes) or `exp_values` (Exp, which the wasm
 * kernel computes with the C library's expf value by value; ours is a polynomial within 2 ulp,
 * NaN and ±inf kept, 0 below e^-87.3). Small tensors and other dtypes keep the native kernel.
 */
function makeUnary(native: tf.KernelFunc, kernel: 'step' | 'exp_values', extra: (attrs: { alpha?: number }) => number[] = () => []): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const n = tf.util.sizeFromShape(x.shape);
    if (x.dtype !== 'float32' || n < SHARE_MIN_SIZE) return native(args);
    const b = args.backend as unknown as HeapBackend;
    return viaSimd(b, x.shape, kernel, (o) => [o, pointer(b, x), n, ...extra(args.attrs as { alpha?: number })]) ?? native(args);
  };
}

/**
 * Tile of a tensor whose repeated axes all have size 1 and lie side by side (a broadcast: the
 * gradients of Sum and Mean below, batch norm's statistics) as one SIMD copy pass over every
 * thread. The wasm kernel walks the output element by element. Other tilings keep it. Exact.
 */
function makeBroadcastTile(native: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { reps } = args.attrs as unknown as { reps: number[] };
    const s = x.shape;
    const axes = reps.flatMap((r, i) => (r > 1 ? [i] : []));
    const p = axes[0] ?? 0;
    const q = (axes.at(-1) ?? -1) + 1;
    const fits = x.dtype === 'float32' && axes.length > 0 && axes.length === q - p && axes.every((i) => s[i] === 1) && reps.length === s.length;
    if (!fits) return native(args);
    const size = tf.util.sizeFromShape;
    const b = args.backend as unknown as HeapBackend;
    const shape = s.map((d, i) => d * reps[i]!);
    return viaSimd(b, shape, 'fill_rows', (o) => [o, pointer(b, x), size(s.slice(0, p)), size(reps.slice(p, q)), size(s.slice(q))]) ?? native(args);
  };
}

/**
 * The gradients of Sum and Mean as a broadcast of dY (divided by the reduced count for Mean):
 * tfjs multiplies dY by a tensor of ones of the input's shape, built in JavaScript and copied in
 * for every call (about 10 % of the benchmark step on wasm, on one thread). Same values.
 */
function reduceGrad(kernelName: 'Sum' | 'Mean'): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const g = Array.isArray(dy) ? dy[0]! : dy;
      const [x] = saved as [tf.Tensor];
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number | number[] }).axis, x.shape);
      const expanded = tf.reshape(
        g,
        x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
      );
      const count = axes.reduce((n, a) => n * x.shape[a]!, 1);
      return { x: () => tf.broadcastTo(kernelName === 'Mean' ? tf.div(expanded, count) : expanded, x.shape) };
    },
  };
}

/**
 * Replaces a native wasm kernel with `make(native)`, which may fall back to it. The native
 * setup is kept: it binds the wasm function the fallback calls.
 */
function wrapNative(name: string, make: (native: tf.KernelFunc) => tf.KernelFunc): void {
  const native = tf.getKernel(name, 'wasm');
  if (!native) return;
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: make(native.kernelFunc),
    ...(native.setupFunc ? { setupFunc: native.setupFunc } : {}),
  });
}

const CENTRED_SUMS = 'SslCentredChannelSums';
const CHANNEL_AFFINE = 'SslChannelAffine';

/** Whether the active backend is wasm with our SIMD kernels over its memory. */
function simdOnActiveBackend(): boolean {
  return tf.getBackend() === 'wasm' && simdRunsOver((tf.backend() as unknown as HeapBackend).wasm);
}

/**
 * Per-channel (last axis) sums over every other axis of a float tensor, centred on `mean` [C]:
 * Σ (x − mean)² as [C] or, given `dy` (x's shape), [Σ dy, Σ dy · (x − mean)] as [2, C]. One pass
 * over x (and dy) on every thread, summed in blocks of rows in a fixed order. Returns undefined
 * where it cannot run (a backend other than wasm, or no WebAssembly SIMD): use tf ops there. No
 * gradient: it is meant for custom gradients such as batch norm's.
 *
 * @example
 * const sq = centredChannelSums(x, tf.mean(x, [0, 1, 2])); // [C] sums of squared deviations, or undefined
 */
export function centredChannelSums(x: tf.Tensor, mean: tf.Tensor, dy?: tf.Tensor): tf.Tensor | undefined {
  if (!simdOnActiveBackend() || x.dtype !== 'float32' || x.rank < 2 || mean.size !== x.shape[x.rank - 1] || (dy && !tf.util.arraysEqual(dy.shape, x.shape)))
    return undefined;
  return tf.engine().runKernel(CENTRED_SUMS, dy ? { x, mean, dy } : { x, mean }) as tf.Tensor;
}

/**
 * x · a + b, plus dy · k when given, with a, b, k per channel ([C], the last axis of x): batch
 * norm's normalisation and its input gradient as one pass on every thread. Returns undefined
 * where it cannot run (see {@link centredChannelSums}). No gradient.
 *
 * @example
 * const y = channelAffine(x, scale, shift) ?? tf.add(tf.mul(x, scale), shift);
 */
export function channelAffine(x: tf.Tensor, a: tf.Tensor, b: tf.Tensor, dy?: tf.Tensor, k?: tf.Tensor): tf.Tensor | undefined {
  const c = x.shape[x.rank - 1];
  const perChannel = [a, b, ...(dy ? [k] : [])].every((t) => t?.dtype === 'float32' && t.size === c);
  if (!simdOnActiveBackend() || x.dtype !== 'float32' || x.rank < 1 || !perChannel || (dy && !tf.util.arraysEqual(dy.shape, x.shape))) return undefined;
  return tf.engine().runKernel(CHANNEL_AFFINE, dy ? { x, a, b, dy, k: k! } : { x, a, b }) as tf.Tensor;
}

function noSimd(name: string): Error {
  return new Error(
    `${name}: the SIMD kernels do not run over this wasm backend's memory; call it through centredChannelSums/channelAffine, which check first.`,
  );
}

const centredSumsKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { x, mean, dy } = inputs as { x: tf.TensorInfo; mean: tf.TensorInfo; dy?: tf.TensorInfo };
  const b = backend as unknown as HeapBackend;
  const c = x.shape.at(-1)!;
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const width = dy ? 2 * c : c;
  const blocks = Math.ceil(rows / SUM_BLOCK);
  const partial = b.makeOutput([blocks, width], 'float32');
  const ok = runSimd('column_block_centred_sums', b.wasm, [pointer(b, partial), pointer(b, x), pointer(b, mean), dy ? pointer(b, dy) : 0, rows, c]);
  const out = ok ? viaSimd(b, dy ? [2, c] : [c], 'column_sum', (o) => [o, pointer(b, partial), blocks, width, 1]) : undefined;
  b.disposeData(partial.dataId);
  if (!out) throw noSimd(CENTRED_SUMS);
  return out;
};

const channelAffineKernel: tf.KernelFunc = ({ inputs, backend }) => {
  const { x, a, b: shift, dy, k } = inputs as Record<'x' | 'a' | 'b', tf.TensorInfo> & { dy?: tf.TensorInfo; k?: tf.TensorInfo };
  const b = backend as unknown as HeapBackend;
  const c = x.shape.at(-1)!;
  const rows = c > 0 ? tf.util.sizeFromShape(x.shape) / c : 0;
  const p = (t?: tf.TensorInfo) => (t ? pointer(b, t) : 0);
  const out = viaSimd(b, x.shape, 'channel_affine', (o) => [o, p(x), p(a), p(shift), p(dy), p(k), rows, c]);
  if (!out) throw noSimd(CHANNEL_AFFINE);
  return out;
};

let registered = false;

/** Registers the composed training kernels for the wasm backend (idempotent). */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  const have = new Set(tf.getKernelsForBackend('wasm').map((k) => k.kernelName));
  if (!have.has('Conv2DBackpropFilter')) {
    tf.registerKernel({
      kernelName: 'Conv2DBackpropFilter',
      backendName: 'wasm',
      kernelFunc: conv2DBackpropFilter,
    });
  }
  tf.registerGradient(fusedBatchNormGrad);
  tf.registerGradient(reduceGrad('Sum'));
  tf.registerGradient(reduceGrad('Mean'));
  wrapNative('Tile', makeBroadcastTile);
  wrapNative('Conv2DBackpropInput', makeConv2DBackpropInput);
  wrapNative('MaxPoolGrad', makeMaxPoolGrad);
  for (const [name, op] of Object.entries(BINARY_OPS)) wrapNative(name, (native) => makeBinary(native, op));
  wrapNative('Step', (native) => makeUnary(native, 'step', (attrs) => [attrs.alpha ?? 0]));
  wrapNative('Exp', (native) => makeUnary(native, 'exp_values'));
  wrapNative('Sum', (native) => makeAxesReduce(native, false));
  wrapNative('Mean', (native) => makeAxesReduce(native, true));
  wrapNative('GatherV2', makeRowGather);
  wrapNative('BatchMatMul', (native) => makeContiguousMatMul(native, true));
  wrapNative('_FusedMatMul', (native) => makeContiguousMatMul(native, false));
  wrapNative('Identity', (native) => makeSharingIdentity(native, false));
  wrapNative('Cast', (native) => makeSharingIdentity(native, true));
  tf.registerKernel({ kernelName: CENTRED_SUMS, backendName: 'wasm', kernelFunc: centredSumsKernel });
  tf.registerKernel({ kernelName: CHANNEL_AFFINE, backendName: 'wasm', kernelFunc: channelAffineKernel });
  if (!have.has('UnsortedSegmentSum')) {
    tf.registerKernel({ kernelName: 'UnsortedSegmentSum', backendName: 'wasm', kernelFunc: unsortedSegmentSum });
  }
}
