import * as tf from '@tensorflow/tfjs';
import { SslError } from './errors';
import { installWasmHeapGuard } from './memory';
import { startWasmPool } from './wasm-pool';
import { installLowMemoryGradients } from './tape';
import { registerWasmTrainingKernels } from './wasm-kernels';

/** Backends `@ssl` can run on, fastest first. */
export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

export interface BackendInfo {
  /** The active tfjs backend. */
  name: BackendName;
  /** Why it was chosen: forced by option/env, or the first that initialised. */
  reason: string;
  /** Backends that failed to initialise before it, with their errors. */
  skipped: Array<{ name: BackendName; error: string }>;
  /** Threads the heavy kernels run on (wasm: the worker pool plus this thread; others: 1). */
  threads: number;
}

let current: BackendInfo | undefined;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function tryBackend(name: BackendName): Promise<void> {
  if (name === 'tensorflow') {
    if (!isNode) throw new Error('tfjs-node runs in Node.js only');
    // Optional peer dependency: present → native speed; absent → fall through.
    const { createRequire } = await import('node:module');
    createRequire(import.meta.url)('@tensorflow/tfjs-node');
  }
  if (name === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    registerWasmTrainingKernels();
  }
  installLowMemoryGradients();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') returned false`);
  await tf.ready();
  if (name === 'wasm') {
    const mb = isNode ? Number(process.env.SSL_WASM_HEAP_MB ?? '') : NaN;
    installWasmHeapGuard(Number.isFinite(mb) && mb > 0 ? mb * 2 ** 20 : undefined);
  }
}

/**
 * Picks and initialises the TensorFlow.js backend: `tensorflow` (tfjs-node, when installed)
 * → `wasm` → `cpu`. `SSL_BACKEND` or the `backend` option forces one. Idempotent: later calls
 * return the first choice unless a different backend is forced.
 *
 * On wasm, `threads` (or `SSL_THREADS`; default: every available core) sets how many threads
 * the heavy kernels split their batch over (see wasm-pool.ts); results do not depend on timing.
 *
 * @example
 * const { name } = await initBackend();          // e.g. 'wasm'
 * await initBackend({ backend: 'cpu' });         // force the pure-JS backend
 * await initBackend({ backend: 'wasm', threads: 2 });
 */
export async function initBackend(options: { backend?: string; threads?: number; log?: (line: string) => void } = {}): Promise<BackendInfo> {
  const forced = options.backend ?? (isNode ? process.env.SSL_BACKEND : undefined) ?? undefined;
  if (forced !== undefined && forced !== '' && !(BACKENDS as readonly string[]).includes(forced)) {
    throw new SslError(
      `Unsupported backend "${forced}". Must be one of [${BACKENDS.join(', ')}]. Set --backend or SSL_BACKEND to one of them, or leave it unset to auto-select.`,
    );
  }
  const wanted = await resolveThreads(options.threads);
  const describe = (b: BackendInfo) => `backend: ${b.name} (${b.reason}), ${b.threads} thread${b.threads === 1 ? '' : 's'}`;
  if (current && (!forced || forced === current.name)) {
    if (current.name === 'wasm' && wanted !== current.threads) current = { ...current, threads: await startPool(wanted, options.log) };
    options.log?.(describe(current));
    return current;
  }
  const order: BackendName[] = forced ? [forced as BackendName] : [...BACKENDS];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    try {
      await tryBackend(name);
      const threads = name === 'wasm' ? await startPool(wanted, options.log) : (await startWasmPool(1), 1);
      current = {
        name,
        reason: forced ? 'forced' : skipped.length ? `fallback after ${skipped.map((s) => s.name).join(', ')}` : 'fastest available',
        skipped,
        threads,
      };
      options.log?.(describe(current));
      return current;
    } catch (e) {
      skipped.push({ name, error: e instanceof Error ? e.message.split('\n')[0]! : String(e) });
    }
  }
  const why = skipped.map((s) => `${s.name}: ${s.error}`).join('; ');
  throw new SslError(
    `No TensorFlow.js backend could start (${why}). ${forced ? `Unset SSL_BACKEND/--backend or pick another of [${BACKENDS.join(', ')}].` : 'Reinstall @tensorflow/tfjs and @tensorflow/tfjs-backend-wasm.'}`,
  );
}

/** Starts the wasm pool; if workers cannot start here (no worker_threads, a CJS bundle), runs on one thread. */
async function startPool(threads: number, log?: (line: string) => void): Promise<number> {
  try {
    return await startWasmPool(threads);
  } catch (e) {
    log?.(`wasm thread pool unavailable (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); running on 1 thread`);
    return 1;
  }
}

/** `threads` option → SSL_THREADS → the machine's available cores (1 outside Node.js). */
async function resolveThreads(threads: number | undefined): Promise<number> {
  const env = isNode ? process.env.SSL_THREADS : undefined;
  const raw = threads ?? (env !== undefined && env !== '' ? Number(env) : undefined);
  if (raw !== undefined) {
    if (!Number.isInteger(raw) || raw < 1 || raw > 256) {
      throw new SslError(
        `Invalid thread count ${JSON.stringify(threads ?? env)} (--threads / SSL_THREADS). Must be an integer from 1 to 256, e.g. 2; leave it unset to use every core.`,
      );
    }
    return raw;
  }
  if (!isNode) return 1;
  const os = await import('node:os');
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** The backend chosen by {@link initBackend}, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
