// Tests the built docs site in headless Chromium (Debian's `chromium`, driven by playwright-core):
// every page renders without console errors, each method page shows its real config defaults,
// and the live demo loads the exported encoder and embeds images. Saves a screenshot of the demo
// to artifacts/docs-demo.png. Run after `npm run docs:build`: node tools/docs/browser-test.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { findChromium } from '../browser/chromium.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = path.join(root, 'docs/.vitepress/dist');
if (!existsSync(path.join(dist, 'index.html'))) {
  console.error('browser test: no built site in docs/.vitepress/dist; run `npm run docs:build` first.');
  process.exit(1);
}

const types = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml', '.bin': 'application/octet-stream', '.woff2': 'font/woff2', '.png': 'image/png', '.wasm': 'application/wasm' };

/** A static server for the built site with VitePress's clean URLs (/a/b → /a/b.html). */
function serve() {
  const server = createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const candidates = [url, `${url}.html`, path.join(url, 'index.html')];
    const file = candidates.map((c) => path.join(dist, c)).find((f) => f.startsWith(dist) && existsSync(f) && statSync(f).isFile());
    if (!file) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
};

const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: findChromium(), args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = [];
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('response', (r) => r.status() >= 400 && errors.push(`HTTP ${r.status()} ${r.url()}`));

  const methods = JSON.parse(execFileSync(process.execPath, [path.join(root, 'packages/cli/dist/bin.js'), 'list', '--json'], { encoding: 'utf8' })).methods;
  const pages = ['/', '/guide/getting-started', '/guide/concepts', '/guide/datasets', '/guide/plugin-authors', '/guide/compare', '/methods/', '/api/', '/api/core/src/', ...methods.map((m) => `/methods/${m.name}`)];
  for (const p of pages) {
    errors.length = 0;
    const res = await page.goto(base + p, { waitUntil: 'networkidle' });
    const h1 = await page.locator('h1').first().textContent({ timeout: 5000 }).catch(() => null);
    check(res?.ok() && !!h1 && errors.length === 0, `page ${p} renders (h1: ${JSON.stringify(h1?.trim())}${errors.length ? `, console errors: ${errors.join(' | ')}` : ''})`);
  }

  // Each method page shows the task's real config fields and defaults (from `ssl list --json`).
  for (const m of methods) {
    await page.goto(`${base}/methods/${m.name}`, { waitUntil: 'networkidle' });
    const rows = await page.locator('table tr').allTextContents();
    const missing = m.config.filter((f) => !rows.some((r) => r.includes(f.name) && r.includes(JSON.stringify(f.default))));
    check(missing.length === 0, `method page ${m.name} shows its ${m.config.length} config defaults${missing.length ? ` (missing: ${missing.map((f) => f.name).join(', ')})` : ''}`);
  }

  errors.length = 0;
  await page.goto(`${base}/guide/demo`, { waitUntil: 'networkidle' });
  const status = page.locator('[data-testid=demo-status]');
  await status.filter({ hasText: /ready|failed/ }).waitFor({ timeout: 120_000 });
  const statusText = (await status.textContent()) ?? '';
  check(/ready: 80 images embedded/.test(statusText), `demo status: ${statusText.trim()}`);
  const agreement = (await page.locator('[data-testid=demo-agreement]').textContent().catch(() => '')) ?? '';
  const pct = Number(/([\d.]+) %/.exec(agreement)?.[1] ?? 'NaN');
  check(pct > 30, `demo nearest-neighbour label agreement ${pct} % (chance 10 %)`);
  check((await page.locator('.ssl-demo-row canvas').count()) === 70, 'demo draws 10 queries with 6 neighbours each');
  check((await page.locator('[data-testid=demo-plot] circle').count()) === 80, 'demo plots 80 points');
  check(errors.length === 0, `demo has no console errors${errors.length ? `: ${errors.join(' | ')}` : ''}`);
  mkdirSync(path.join(root, 'artifacts'), { recursive: true });
  const shot = path.join(root, 'artifacts/docs-demo.png');
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`browser test: screenshot of the demo in ${path.relative(root, shot)}`);
} finally {
  await browser.close();
  server.close();
}
if (failures.length) {
  console.error(`browser test: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('browser test: all checks passed');
