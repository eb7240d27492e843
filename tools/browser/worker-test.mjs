// Trains in a browser Web Worker with the built @ssl packages, on tfjs's threaded wasm build, in
// headless Chromium (Debian's `chromium`, driven by playwright-core). The packages are bundled
// with esbuild, Node's built-ins mapped to an empty stub (the recipe of docs/guide/demo.md).
// Checks: served cross-origin isolated, 2 threads run (XNNPACK's and our SIMD kernels' helper
// workers) and give the weights 1 thread gives; served
// without isolation, asking for 2 threads runs on 1, with the same weights; no tensor leaks.
// Run after `npm run build`: node tools/browser/worker-test.mjs
// `--bench [--rounds N]` instead times the bench's standard SimCLR step (batches of 256 images,
// 2 × 256 views of 28×28, the default ConvNet, 12 steps) on 1 and 2 threads, N interleaved rounds.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { findChromium } from './chromium.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
if (!existsSync(path.join(root, 'packages/core/dist/index.js'))) {
  console.error('browser worker test: packages are not built; run `npm run build` first.');
  process.exit(1);
}

const out = mkdtempSync(path.join(tmpdir(), 'ssl-browser-'));
process.once('exit', () => rmSync(out, { recursive: true, force: true }));
const builtins = new Set(builtinModules);
await build({
  entryPoints: [path.join(here, 'worker.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  outfile: path.join(out, 'worker.js'),
  logLevel: 'warning',
  plugins: [
    {
      name: 'node-builtins-stub',
      setup(b) {
        b.onResolve({ filter: /^[a-z:_/]+$/ }, (a) => (builtins.has(a.path.replace(/^node:/, '')) ? { path: path.join(here, 'node-stub.cjs') } : undefined));
      },
    },
  ],
});
// tfjs looks for its .wasm files next to the script that loads it.
const wasmDist = path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDist).filter((f) => f.endsWith('.wasm'))) copyFileSync(path.join(wasmDist, f), path.join(out, f));
// The page starts one Web Worker per job and hands back what the worker posts.
writeFileSync(
  path.join(out, 'index.html'),
  `<!doctype html><meta charset="utf-8"><script type="module">
globalThis.runJob = (job) => new Promise((resolve) => {
  const w = new Worker('worker.js', { type: 'module' });
  w.onmessage = (e) => { resolve({ pageIsolated: self.crossOriginIsolated, ...e.data }); w.terminate(); };
  w.onerror = (e) => resolve({ error: 'worker error: ' + e.message });
  w.postMessage(job);
});
</script>`,
);

const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
/** Serves `out`, cross-origin isolated (COOP + COEP headers) or not. */
function serve(isolated) {
  const isolation = isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = createServer((req, res) => {
    const file = path.join(out, new URL(req.url, 'http://x').pathname.replace(/^\/$/, '/index.html'));
    if (!file.startsWith(out) || !existsSync(file)) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream', ...isolation }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

const argv = process.argv.slice(2);
const bench = argv.includes('--bench');
const roundsArg = argv.includes('--rounds') ? argv[argv.indexOf('--rounds') + 1] : '3';
const rounds = Number(roundsArg);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`browser worker test: --rounds ${roundsArg} is not a whole number ≥ 1; e.g. --rounds 3`);
  process.exit(1);
}

const browser = await chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox'] });
/** Runs each job in a fresh Web Worker of a page served with or without isolation. */
async function runJobs(isolated, jobs) {
  const server = await serve(isolated);
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const results = [];
    for (const job of jobs) results.push(await page.evaluate((j) => globalThis.runJob(j), job));
    return results;
  } finally {
    await page.close();
    server.close();
  }
}

try {
  if (bench) await runBench();
  else await runChecks();
} finally {
  await browser.close();
}

async function runBench() {
  const job = (threads) => ({ threads, images: 12 * 256, batchSize: 256 });
  const rows = [];
  for (let r = 0; r < rounds; r++) {
    const [one, two] = await runJobs(true, [job(1), job(2)]);
    for (const x of [one, two]) if (x.error) throw new Error(x.error);
    rows.push({ one: one.imagesPerSec, two: two.imagesPerSec, threads: [one.threads, two.threads] });
    console.log(
      `round ${r + 1}: ${one.imagesPerSec.toFixed(1)} img/s on ${one.threads} thread, ${two.imagesPerSec.toFixed(1)} on ${two.threads}: ${(two.imagesPerSec / one.imagesPerSec).toFixed(2)}×`,
    );
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const one = median(rows.map((r) => r.one));
  const two = median(rows.map((r) => r.two));
  console.log(
    `median of ${rounds}: ${one.toFixed(1)} / ${two.toFixed(1)} img/s (1 / 2 threads), ${(two / one).toFixed(2)}×; per round ${rows.map((r) => (r.two / r.one).toFixed(2) + '×').join(', ')}`,
  );
}

async function runChecks() {
  const small = (threads) => ({ threads, images: 256, batchSize: 64, widths: [16, 32, 64] });
  const [one, two] = await runJobs(true, [small(1), small(2)]);
  const [plain] = await runJobs(false, [small(2)]);
  console.log(JSON.stringify({ one, two, plain }));
  for (const [name, r] of [
    ['isolated, 1 thread', one],
    ['isolated, 2 threads', two],
    ['not isolated, 2 threads asked', plain],
  ]) {
    check(!r.error, `${name}: trains in a Web Worker${r.error ? ` (${r.error.split('\n')[0]})` : ''}`);
  }
  if (failures.length) return;
  check(one.pageIsolated && two.isolated, 'the page and its worker are cross-origin isolated when served with COOP and COEP');
  check(one.backend === 'wasm' && one.threads === 1, `1 thread asked: wasm on 1 thread (got ${one.backend}, ${one.threads})`);
  check(two.backend === 'wasm' && two.threads === 2, `2 threads asked, isolated: wasm on 2 threads (got ${two.backend}, ${two.threads})`);
  check(one.simd === 1 && two.simd === 2, `our SIMD kernels run on the backend's threads: 1 and 2, with a helper Web Worker (got ${one.simd}, ${two.simd})`);
  check(one.steps === 4 && Number.isFinite(one.loss), `4 SimCLR steps with a finite loss (${one.steps}, ${one.loss})`);
  check(two.hash === one.hash && two.loss === one.loss, 'the weights after training are the same on 1 and 2 threads');
  check(!plain.isolated && plain.threads === 1, `not isolated: 2 threads asked runs on 1 (got ${plain.threads})`);
  check(plain.hash === one.hash, 'not isolated: the same weights as the isolated runs');
  check(plain.simd === 1, `not isolated: our SIMD kernels on the one thread (got ${plain.simd})`);
  for (const [name, r] of [
    ['1 thread', one],
    ['2 threads', two],
  ]) {
    check(r.tensorsAfter === r.tensorsBefore, `${name}: no tensors left behind once the returned heads are disposed (${r.tensorsBefore} → ${r.tensorsAfter})`);
  }
}

if (failures.length) {
  console.error(`browser worker test: ${failures.length} check(s) failed`);
  process.exit(1);
}
if (!bench) console.log('browser worker test: all checks passed');
