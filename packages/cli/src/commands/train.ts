import { runTraining, TRAIN_TASKS, type Catalogue } from '@ssl/runner';
import { parseFlags } from '../args';
import type { Io } from '../io';
import { RUN_FLAGS, runFlagOptions } from './pretrain';

export const TRAIN_HELP = `Usage: ssl train --task supervised|fewshot|semi [--aux NAME] [options]

Task-related self-supervision (Lee et al. 2019; Gidaris et al. 2019; Zhai et al. 2019): trains
an encoder on a labelled task, optionally with a pretext task as auxiliary loss (main + λ · aux),
then evaluates it beside the same encoder at random init. Image datasets with labels only.

Tasks:
  supervised   encoder + linear classifier, cross-entropy on the labelled images
               (with --labels F: only a class-balanced fraction F keeps its labels, repeated
               so training takes as many steps as --task semi on --limit images)
  semi         S4L: each step holds the supervised-only step's labelled batch plus as many
               images from all --limit images (labels hidden); cross-entropy on the labelled
               half (--labels, default 10%) + λ · aux loss on every image; needs --aux
  fewshot      prototypical networks, episodic N-way K-shot training on --train-classes;
               tested on the held-out classes (test split) at 1 and 5 shots, ≥ 600 episodes

Options:
  --task T             ${TRAIN_TASKS.join(' | ')} (default supervised)
  --aux NAME           auxiliary pretext task: any registered image task (see \`ssl list\`)
  --aux-weight λ       weight of the auxiliary loss (default 1)
  --labels F           labelled fraction, 1% | 10% | ... (supervised: default 100%, semi: default 10%)
  --joint-labels       supervised with joint (class, transformation) labels, K·C-way (Lee et al.),
                       from the --aux task's input transformations (default: the one task that has them)
  --train-classes L    fewshot: training classes, e.g. 0-4 or 0,2,4 (default: the first half);
                       every other class is held out for testing
  --episodes N         fewshot: training episodes per epoch (default 200)
  --test-episodes N    fewshot: test episodes per shot setting (default 600)
  --eval-shots L       fewshot: shots to test, e.g. 1,5 (default 1,5)
  --dataset D          image dataset (default mnist); --data-dir DIR for fashion-mnist
  --encoder NAME       see \`ssl list\` (default convnet)
  --epochs N           passes over the data (default 3; fewshot 1)
  --batch-size N       images per step (default 64; fewshot: one episode, N·(K+Q))
  --limit N            training images read from the train split (default 6000)
  --seed S             seed for everything random (default 0)
  --out DIR            run directory (default runs/train-<task>[-<aux>]-<dataset>-seed<S>);
                       an existing run or a non-empty folder is refused unless --force
  --force              overwrite the run (or files) in --out
  --image-size N       resize every image to N×N (image folders of mixed sizes)
  --test-fraction F    image folders without train/ and test/: held-out share of each class (0.2)
  --backend B          tensorflow | wasm | cpu (default: fastest available)
  --set key=value      a field of trainer.KEY, task.KEY (main task: nWay, kShot, nQuery),
                       aux.KEY, encoder.KEY or probe.KEY; the bare KEY where unique; repeatable
  --json               print one JSON object with the results
`;

const FLAGS = {
  task: { type: 'string' },
  aux: { type: 'string' },
  'aux-weight': { type: 'string' },
  labels: { type: 'string' },
  'joint-labels': { type: 'boolean' },
  'train-classes': { type: 'string' },
  episodes: { type: 'string' },
  'test-episodes': { type: 'string' },
  'eval-shots': { type: 'string' },
  ...RUN_FLAGS,
} as const;

/** `ssl train`: parse the flags, run the training, print the table. */
export async function trainCommand(argv: string[], io: Io, catalogue: Catalogue): Promise<number> {
  const { values } = parseFlags('train', argv, FLAGS);
  if (values.help) {
    io.out(TRAIN_HELP);
    return 0;
  }
  const settings = Object.fromEntries(
    ['task', 'aux', 'aux-weight', 'labels', 'joint-labels', 'train-classes', 'episodes', 'test-episodes', 'eval-shots']
      .filter((k) => values[k] !== undefined)
      .map((k) => [k, values[k]]),
  );
  const { dataset, dataDir, encoder, out, backend, threads, set, force, imageSize, testFraction } = runFlagOptions(values);
  const { result, table } = await runTraining({
    settings,
    ...(dataset ? { dataset } : {}),
    ...(dataDir ? { dataDir } : {}),
    ...(encoder ? { encoder } : {}),
    ...(out ? { out } : {}),
    ...(backend ? { backend } : {}),
    ...(threads !== undefined ? { threads } : {}),
    ...(force ? { force } : {}),
    ...(imageSize !== undefined ? { imageSize } : {}),
    ...(testFraction !== undefined ? { testFraction } : {}),
    ...(set ? { set } : {}),
    epochs: values.epochs as string | undefined,
    batchSize: values['batch-size'] as string | undefined,
    limit: values.limit as string | undefined,
    seed: values.seed as string | undefined,
    catalogue,
    log: io.err,
    progress: !values.json,
  });
  if (values.json) io.out(JSON.stringify(result));
  else {
    for (const row of table) io.out(`${row.name}: ${row.value}`);
    io.out(
      `${result.epochs} epochs, ${result.steps} steps on ${result.backend} in ${result.seconds.toFixed(0)} s; run saved to ${result.runDir} (report.html, encoder/model.json)`,
    );
  }
  return 0;
}
