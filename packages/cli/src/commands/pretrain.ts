import { runExperiment, type Catalogue, type ExperimentOptions, type ExperimentResult } from '@ssl/runner';
import { numberFlag, parseFlags, type FlagValues } from '../args';
import type { Io } from '../io';

/**
 * `ssl pretrain --help`, showing the catalogue's default method.
 *
 * @example
 * io.out(pretrainHelp(builtinCatalogue())); // "... default rotation ..."
 */
export const pretrainHelp = (catalogue: Catalogue): string => `Usage: ssl pretrain --method NAME [options]

Pretrains an encoder with a pretext task, then measures the dataset's probe beside the same
encoder at random initialisation.

Options:
  --method NAME        pretext task (see \`ssl list\`); ${catalogue.defaultMethod ? `default ${catalogue.defaultMethod}` : 'required (no default)'}
  --dataset D          see \`ssl list\` (default mnist)
  --data-dir DIR       folder holding the dataset files (fashion-mnist)
  --encoder NAME       see \`ssl list\` (default: the method's, else the dataset's)
  --epochs N           passes over the data (default: the method's)
  --batch-size N       images per step (default: the method's)
  --limit N            training images used (default: the method's)
  --seed S             seed for everything random (default 0)
  --out DIR            run directory (default runs/<method>-<dataset>-seed<S>); an existing run
                       or a non-empty folder is refused unless --resume or --force
  --force              overwrite the run (or files) in --out
  --image-size N       resize every image to N×N (image folders of mixed sizes)
  --test-fraction F    image folders without train/ and test/: fraction of each class held
                       out (seeded) for the probe; default 0.2
  --backend B          tensorflow | wasm | cpu (default: fastest available)
  --threads N          threads for the wasm kernels (default: SSL_THREADS, else every core; at most 8)
  --set key=value      a trainer, method, encoder or probe field (repeatable), namespaced
                       trainer.KEY | task.KEY | encoder.KEY | probe.KEY; the bare KEY works where
                       only one of them has it, e.g. --set lr=0.001 --set task.momentum=0.999
                       --set probe.validation=N scores on N held-out training items instead
                       of the test split (choose settings there, report the test split)
  --resume             continue the run in --out from its last checkpoint; options given with it
                       (--epochs, --set lr=…, probe settings) are applied and recorded in
                       config.json, options that would change the run (method, data, encoder) refused
  --json               print one JSON object with the results
`;

/** Flags every run command shares (`ssl pretrain`, `ssl train`): data, encoder, budget, output. */
export const RUN_FLAGS = {
  dataset: { type: 'string' },
  'data-dir': { type: 'string' },
  encoder: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  limit: { type: 'string' },
  seed: { type: 'string' },
  out: { type: 'string' },
  force: { type: 'boolean' },
  'image-size': { type: 'string' },
  'test-fraction': { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  set: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

const FLAGS = { method: { type: 'string' }, ...RUN_FLAGS, resume: { type: 'boolean' } } as const;

/** The results `ssl pretrain --json` prints (the runner's {@link ExperimentResult}). */
export type PretrainResult = ExperimentResult;

/** The shared run flags as runner options. */
export function runFlagOptions(values: FlagValues): Omit<ExperimentOptions, 'method'> {
  const num = (flag: string) => numberFlag(flag, values[flag] as string | undefined);
  const o = {
    dataset: values.dataset as string | undefined,
    dataDir: values['data-dir'] as string | undefined,
    encoder: values.encoder as string | undefined,
    epochs: num('epochs'),
    batchSize: num('batch-size'),
    limit: num('limit'),
    seed: num('seed'),
    threads: num('threads'),
    imageSize: num('image-size'),
    testFraction: num('test-fraction'),
    force: values.force ? true : undefined,
    out: values.out as string | undefined,
    backend: values.backend as string | undefined,
    set: (values.set as string[] | undefined) ?? [],
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Omit<ExperimentOptions, 'method'>;
}

/** `ssl pretrain`: parse the flags, run the experiment, print the results. */
export async function pretrainCommand(argv: string[], io: Io, catalogue: Catalogue): Promise<number> {
  const { values } = parseFlags('pretrain', argv, FLAGS);
  if (values.help) {
    io.out(pretrainHelp(catalogue));
    return 0;
  }
  const r = await runExperiment({
    ...runFlagOptions(values),
    ...(values.method ? { method: values.method as string } : {}),
    resume: !!values.resume,
    catalogue,
    log: io.err,
    progress: !values.json,
  });
  if (values.json) io.out(JSON.stringify(r));
  else {
    const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
    if (r.probeSkipped) io.out(`probe skipped: ${r.probeSkipped}`);
    else
      io.out(
        `${r.probeMetric}: pretrained ${pct(r.probeAccuracy)}   random init ${pct(r.randomInitProbeAccuracy)}   (${r.probeAccuracy >= r.randomInitProbeAccuracy ? '+' : ''}${(100 * (r.probeAccuracy - r.randomInitProbeAccuracy)).toFixed(2)} points)`,
      );
    if (!Number.isNaN(r.knnAccuracy)) io.out(`kNN (k=20): pretrained ${pct(r.knnAccuracy)}   random init ${pct(r.randomInitKnnAccuracy)}`);
    io.out(`${r.epochs} epochs, ${r.steps} steps on ${r.backend} in ${r.seconds.toFixed(0)} s; run saved to ${r.runDir} (report.html, encoder/model.json)`);
  }
  return 0;
}
