/**
 * A pool of worker threads for the heavy wasm kernels (convolutions and their gradients).
 *
 * tfjs's wasm backend runs on one thread in Node. Each worker here loads its own tfjs wasm
 * (XNNPACK) instance (packages/core/worker/wasm-worker.mjs). A pooled kernel splits its batch
 * into one chunk per thread (sizes depend only on the batch and the thread count), runs chunk 0
 * on the calling thread and the others in the workers, and joins the results: concatenated
 * along the batch (forward convolution, input gradient: every output element is computed by
 * one thread with the same code, so results do not depend on the thread count), or summed in
 * chunk order (filter gradient: deterministic for a given thread count). The model, its batch
 * norm statistics and its loss see the whole batch: only the kernels are split.
 *
 * Jobs are synchronous, as tfjs kernels must be: the calling thread posts a job on a
 * MessagePort, wakes the worker through Atomics, computes its own chunk and blocks on Atomics
 * until the workers are done. Tensors travel in SharedArrayBuffers. Node.js only (a browser
 * would need cross-origin isolation for SharedArrayBuffer and Atomics.wait off the main thread).
 */

/** One input of a job: a shape and its float32 values. */
export interface PoolTensor {
  shape: number[];
  data: Float32Array;
}

/** One chunk of a kernel's work. */
export interface PoolJob {
  /** Registered wasm kernel name, e.g. 'Conv2D'. */
  kernel: string;
  inputs: Record<string, PoolTensor>;
  attrs: Record<string, unknown>;
  /** Number of float32 values the kernel returns. */
  outSize: number;
}

interface WorkerSlot {
  worker: { terminate(): Promise<number>; unref(): void };
  port: { postMessage(m: unknown): void; close(): void };
  ctrl: Int32Array;
  seq: number;
}

type ReceiveFn = (port: unknown) => { message: unknown } | undefined;

/** The running pool, or undefined for one thread. */
let pool: WasmPool | undefined;

class WasmPool {
  /** Set while a job runs: kernels called from inside one (composed kernels) stay on their thread. */
  busy = false;
  /** Jobs run so far (all threads): lets tests check that kernels really went through the pool. */
  jobs = 0;
  constructor(
    readonly threads: number,
    private readonly slots: WorkerSlot[],
    private readonly receive: ReceiveFn,
  ) {}

  /**
   * Runs `jobs[0]` with `local` on this thread and the rest in workers; returns each job's output
   * in job order. Throws if a worker's kernel failed.
   */
  run(jobs: PoolJob[], local: (job: PoolJob) => Float32Array): Float32Array[] {
    if (jobs.length - 1 > this.slots.length) throw new Error(`wasm pool: ${jobs.length} jobs for ${this.slots.length + 1} threads`);
    this.busy = true;
    this.jobs += jobs.length;
    try {
      return this.runJobs(jobs, local);
    } finally {
      this.busy = false;
    }
  }

  private runJobs(jobs: PoolJob[], local: (job: PoolJob) => Float32Array): Float32Array[] {
    const outs: Float32Array[] = [];
    const posted: Array<{ slot: WorkerSlot; out: Float32Array }> = [];
    for (let j = 1; j < jobs.length; j++) {
      const job = jobs[j]!;
      const slot = this.slots[j - 1]!;
      const total = Object.values(job.inputs).reduce((s, t) => s + t.data.length, 0) + job.outSize;
      const buffer = new SharedArrayBuffer(total * 4);
      let offset = 0;
      const inputs: Record<string, { buffer: SharedArrayBuffer; offset: number; size: number; shape: number[] }> = {};
      for (const [name, t] of Object.entries(job.inputs)) {
        new Float32Array(buffer, offset * 4, t.data.length).set(t.data);
        inputs[name] = { buffer, offset: offset * 4, size: t.data.length, shape: t.shape };
        offset += t.data.length;
      }
      const out = new Float32Array(buffer, offset * 4, job.outSize);
      slot.port.postMessage({ kernel: job.kernel, inputs, attrs: job.attrs, out: { buffer, offset: offset * 4, size: job.outSize } });
      slot.seq++;
      Atomics.store(slot.ctrl, 0, slot.seq);
      Atomics.notify(slot.ctrl, 0);
      posted.push({ slot, out });
    }
    outs.push(local(jobs[0]!));
    let failure: string | undefined;
    for (const { slot, out } of posted) {
      for (;;) {
        const done = Atomics.load(slot.ctrl, 1);
        if (done === slot.seq) break;
        Atomics.wait(slot.ctrl, 1, done);
      }
      if (Atomics.load(slot.ctrl, 2) !== 0) failure ??= String(this.receive(slot.port)?.message ?? 'unknown error');
      outs.push(out);
    }
    if (failure) throw new Error(`wasm pool worker failed: ${failure}`);
    return outs;
  }

  async close(): Promise<void> {
    for (const s of this.slots) {
      Atomics.store(s.ctrl, 0, -1);
      Atomics.notify(s.ctrl, 0);
      s.port.close();
      await s.worker.terminate();
    }
  }
}

/** The active pool, if more than one thread was asked for and it is not inside a job. */
export function wasmPool(): WasmPool | undefined {
  return pool && !pool.busy ? pool : undefined;
}

/**
 * Starts (or resizes) the pool to `threads` threads in all, this one included: `threads - 1`
 * workers, each with its own wasm instance. `threads <= 1` stops it. Node.js only.
 *
 * @example
 * await startWasmPool(2); // conv kernels now split their batch over two threads
 */
export async function startWasmPool(threads: number): Promise<number> {
  if (pool?.threads === threads) return threads;
  if (pool) {
    const old = pool;
    pool = undefined;
    await old.close();
  }
  if (threads <= 1) return 1;
  const { Worker, MessageChannel, receiveMessageOnPort } = await import('node:worker_threads');
  // A variable, not a literal: bundlers would otherwise try to bundle the worker for browsers.
  const workerFile = '../worker/wasm-worker.mjs';
  const url = new URL(workerFile, import.meta.url);
  const slots: WorkerSlot[] = [];
  for (let i = 0; i < threads - 1; i++) {
    const { port1, port2 } = new MessageChannel();
    const control = new SharedArrayBuffer(12);
    const ctrl = new Int32Array(control);
    const worker = new Worker(url, { workerData: { port: port2, control }, transferList: [port2] });
    worker.unref();
    slots.push({ worker, port: port1, ctrl, seq: 0 });
  }
  // Wait until every worker has its wasm instance (it sets done = -1), or fails to start.
  await Promise.all(
    slots.map(
      (s) =>
        new Promise<void>((resolve, reject) => {
          const w = s.worker as unknown as { once(ev: string, f: (e: unknown) => void): void; off?(ev: string, f: (e: unknown) => void): void };
          w.once('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
          const poll = () => (Atomics.load(s.ctrl, 1) === -1 ? resolve() : setTimeout(poll, 5));
          poll();
        }),
    ),
  );
  for (const s of slots) Atomics.store(s.ctrl, 1, 0);
  pool = new WasmPool(threads, slots, receiveMessageOnPort as unknown as ReceiveFn);
  return threads;
}

/** Threads of the running pool (1 when none) and the chunk jobs it has run. */
export function wasmPoolStats(): { threads: number; jobs: number } {
  return { threads: pool?.threads ?? 1, jobs: pool?.jobs ?? 0 };
}

/** Chunk sizes of a batch of `n` over `parts` threads: as equal as possible, larger first. */
export function splitSizes(n: number, parts: number): number[] {
  const k = Math.max(1, Math.min(parts, n));
  return Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
}
