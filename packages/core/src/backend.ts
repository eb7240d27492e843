import * as tf from '@tensorflow/tfjs';
import { SslError } from './errors';
import { installWasmHeapGuard } from './memory';
import { startWasmThreads, wasmThreads } from './wasm-threads';
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
  /** Threads the kernels run on (wasm: XNNPACK's pool, this thread included; others: 1). */
  threads: number;
}

let current: BackendInfo | undefined;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function tryBackend(name: BackendName, threads: number, log?: (line: string) => void): Promise<void> {
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
  if (name === 'wasm') await startWasmThreads(threads, log);
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
 * On wasm, `threads` (or `SSL_THREADS`; default: every available core, at most 8) sets how many
 * threads XNNPACK's kernels split their work over (see wasm-threads.ts); results depend neither on
 * timing nor on the thread count. The count is fixed when the wasm backend first starts.
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
    if (current.name === 'wasm' && wanted !== current.threads && options.threads !== undefined) {
      options.log?.(
        `wasm keeps ${current.threads} thread${current.threads === 1 ? '' : 's'}: its thread pool is fixed when the backend starts (set SSL_THREADS before the first run)`,
      );
    }
    options.log?.(describe(current));
    return current;
  }
  const order: BackendName[] = forced ? [forced as BackendName] : [...BACKENDS];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of order) {
    try {
      await tryBackend(name, wanted, options.log);
      const threads = name === 'wasm' ? wasmThreads() : 1;
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

/**
 * `threads` option → SSL_THREADS → the machine's available cores. In a browser: its logical cores
 * where the page (or worker) is cross-origin isolated, which threads need, else 1.
 */
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
  if (!isNode) {
    const g = globalThis as { crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
    return g.crossOriginIsolated ? Math.max(1, g.navigator?.hardwareConcurrency ?? 1) : 1;
  }
  const os = await import('node:os');
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** The backend chosen by {@link initBackend}, if any. */
export function currentBackend(): BackendInfo | undefined {
  return current;
}
