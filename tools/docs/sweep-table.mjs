#!/usr/bin/env node
// Prints a markdown table of `ssl pretrain` runs (one folder each, as `--out` wrote it): the
// settings that vary between them and the probe and kNN gains over random init. For validation
// sweeps (`--set probe.validation=N`), where each setting is one run.
//
//   node tools/docs/sweep-table.mjs RUN_DIR...
import { readFileSync } from 'node:fs';
import path from 'node:path';

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error('usage: node tools/docs/sweep-table.mjs RUN_DIR...');
  process.exit(2);
}
const read = (d, f) => JSON.parse(readFileSync(path.join(d, f), 'utf8'));
const runs = dirs.map((d) => ({ name: path.basename(d), cfg: read(d, 'config.json'), res: read(d, 'results.json') }));
const settings = (c) => ({
  limit: c.limit,
  epochs: c.trainer.epochs,
  batch: c.trainer.batchSize,
  lr: c.trainer.lr,
  ...Object.fromEntries(Object.entries(c.taskConfig).filter(([k]) => ['cropScale', 'blurProbability', 'temperature'].includes(k))),
});
const keys = [...new Set(runs.flatMap((r) => Object.keys(settings(r.cfg))))];
const pct = (x) => (100 * x).toFixed(2);
const gain = (a, b) => `${a >= b ? '+' : '−'}${Math.abs(100 * (a - b)).toFixed(2)}`;
console.log(`| run | method | seed | ${keys.join(' | ')} | steps | probe | random init | gain | kNN | random-init kNN | kNN gain |`);
console.log(`|${' --- |'.repeat(keys.length + 10)}`);
for (const { name, cfg, res } of runs) {
  const s = settings(cfg);
  const cells = keys.map((k) => (s[k] === undefined ? '' : JSON.stringify(s[k])));
  console.log(
    `| ${name} | ${cfg.method} | ${cfg.seed} | ${cells.join(' | ')} | ${res.steps} | ${pct(res.probeAccuracy)} | ${pct(res.randomInitProbeAccuracy)} | ${gain(res.probeAccuracy, res.randomInitProbeAccuracy)} | ${pct(res.knnAccuracy)} | ${pct(res.randomInitKnnAccuracy)} | ${gain(res.knnAccuracy, res.randomInitKnnAccuracy)} |`,
  );
}
const metric = [...new Set(runs.map((r) => r.res.probeMetric))];
console.log(`\nProbe metric: ${metric.join('; ')}.`);
