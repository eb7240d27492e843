// Trains in a browser Web Worker with the built @ssl packages, on tfjs's threaded wasm build, in
// headless Chromium (Debian's `chromium`, driven by playwright-core). The packages are bundled
// with esbuild, Node's built-ins mapped to an empty stub (the recipe docs/guide/browser.md gives).
// Checks: served cross-origin isolated, 2 threads run and give the weights 1 thread gives; served
// without isolation, asking for 2 threads runs on 1, with the same weights; no tensor leaks.
// Run after `npm run build`: node tools/browser/worker-test.mjs
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
writeFileSync(
  path.join(out, 'index.html'),
  `<!doctype html><meta charset="utf-8"><script type="module">
const run = (threads) => new Promise((resolve) => {
  const w = new Worker('worker.js', { type: 'module' });
  w.onmessage = (e) => { resolve(e.data); w.terminate(); };
  w.onerror = (e) => resolve({ error: 'worker error: ' + e.message });
  w.postMessage({ threads });
});
window.results = (async () => ({ isolated: self.crossOriginIsolated, one: await run(1), two: await run(2) }))();
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

const browser = await chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox'] });
const results = {};
try {
  for (const isolated of [true, false]) {
    const server = await serve(isolated);
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    results[isolated ? 'isolated' : 'plain'] = await page.evaluate(() => globalThis.results);
    await page.close();
    server.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
const { isolated: iso, plain } = results;
for (const [name, r] of [
  ['isolated, 1 thread', iso.one],
  ['isolated, 2 threads', iso.two],
  ['not isolated, 2 asked', plain.one && plain.two],
]) {
  check(!r.error, `${name}: trains in a Web Worker${r.error ? ` (${r.error.split('\n')[0]})` : ''}`);
}
check(iso.isolated && iso.two.isolated, 'the page and its worker are cross-origin isolated when served with COOP and COEP');
check(iso.one.backend === 'wasm' && iso.one.threads === 1, `1 thread asked: wasm on 1 thread (got ${iso.one.backend}, ${iso.one.threads})`);
check(iso.two.backend === 'wasm' && iso.two.threads === 2, `2 threads asked, isolated: wasm on 2 threads (got ${iso.two.backend}, ${iso.two.threads})`);
check(iso.one.steps === 4 && Number.isFinite(iso.one.loss), `4 SimCLR steps with a finite loss (${iso.one.steps}, ${iso.one.loss})`);
check(iso.two.hash === iso.one.hash && iso.two.loss === iso.one.loss, 'the weights after training are the same on 1 and 2 threads');
check(!plain.isolated && plain.two.threads === 1, `not isolated: 2 threads asked runs on 1 (got ${plain.two.threads})`);
check(plain.two.hash === iso.one.hash, 'not isolated: the same weights as the isolated runs');
for (const [name, r] of [
  ['1 thread', iso.one],
  ['2 threads', iso.two],
]) {
  check(r.tensorsAfter === r.tensorsBefore, `${name}: no tensors left behind once the returned heads are disposed (${r.tensorsBefore} → ${r.tensorsAfter})`);
}
if (failures.length) {
  console.error(`browser worker test: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('browser worker test: all checks passed');
