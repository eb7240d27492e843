/**
 * Our own SIMD kernels over the wasm heap, and the helper threads that share their work.
 *
 * XNNPACK parallelises tfjs's products, but some of a training step stays on one thread in tfjs:
 * element loops (the per-channel broadcasts of batch norm), the max-pool gradient, the column
 * sums of batch-norm statistics. `simd/kernels.c` implements those in WebAssembly SIMD as a small
 * module that imports the backend's own memory, so it reads and writes tensors where they lie.
 * With the threaded build that memory is shared, and helper threads (Node.js worker_threads, or
 * Web Workers when training runs in a cross-origin isolated Web Worker) instantiate the same
 * module over it: `runSimd` cuts a kernel's work into chunks (8 per thread), which this
 * thread and the helpers claim one at a time until none is left (a thread slowed by a busy core
 * leaves its share to the others), and returns when all are done (synchronously, as tfjs kernels
 * are). Each chunk writes a disjoint range of the output in an order that does not depend on the
 * number of chunks, so results are identical on any thread count. On one thread (or on a page's
 * main thread, which may not wait) the chunks run one after the other on the calling thread.
 */
import { SIMD_PLAIN_WASM, SIMD_SHARED_WASM } from './simd/kernels-wasm';

/** The kernels of `simd/kernels.c`, by export name. */
const KERNELS = [
  'maxpool_grad_2x2',
  'channel_binary',
  'same_binary',
  'step',
  'column_block_sums',
  'column_sum',
  'middle_sum',
  'conv_filter_grad',
  'fill_rows',
  'column_block_centred_sums',
  'channel_affine',
  'exp_values',
] as const;
export type SimdKernel = (typeof KERNELS)[number];

const ARGS = 24;
// Control block (Int32): job sequence (−1: stop), kernel, argument count, chunks, next chunk to
// claim (tagged with the job: (sequence mod 2^15) · 2^16 + index), chunks done, failures.
const SEQ = 0;
const KERNEL = 1;
const NARGS = 2;
const CHUNKS = 3;
const NEXT = 4;
const DONE = 5;
const FAILED = 6;
/** Chunks per thread: a thread that falls behind (a busy core) leaves its share to the others. */
const CHUNKS_PER_THREAD = 8;
const ARGS_BYTE_OFFSET = 64;
/** A helper that has not answered in this long is taken for dead. */
const WAIT_MS = 120_000;

type Fn = (...args: number[]) => void;

interface Simd {
  owner: object;
  fns: Map<SimdKernel, Fn>;
  helpers?: { count: number; control: Int32Array; args: Float64Array; stop(): void };
}

let simd: Simd | undefined;

/**
 * Claims the next chunk of job `seq` (the tag in slot `next` must match), or returns −1 when the
 * job has no chunk left or is no longer the current one. Self-contained: the helpers get its source.
 */
function claim(ctl: Int32Array, seq: number, next: number, chunks: number): number {
  const tag = (seq & 0x7fff) << 16;
  for (;;) {
    const v = Atomics.load(ctl, next);
    if ((v & ~0xffff) !== tag || (v & 0xffff) >= Atomics.load(ctl, chunks)) return -1;
    if (Atomics.compareExchange(ctl, next, v, v + 1) === v) return v & 0xffff;
  }
}

/**
 * The helpers' loop: instantiate the shared module, say so, then wait for a job and run the chunks
 * it can claim, counting each one done. A job's parameters are read after a claim: the job cannot
 * change before the claimed chunk is counted. Returns when told to stop.
 */
const HELPER_LOOP = `
function run({ module, memory, control, names }, ready) {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const fns = names.map((n) => exports[n]);
  const ctl = new Int32Array(control);
  const args = new Float64Array(control, ${ARGS_BYTE_OFFSET}, ${ARGS});
  const claim = ${claim.toString()};
  ready();
  let seen = 0;
  for (;;) {
    Atomics.wait(ctl, ${SEQ}, seen);
    seen = Atomics.load(ctl, ${SEQ});
    if (seen < 0) return;
    for (let c = claim(ctl, seen, ${NEXT}, ${CHUNKS}); c >= 0; c = claim(ctl, seen, ${NEXT}, ${CHUNKS})) {
      try {
        fns[ctl[${KERNEL}]](...args.subarray(0, ctl[${NARGS}]), c, ctl[${CHUNKS}]);
      } catch (e) {
        Atomics.add(ctl, ${FAILED}, 1);
      }
      if (Atomics.add(ctl, ${DONE}, 1) + 1 === ctl[${CHUNKS}]) Atomics.notify(ctl, ${DONE});
    }
  }
}
`;
/** A Node.js worker_threads helper: its job comes as workerData. */
const NODE_HELPER = `${HELPER_LOOP}\nrun(require('node:worker_threads').workerData, () => {});`;
/** A browser Web Worker helper: its job comes as the first message; it answers 'ready' or why not. */
const WEB_HELPER = `${HELPER_LOOP}
self.onmessage = (e) => {
  try {
    run(e.data, () => self.postMessage('ready'));
  } catch (err) {
    self.postMessage(String(err && err.message ? err.message : err));
  }
  self.close();
};`;
/** How long a browser helper may take to start before the kernels run on the calling thread. */
const WEB_START_MS = 20_000;

type Job = { module: WebAssembly.Module; memory: WebAssembly.Memory; control: SharedArrayBuffer; names: readonly string[] };

/** Starts `count` helpers in Node.js (worker_threads); rejects if one cannot start. */
async function startNodeHelpers(count: number, job: Job): Promise<void> {
  const { Worker } = await import('node:worker_threads');
  const workers = Array.from({ length: count }, () => new Worker(NODE_HELPER, { eval: true, workerData: job }));
  await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => (w.once('online', resolve), w.once('error', reject)))));
  // A helper that dies later claims no more chunks: the others (this thread included) do them.
  for (const w of workers) {
    w.on('error', () => undefined);
    w.unref();
  }
}

/** Starts `count` helpers as Web Workers (from a Blob URL); rejects if one cannot start. */
async function startWebHelpers(count: number, job: Job): Promise<void> {
  const url = URL.createObjectURL(new Blob([WEB_HELPER], { type: 'text/javascript' }));
  const workers: Worker[] = [];
  try {
    for (let i = 0; i < count; i++) workers.push(new Worker(url));
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`a helper did not start in ${WEB_START_MS / 1000} s`)), WEB_START_MS);
            w.onmessage = (e: MessageEvent) => (clearTimeout(timer), e.data === 'ready' ? resolve() : reject(new Error(String(e.data))));
            w.onerror = (e: ErrorEvent) => (
              clearTimeout(timer),
              reject(new Error(e.message || 'a helper failed to load (a Content-Security-Policy without worker-src blob:?)'))
            );
            w.postMessage(job);
          }),
      ),
    );
  } catch (e) {
    for (const w of workers) w.terminate();
    throw e;
  } finally {
    URL.revokeObjectURL(url);
  }
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/**
 * Instantiates the SIMD kernels over the wasm backend's `memory` (`owner`: the backend's emscripten
 * module, which kernels name when they run) and, with a shared memory and `threads` > 1, in Node.js
 * or a Web Worker, starts `threads − 1` helper threads. Replaces an earlier start. Where it cannot start (no
 * WebAssembly SIMD), kernels fall back to tfjs's.
 */
export async function startSimdKernels(owner: object, memory: WebAssembly.Memory, threads: number, log?: (line: string) => void): Promise<void> {
  stopSimdKernels();
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  let module: WebAssembly.Module;
  let instance: WebAssembly.Instance;
  try {
    module = await WebAssembly.compile(decode(shared ? SIMD_SHARED_WASM : SIMD_PLAIN_WASM));
    instance = await WebAssembly.instantiate(module, { env: { memory } });
  } catch (e) {
    log?.(`SIMD training kernels unavailable (${e instanceof Error ? e.message : String(e)}); using tfjs's`);
    return;
  }
  const fns = new Map(KERNELS.map((k) => [k, instance.exports[k] as Fn]));
  const count = Math.floor(threads) - 1;
  const isNode = typeof process !== 'undefined' && !!process.versions?.node;
  // The calling thread waits with Atomics.wait, which a page's main thread may not do: helpers
  // run for Node.js and for Web Workers only.
  const inWebWorker = !isNode && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined' && typeof Worker !== 'undefined';
  if (!shared || count < 1 || !(isNode || inWebWorker)) {
    simd = { owner, fns };
    return;
  }
  const control = new SharedArrayBuffer(ARGS_BYTE_OFFSET + ARGS * 8);
  try {
    const job = { module, memory, control, names: KERNELS };
    await (isNode ? startNodeHelpers(count, job) : startWebHelpers(count, job));
  } catch (e) {
    log?.(`SIMD helper threads unavailable (${e instanceof Error ? e.message : String(e)}); its kernels run on this thread`);
    simd = { owner, fns };
    return;
  }
  const ctl = new Int32Array(control);
  simd = {
    owner,
    fns,
    helpers: {
      count,
      control: ctl,
      args: new Float64Array(control, ARGS_BYTE_OFFSET, ARGS),
      stop: () => {
        Atomics.store(ctl, SEQ, -1);
        Atomics.notify(ctl, SEQ);
      },
    },
  };
}

/** Stops the helper threads and forgets the kernels (tfjs's run instead). */
export function stopSimdKernels(): void {
  simd?.helpers?.stop();
  simd = undefined;
}

/** Whether the SIMD kernels run over the memory of `owner` (a wasm backend's emscripten module). */
export function simdRunsOver(owner: object | undefined): boolean {
  return !!simd && simd.owner === owner;
}

/** Threads the SIMD kernels split their work over (this one included); 0 when they are not running. */
export function simdThreads(): number {
  return simd ? (simd.helpers?.count ?? 0) + 1 : 0;
}

/**
 * Runs `kernel` with `args` (byte offsets into the heap, sizes, …) over every thread of the pool,
 * this one included, in `chunks` parts (default: 8 per thread, or one part on one thread; a kernel
 * whose parts must be a multiple of something names its count). Returns false, doing nothing,
 * when the kernels do not run over the memory of `owner` (the emscripten module of the caller's
 * backend): the caller then uses tfjs's kernels.
 */
export function runSimd(kernel: SimdKernel, owner: object | undefined, args: number[], chunks?: number): boolean {
  const s = simd;
  if (!s || s.owner !== owner) return false;
  const fn = s.fns.get(kernel)!;
  const h = s.helpers;
  if (!h) {
    for (let c = 0; c < (chunks ?? 1); c++) fn(...args, c, chunks ?? 1);
    return true;
  }
  if (args.length > ARGS) throw new Error(`runSimd: ${args.length} arguments, at most ${ARGS}.`);
  const ctl = h.control;
  chunks ??= CHUNKS_PER_THREAD * (h.count + 1);
  const seq = (Atomics.load(ctl, SEQ) + 1) & 0x3fffffff;
  h.args.set(args);
  Atomics.store(ctl, DONE, 0);
  Atomics.store(ctl, FAILED, 0);
  Atomics.store(ctl, KERNEL, KERNELS.indexOf(kernel));
  Atomics.store(ctl, NARGS, args.length);
  Atomics.store(ctl, CHUNKS, chunks);
  Atomics.store(ctl, NEXT, (seq & 0x7fff) << 16);
  Atomics.store(ctl, SEQ, seq);
  Atomics.notify(ctl, SEQ);
  let error: unknown;
  for (let c = claim(ctl, seq, NEXT, CHUNKS); c >= 0; c = claim(ctl, seq, NEXT, CHUNKS)) {
    try {
      fn(...args, c, chunks);
    } catch (e) {
      error ??= e;
    }
    Atomics.add(ctl, DONE, 1);
  }
  for (let done = Atomics.load(ctl, DONE); done < chunks; done = Atomics.load(ctl, DONE)) {
    if (Atomics.wait(ctl, DONE, done, WAIT_MS) === 'timed-out' && Atomics.load(ctl, DONE) === done) {
      stopSimdKernels();
      throw new Error(`wasm helper threads did not answer in ${WAIT_MS / 1000} s and are stopped; run with --threads 1 if this repeats.`);
    }
  }
  if (error) throw error;
  if (Atomics.load(ctl, FAILED) > 0) throw new Error(`a wasm helper thread failed in ${kernel}; rerun with --threads 1 to see the error.`);
  return true;
}
