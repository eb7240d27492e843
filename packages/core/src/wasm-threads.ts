/**
 * Threads for the wasm backend: tfjs's own multi-threaded XNNPACK build, in Node.js too.
 *
 * tfjs-backend-wasm ships a build (`tfjs-backend-wasm-threaded-simd.wasm`) whose XNNPACK kernels
 * (convolutions, which also carry our convolution gradients, matrix products, pooling, most
 * element-wise ops) split their output over a pthreads pool that shares the one wasm heap: no
 * tensor is copied, and every output element is computed by the same code whatever the thread
 * count, so results do not depend on it. Browsers get it when the page is cross-origin isolated
 * (served with `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy:
 * require-corp`), but tfjs caps the pool at half of `navigator.hardwareConcurrency`: while the
 * backend starts, this module reports twice the threads asked for, as in Node.js.
 * Node.js never gets it, for three reasons this module works around, only while the backend
 * initialises, restoring everything after:
 * - its feature flag `WASM_HAS_MULTITHREAD_SUPPORT` answers false for Node without testing;
 * - it hands emscripten its worker and main scripts as Blob URLs, which Node's worker_threads
 *   cannot load: the scripts are written to a temporary folder instead (removed at exit);
 * - it caps the pool at half of `os.cpus().length` (read once, at start-up): the count is
 *   reported as twice the threads asked for while the module starts.
 * The pool size is fixed when the backend starts: emscripten preloads 8 workers, so at most 8.
 * Once the backend runs, our own SIMD kernels (wasm-pool.ts) start over its memory, with as many
 * threads.
 */
import * as tf from '@tensorflow/tfjs';
import { startSimdKernels } from './wasm-pool';

/** tfjs's prebuilt pthreads pool: the most threads its XNNPACK pool can have. */
export const WASM_MAX_THREADS = 8;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

interface PThreadWorker {
  unref?(): void;
}
interface ThreadedModule {
  PThread?: { runningWorkers: PThreadWorker[]; unusedWorkers: PThreadWorker[] };
  locateFile?: (path: string, prefix: string) => string;
  tfjs: { getThreadsCount(): number };
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

/** The running wasm backend's emscripten module, when the wasm backend is initialised. */
function wasmModule(): ThreadedModule | undefined {
  const registry = (tf.engine() as unknown as { registry: Record<string, { wasm?: ThreadedModule }> }).registry;
  return registry['wasm']?.wasm;
}

/** Threads of the running wasm backend's XNNPACK pool (1 before it starts or without threads). */
export function wasmThreads(): number {
  const n = wasmModule()?.tfjs.getThreadsCount() ?? 1;
  return n > 0 ? n : 1;
}

/**
 * Initialises the wasm backend with `threads` XNNPACK threads (this thread included; at most
 * {@link WASM_MAX_THREADS}). A no-op when the wasm backend already runs (its pool is fixed then).
 * In a browser the threaded build starts only where the context is cross-origin isolated; elsewhere,
 * and wherever the threaded build cannot start, the backend runs on one thread.
 * Returns the threads the backend runs with.
 *
 * @example
 * await startWasmThreads(2); // then tf.setBackend('wasm') is already done, on two threads
 */
export async function startWasmThreads(threads: number, log?: (line: string) => void): Promise<number> {
  if (wasmModule()) return wasmThreads();
  await startBackend(threads, log);
  // Our SIMD kernels run over the backend's memory, on as many threads as XNNPACK's pool.
  const mod = wasmModule();
  const memory = mod?.wasmMemory ?? mod?.asm?.memory;
  if (mod && memory) await startSimdKernels(mod, memory, wasmThreads(), log);
  return wasmThreads();
}

async function startBackend(threads: number, log?: (line: string) => void): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const n = Math.max(1, Math.min(WASM_MAX_THREADS, Math.floor(threads)));
  wasm.setThreadsCount(n);
  if (n === 1) return useWasm();
  if (!isNode) return initThreadedInBrowser(n);
  try {
    await initThreadedInNode(n);
  } catch (e) {
    log?.(`wasm threads unavailable (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); running on 1 thread`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    wasm.setThreadsCount(1);
    await useWasm();
  }
}

async function useWasm(): Promise<void> {
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false");
}

/**
 * Browsers and Web Workers: tfjs starts its threaded build by itself where the context is
 * cross-origin isolated (else it runs on one thread); only its cap of half the logical cores,
 * read from `navigator.hardwareConcurrency` while the backend starts, is lifted here.
 */
async function initThreadedInBrowser(threads: number): Promise<void> {
  const nav = (globalThis as { navigator?: object }).navigator;
  const shadowed = !!nav && !Object.prototype.hasOwnProperty.call(nav, 'hardwareConcurrency');
  if (shadowed) Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * threads, configurable: true });
  try {
    await useWasm();
  } finally {
    if (shadowed) delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

/** Names the tfjs Node bundle gives its `require`s; its factory's source refers to them. */
const BUNDLE_PRELUDE =
  "var require$$0=require('fs'),require$$1=require('path'),require$$2=require('url'),require$$3=require('perf_hooks'),require$$4=require('os'),commonjsGlobal=globalThis;\n";
/** In a pthread worker: the main script arrives as a cloned stand-in Blob that holds its path. */
const WORKER_PRELUDE = 'URL.createObjectURL=(b)=>b.__sslPath;URL.revokeObjectURL=()=>{};\n';

async function initThreadedInNode(threads: number): Promise<void> {
  const [fs, path, os, { createRequire }] = await Promise.all([import('node:fs'), import('node:path'), import('node:os'), import('node:module')]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-wasm-'));
  process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  let workerScript = '';
  let k = 0;
  // tfjs builds its two scripts as `new Blob([text])` and passes them through URL.createObjectURL.
  class FileBlob {
    readonly __sslPath: string;
    constructor(parts: unknown[]) {
      const text = parts.map(String).join('');
      const main = text.startsWith('var WasmBackendModuleThreadedSimd');
      this.__sslPath = path.join(dir, `${main ? 'main' : 'worker'}-${k++}.js`);
      fs.writeFileSync(this.__sslPath, (main ? BUNDLE_PRELUDE : WORKER_PRELUDE) + text);
      if (!main) workerScript = this.__sslPath;
    }
  }
  const g = globalThis as unknown as { Blob: unknown };
  const realBlob = g.Blob;
  const realCreate = URL.createObjectURL;
  const osModule = createRequire(import.meta.url)('os') as { cpus: () => unknown[] };
  const realCpus = osModule.cpus;
  g.Blob = FileBlob;
  URL.createObjectURL = (b: unknown) => (b as FileBlob).__sslPath ?? realCreate(b as Blob);
  osModule.cpus = () => Array.from({ length: 2 * threads }, () => realCpus()[0]);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  try {
    await useWasm();
  } finally {
    g.Blob = realBlob;
    URL.createObjectURL = realCreate;
    osModule.cpus = realCpus;
  }
  const mod = wasmModule();
  if (!mod?.PThread) throw new Error('the threaded wasm build did not start');
  // Workers emscripten may start later load the same worker script.
  const locate = mod.locateFile;
  mod.locateFile = (p, prefix) => (p.endsWith('.worker.js') && workerScript ? workerScript : (locate?.(p, prefix) ?? prefix + p));
  // Idle pool threads must not keep the process alive.
  for (const w of [...mod.PThread.runningWorkers, ...mod.PThread.unusedWorkers]) w.unref?.();
}
