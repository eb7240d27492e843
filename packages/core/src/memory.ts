import * as tf from '@tensorflow/tfjs';
import { SslError } from './errors';

/**
 * Running out of the wasm heap, as one clear line instead of `Aborted()`.
 *
 * The wasm backend allocates every tensor through the module's `_malloc`. When the heap cannot
 * grow (32-bit WebAssembly stops at 4 GiB; a browser tab may stop sooner), `_malloc` returns 0 and
 * the kernel then writes through a null pointer or XNNPACK aborts the whole module. The guard
 * installed here throws {@link WasmHeapExhaustedError} at that allocation instead, before anything
 * is written, and {@link withMemoryGuard} turns it (or an abort that still gets through, e.g. an
 * allocation inside XNNPACK) into an {@link SslError} naming the batch, the encoder and the input.
 */

/** The wasm heap could not provide an allocation. */
export class WasmHeapExhaustedError extends Error {
  override readonly name = 'WasmHeapExhaustedError';
  constructor(
    /** Bytes requested. */
    readonly bytes: number,
    /** Bytes held by live tensors when it failed. */
    readonly liveBytes: number,
    /** The limit that was hit: the heap maximum, or the soft limit when one is set. */
    readonly limitBytes: number,
  ) {
    super(
      `wasm heap exhausted: ${(bytes / 2 ** 20).toFixed(0)} MB requested with ${(liveBytes / 2 ** 20).toFixed(0)} MB of tensors live (limit ${(limitBytes / 2 ** 30).toFixed(2)} GiB)`,
    );
  }
}

/** The part of an emscripten module the guard wraps. */
export interface WasmModule {
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
}

/** 32-bit WebAssembly's ceiling, as tfjs's emscripten build sets it (65536 bytes short of 4 GiB). */
export const WASM_HEAP_MAX_BYTES = 4294901760;

const guard = { installed: false, live: 0, peak: 0, limit: WASM_HEAP_MAX_BYTES, sizes: new Map<number, number>() };

/**
 * Replaces `module`'s `_malloc`/`_free` with counting versions. @internal (exported for tests)
 *
 * Emscripten's `_malloc` returns a signed 32-bit pointer, negative above 2 GiB, while tfjs frees
 * the unsigned value (`ptr >>> 0`); both are keyed unsigned here, or every tensor above 2 GiB would
 * stay counted as live after it is freed and the guard would refuse allocations the heap can make.
 */
export function wrapAllocator(module: WasmModule): void {
  const malloc = module._malloc.bind(module);
  const free = module._free.bind(module);
  module._malloc = (n: number) => {
    if (guard.live + n > guard.limit) throw new WasmHeapExhaustedError(n, guard.live, guard.limit);
    const p = malloc(n);
    if (p === 0 && n > 0) throw new WasmHeapExhaustedError(n, guard.live, guard.limit);
    guard.sizes.set(p >>> 0, n);
    guard.live += n;
    if (guard.live > guard.peak) guard.peak = guard.live;
    return p;
  };
  module._free = (p: number) => {
    const key = p >>> 0;
    guard.live -= guard.sizes.get(key) ?? 0;
    guard.sizes.delete(key);
    free(p);
  };
}

/**
 * Wraps the wasm backend's allocator: a failed allocation throws {@link WasmHeapExhaustedError},
 * and live/peak tensor bytes are tracked. `limitBytes` (e.g. from `SSL_WASM_HEAP_MB`) sets a
 * lower, soft ceiling. Idempotent; call after the wasm backend is active.
 *
 * @example
 * await tf.setBackend('wasm'); installWasmHeapGuard();
 */
export function installWasmHeapGuard(limitBytes?: number): void {
  if (limitBytes !== undefined) guard.limit = Math.min(limitBytes, WASM_HEAP_MAX_BYTES);
  if (guard.installed || tf.getBackend() !== 'wasm') return;
  const wasm = (tf.backend() as unknown as { wasm: WasmModule }).wasm;
  // Emscripten's exports start as stubs that replace themselves on the first call: call once
  // first, so that the functions wrapped below are the final ones.
  wasm._free(wasm._malloc(8));
  wrapAllocator(wasm);
  guard.installed = true;
}

/**
 * Tensor bytes on the wasm heap: live now, the peak since the last reset, and the heap's size.
 *
 * @example
 * resetWasmHeapPeak(); step(); console.log(wasmHeapStats().peakBytes);
 */
export function wasmHeapStats(): { liveBytes: number; peakBytes: number; heapBytes: number; limitBytes: number } {
  const wasm = tf.getBackend() === 'wasm' ? (tf.backend() as unknown as { wasm: WasmModule }).wasm : undefined;
  return { liveBytes: guard.live, peakBytes: guard.peak, heapBytes: wasm?.HEAPU8.buffer.byteLength ?? 0, limitBytes: guard.limit };
}

/** Starts a new peak measurement for {@link wasmHeapStats}. */
export function resetWasmHeapPeak(): void {
  guard.peak = guard.live;
}

/** Whether an error means the wasm heap ran out (our guard, an emscripten abort, a failed grow). */
export function isOutOfMemory(e: unknown): boolean {
  if (e instanceof WasmHeapExhaustedError) return true;
  const msg = e instanceof Error ? e.message : String(e);
  return /^Aborted\(|Array buffer allocation failed|out of memory|WebAssembly\.Memory\.grow|memory access out of bounds/i.test(msg);
}

/** What a training step was doing, for the out-of-memory message. */
export interface StepDescription {
  /** Examples per step. */
  batchSize: number;
  /** Encoder name, e.g. 'resnet18'. */
  encoder: string;
  /** Shape of one input example. */
  inputShape: readonly number[];
}

/**
 * Runs `f`; if the wasm heap runs out, throws one line naming the batch, encoder and input and
 * proposing what fits (half the batch, or a narrower encoder).
 *
 * @example
 * const out = withMemoryGuard(() => tf.tidy(step), { batchSize: 256, encoder: 'resnet18', inputShape: [96, 96, 3] });
 */
export function withMemoryGuard<T>(f: () => T, step: StepDescription): T {
  try {
    return f();
  } catch (e) {
    if (!isOutOfMemory(e)) throw e;
    throw outOfMemoryError(e, step);
  }
}

/** The one-line {@link SslError} for an out-of-memory failure of a training step. */
export function outOfMemoryError(e: unknown, { batchSize, encoder, inputShape }: StepDescription): SslError {
  const limit =
    guard.limit >= WASM_HEAP_MAX_BYTES
      ? 'the 4 GiB wasm heap (the ceiling of 32-bit WebAssembly)'
      : `the ${(guard.limit / 2 ** 20).toFixed(0)} MB heap limit (SSL_WASM_HEAP_MB)`;
  const half = Math.max(1, Math.floor(batchSize / 2));
  const aborted = !(e instanceof WasmHeapExhaustedError);
  return new SslError(
    `Out of memory: a training step of batch size ${batchSize} with encoder ${encoder} on ${inputShape.join('×')} inputs does not fit in ${limit}. ` +
      `Use --batch-size ${half} or less, or a narrower encoder (--set encoder.width=0.5), or smaller images.${aborted ? ' (The wasm module aborted; restart the process.)' : ''}`,
    { exitCode: 4, cause: e },
  );
}
