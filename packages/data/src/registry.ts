import { NamedRegistry, SslError, type DataNeeds, type DataSource, type EncoderInputs, type Modality } from '@ssl/core';

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*:?$/;

/** Where a dataset is read from: `--data-dir` and the run's seed (for data generated on the fly). */
export interface DatasetContext {
  /** `--data-dir`, when given. */
  dataDir?: string;
  /** The run's seed. */
  seed: number;
  /** `--image-size N`: image datasets resize every image to N×N (folders of mixed sizes). */
  imageSize?: number;
  /** `--test-fraction F`: image folders without train/ and test/ hold out F of each class for the probe. */
  testFraction?: number;
  /** Where data notes go (a stated split, a rebuilt cache); default stderr. */
  log?: (line: string) => void;
  /** What the task declares it needs from the training data (`dataNeeds`), e.g. sentences per text item. */
  needs?: DataNeeds;
}

/**
 * Labelled data for evaluation: a train split (to fit a probe) and a test split (to score it).
 * Every batch carries `labels` (one per item); batches go straight into the encoder (see
 * `extractFeatures` in @ssl/eval, which handles every modality).
 */
export interface LabelledSplits {
  train: DataSource<unknown>;
  test: DataSource<unknown>;
}

/** The evaluation protocol a dataset is scored with by default, with its options. */
export interface ProtocolChoice {
  /** A protocol name (see `defineProtocol` in @ssl/eval), e.g. `linear`, `multi-label`. */
  name: string;
  /** Options passed to the protocol (e.g. `{ labels: 10 }` bits for a multi-label probe). */
  options?: Record<string, unknown>;
}

/**
 * Everything that defines a dataset for pretraining and evaluation. Build one with {@link defineDataset}.
 */
export interface DatasetSpec {
  /** The `--dataset` value, or a prefix ending in `:` (e.g. `imagefolder:`) that takes a path. */
  name: string;
  /** One line for `ssl list` and `--help`. */
  summary: string;
  modality: Modality;
  /** The encoder used when neither `--encoder` nor the task names one. */
  defaultEncoder: string;
  /** How the downstream score is measured (default: `linear`, softmax probe top-1). */
  protocol?: ProtocolChoice;
  /** Whether kNN top-1 is meaningful (single-label classes). Default true. */
  knn?: boolean;
  /** Pretraining data: `limit` examples of the train split (labels are never shown to the task). */
  train(arg: string, ctx: DatasetContext & { limit: number }): DataSource<unknown>;
  /** Shape of one example the encoder reads by default (an image, a frame, a time step, a token row). */
  sampleShape(source: DataSource<unknown>): number[];
  /** What an encoder needs from the data beyond its input shape (a vocabulary size, a graph). */
  encoderInputs?(source: DataSource<unknown>): Omit<EncoderInputs, 'inputShape'>;
  /**
   * Labelled splits for evaluation, at most `trainLimit` / `testLimit` items each; `inputShape`
   * is the encoder's input shape (a time series is cut into windows of that length).
   */
  probeSplits(arg: string, ctx: DatasetContext & { trainLimit: number; testLimit: number; inputShape: readonly number[] }): LabelledSplits;
  /**
   * Why no probe can be measured on this data (e.g. an unlabelled image folder), or undefined when
   * it can. A run then pretrains, skips the probe and says why.
   */
  probeUnavailable?(arg: string, ctx: DatasetContext): string | undefined;
  /** Suffix for the probe metric's name, e.g. " (15-class document probe)". */
  metricNote?(numClasses: number): string;
  /** Writes data artefacts of a run (a text tokenizer) and returns lines for the log. */
  exportArtifacts?(arg: string, ctx: DatasetContext & { runDir: string }): Promise<string[]>;
}

/** A dataset value: its spec, frozen, branded for registries. */
export type Dataset = Readonly<DatasetSpec> & { readonly kind: 'dataset' };

/**
 * Defines a dataset: its train source, labelled probe splits, input shape, encoder inputs and
 * default encoder. Register it with `createDatasetRegistry().use(...)` or `--plugin`.
 *
 * @example
 * export const tiny = defineDataset({
 *   name: 'tiny', summary: 'images: 4×4 noise', modality: 'image', defaultEncoder: 'mlp',
 *   train: (_arg, { limit }) => noise(limit), sampleShape: () => [4, 4, 1],
 *   probeSplits: (_arg, { trainLimit, testLimit }) => ({ train: noise(trainLimit), test: noise(testLimit) }),
 * });
 */
export function defineDataset(spec: DatasetSpec): Dataset {
  if (!NAME.test(spec.name))
    throw new SslError(
      `Invalid dataset name "${spec.name}": must be kebab-case, optionally ending in ":" for a dataset that takes a path (e.g. "imagefolder:").`,
    );
  return Object.freeze({ ...spec, kind: 'dataset' as const });
}

/**
 * Datasets by name. `resolve` also matches prefix datasets (`imagefolder:PATH`) and returns the
 * argument after the prefix.
 *
 * @example
 * const { dataset, arg } = createDatasetRegistry().use(builtinDatasets).resolve('imagefolder:/data/pets');
 */
export class DatasetRegistry extends NamedRegistry<Dataset> {
  constructor() {
    super({ noun: 'dataset', kind: 'dataset' });
  }

  /** Every `--dataset` choice (or those of one modality), prefixes written as `prefix:PATH`. */
  choices(modality?: Modality): string[] {
    return [...this.items.values()].filter((d) => !modality || d.modality === modality).map((d) => (d.name.endsWith(':') ? `${d.name}PATH` : d.name));
  }

  /** Finds the dataset for a `--dataset` value; returns it with its argument (the path after a prefix, else the name). */
  resolve(spec: string): { dataset: Dataset; arg: string } {
    for (const d of this.items.values()) {
      if (d.name.endsWith(':') ? spec.startsWith(d.name) : spec === d.name) {
        const arg = d.name.endsWith(':') ? spec.slice(d.name.length) : spec;
        if (d.name.endsWith(':') && !arg) throw new SslError(`Dataset "${spec}" has no path. Write it as ${d.name}PATH.`);
        return { dataset: d, arg };
      }
    }
    throw new SslError(`Unknown dataset "${spec}". Must be one of [${this.choices().join(', ')}].`);
  }
}

/**
 * An empty dataset registry; add the built-ins and plugins with `.use()`.
 *
 * @example
 * const datasets = createDatasetRegistry().use(builtinDatasets);
 */
export function createDatasetRegistry(): DatasetRegistry {
  return new DatasetRegistry();
}

/**
 * Wraps a loader so each distinct argument list is loaded once per process: the probe, the
 * random-init baseline and the kNN monitor ask for the same splits many times during one run.
 *
 * @example
 * const mnistTrain = cachedLoader(() => loadMnist('train', { limit: 10000 }));
 */
export function cachedLoader<A extends unknown[], T>(load: (...args: A) => T): (...args: A) => T {
  const cache = new Map<string, T>();
  return (...args) => {
    const key = JSON.stringify(args);
    if (!cache.has(key)) cache.set(key, load(...args));
    return cache.get(key)!;
  };
}
