import { promises as fsp, readFileSync } from 'node:fs';
import path from 'node:path';
import { SslError } from '@ssl/core';
import type { Catalogue } from '@ssl/runner';
import { numberFlag, parseFlags } from '../args';
import { cliJobRunner, runLocal, type JobRunner, type RunRecord } from '../compare/execute';
import { runEmbedding } from '../compare/embedding';
import { parseSeeds, planJobs, resolveMethods, type CompareBudget } from '../compare/plan';
import { runOnQueue } from '../compare/queue';
import { renderCompareReport, type LossSeries } from '../compare/report';
import { accuracyTable, renderResultsMarkdown, skippedLines, summarize } from '../compare/table';
import type { Io } from '../io';

export const COMPARE_HELP = `Usage: ssl compare --methods LIST [options]

Pretrains every (method, dataset, seed), each beside the same encoder at random init, and writes
results.json, results.md (mean ± std over seeds, paired gain over random init with a 95 % interval)
and report.html into --out. Finished runs are kept and interrupted ones resume: running the same
command again trains only what is missing.

Options:
  --methods LIST       comma list of methods, all, or family:NAME (e.g. family:contrastive)
  --dataset D          dataset (repeatable; default mnist); methods of another modality are skipped
  --seeds LIST         seeds, e.g. 0,1,2 or 0-4 (default 0,1,2)
  --epochs N, --limit N, --batch-size N, --data-dir DIR, --set key=value
                       passed to every \`ssl pretrain\` (see \`ssl pretrain --help\`)
  --out DIR            comparison folder (default compare); runs go to DIR/runs/<name>-<config hash>
  --jobs N             runs at once on this machine (default 1); each gets 1/N of the cores
                       through SSL_THREADS unless SSL_THREADS is set
  --queue URL          run on \`ssl worker\` machines through Redis (redis://HOST:PORT) instead
  --attempts N         with --queue: tries per run before it counts as failed (default 3)
  --json               print the summary rows as one JSON object instead of the table
`;

const FLAGS = {
  methods: { type: 'string' },
  dataset: { type: 'string', multiple: true },
  seeds: { type: 'string' },
  epochs: { type: 'string' },
  limit: { type: 'string' },
  'batch-size': { type: 'string' },
  'data-dir': { type: 'string' },
  set: { type: 'string', multiple: true },
  out: { type: 'string' },
  jobs: { type: 'string' },
  queue: { type: 'string' },
  attempts: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

function wholeFlag(name: string, value: string | undefined, min: number): number | undefined {
  const n = numberFlag(name, value);
  if (n !== undefined && (!Number.isInteger(n) || n < min)) throw new SslError(`Invalid --${name} ${value}: must be a whole number ≥ ${min}.`);
  return n;
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/** Loss curve of one run from its metrics.jsonl (empty when missing). */
function readLoss(runDir: string): Array<{ step: number; loss: number }> {
  try {
    return readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { step: number; loss: number })
      .map((m) => ({ step: m.step, loss: m.loss }));
  } catch {
    return [];
  }
}

/**
 * `ssl compare`: a methods × datasets × seeds table, run here (`--jobs N`) or on workers (`--queue`).
 * `runner` replaces the child-process runner (tests inject a fake one).
 */
export async function compareCommand(argv: string[], io: Io, catalogue: Catalogue, runner?: JobRunner): Promise<number> {
  const { values } = parseFlags('compare', argv, FLAGS);
  if (values.help) {
    io.out(COMPARE_HELP);
    return 0;
  }
  if (!values.methods) throw new SslError('ssl compare needs --methods: a comma list (rotation,simclr), all, or family:NAME.');
  const methods = resolveMethods(values.methods, catalogue.tasks);
  const datasets = [...new Set((values.dataset as string[] | undefined) ?? ['mnist'])];
  const seeds = parseSeeds(values.seeds ?? '0,1,2');
  const parallel = wholeFlag('jobs', values.jobs, 1) ?? 1;
  const attempts = wholeFlag('attempts', values.attempts, 1) ?? 3;
  const epochs = wholeFlag('epochs', values.epochs, 1);
  const limit = wholeFlag('limit', values.limit, 2);
  const batchSize = wholeFlag('batch-size', values['batch-size'], 2);
  const budget: CompareBudget = {
    ...(epochs !== undefined ? { epochs } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(batchSize !== undefined ? { batchSize } : {}),
    ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
    sets: (values.set as string[] | undefined) ?? [],
  };
  const outDir = values.out ?? 'compare';
  const { jobs, skipped } = planJobs({ methods, datasets, seeds, budget }, catalogue);
  for (const line of skippedLines(skipped)) io.err(`skipping ${line}`);
  if (!jobs.length)
    throw new SslError(
      `No method of [${methods.join(', ')}] fits dataset(s) [${datasets.join(', ')}]. Pick methods of the datasets' modality (see \`ssl list\`).`,
    );
  await fsp.mkdir(outDir, { recursive: true });
  io.err(`${jobs.length} run(s): ${methods.length} method(s) × ${datasets.length} dataset(s) × ${seeds.length} seed(s) → ${outDir}`);

  const records: RunRecord[] = values.queue
    ? await runOnQueue(jobs, outDir, { url: values.queue, attempts, log: io.err })
    : await runLocal(jobs, outDir, { parallel, runner: runner ?? cliJobRunner(), log: io.err });

  const rows = summarize(records);
  // The command as a reader would re-run it (where it ran is not part of the result).
  const shown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--jobs' || argv[i] === '--queue' || argv[i] === '--attempts') i++;
    else if (!/^--(jobs|queue|attempts)=/.test(argv[i]!) && argv[i] !== '--json') shown.push(argv[i]!);
  }
  const command = ['ssl', 'compare', ...shown].map(quote).join(' ');
  const title = `ssl compare: ${[...new Set(jobs.map((j) => j.method))].join(', ')} on ${datasets.join(', ')}`;
  const md = renderResultsMarkdown(rows, { command, skipped, title });
  await fsp.writeFile(path.join(outDir, 'results.md'), md);
  const runsJson = records.map(({ cached: _cached, ...r }) => (r.result ? { ...r, result: { ...r.result, runDir: path.join('runs', r.dir) } } : r));
  await fsp.writeFile(
    path.join(outDir, 'results.json'),
    JSON.stringify(
      { command, methods, datasets, seeds, budget, skipped, runs: runsJson, summary: rows },
      (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      2,
    ) + '\n',
  );

  // The embedding: the best run (highest probe) of the method with the largest mean gain over random init.
  let embedding: Parameters<typeof renderCompareReport>[0]['embedding'];
  const best = rows.filter((r) => r.seeds.length).sort((a, b) => b.probeGain.mean - a.probeGain.mean)[0];
  if (best) {
    const run = records
      .filter((r) => r.method === best.method && r.dataset === best.dataset && r.result)
      .sort((a, b) => b.result!.probeAccuracy - a.result!.probeAccuracy)[0]!;
    try {
      const e = await runEmbedding(path.join(outDir, 'runs', run.dir), catalogue, path.join(outDir, 'embedding.json'));
      embedding = {
        ...e,
        caption: `${run.method} on ${run.dataset}, seed ${run.seed} (largest mean gain over random init; ${e.labels.length} test examples, coloured by label)`,
      };
    } catch (e) {
      io.err(`no embedding in report.html: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  const losses: LossSeries[] = records.map((r) => ({ method: r.method, dataset: r.dataset, seed: r.seed, points: readLoss(path.join(outDir, 'runs', r.dir)) }));
  const tableLines = accuracyTable(rows)
    .split('\n')
    .filter((_, i) => i !== 1)
    .map((l) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.replace(/\*\*|`/g, '').replace(/\\\|/g, '|')),
    );
  const html = renderCompareReport({
    title,
    command,
    rows,
    runs: records,
    table: { headers: tableLines[0]!, rows: tableLines.slice(1) },
    losses,
    ...(embedding ? { embedding } : {}),
  });
  await fsp.writeFile(path.join(outDir, 'report.html'), html);

  if (values.json)
    io.out(
      JSON.stringify({ outDir, summary: rows, failed: records.filter((r) => r.status === 'failed').length }, (_k, v: unknown) =>
        typeof v === 'number' && !Number.isFinite(v) ? null : v,
      ),
    );
  else {
    io.out(accuracyTable(rows));
    io.out(
      `\n${records.length} run(s), ${records.filter((r) => r.cached).length} kept from earlier, ${records.filter((r) => r.status === 'failed').length} failed; wrote ${path.join(outDir, 'results.md')}, results.json, report.html`,
    );
  }
  return records.some((r) => r.status === 'failed') ? 1 : 0;
}
