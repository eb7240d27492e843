import type { z } from 'zod';
import { RegistryBase } from './catalogue';
import { SslError, parseWith } from './errors';
import type { AnyPretextTask, Heads, PretextBatch, PretextTask, PretextTaskSpec } from './task';
import type { Modality } from './types';

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const FAMILIES = ['context', 'temporal', 'contrastive', 'supervised'] as const;
const MODALITIES = ['image', 'sequence', 'text', 'graph', 'multiview'] as const;

/**
 * Defines a pretext task: name, family, modality, zod config with the paper's defaults,
 * heads, data construction and loss. The config's type flows into every hook, and the batch
 * `prepare` returns is the type `loss` sees.
 *
 * @example
 * export const myTask = definePretextTask({
 *   name: 'my-task', family: 'context', modality: 'image',
 *   title: 'My task', paper: 'Me et al. 2026', description: 'Predicts something.',
 *   config: z.object({ classes: z.number().int().min(2).default(4) }).strict(),
 *   createHeads: ({ featureDim, config }) => ({ classifier: linearHead(featureDim, config.classes) }),
 *   prepare: (raw, { config, rng }) => ({ x: tf.tensor4d(raw.images, [raw.n, raw.height, raw.width, raw.channels]) }),
 *   loss: ({ encode, heads, batch }) => ..., // batch.x: tf.Tensor4D, no assertion
 * });
 */
export function definePretextTask<
  N extends string,
  C extends z.ZodTypeAny,
  M extends Modality,
  H extends Heads,
  S = undefined,
  B extends PretextBatch = PretextBatch,
>(spec: PretextTaskSpec<N, C, M, H, S, B>): PretextTask<N, C, M, H, S, B> {
  if (!KEBAB.test(spec.name)) {
    throw new SslError(`Invalid pretext task name "${spec.name}": must be kebab-case (lowercase letters, digits and single dashes), e.g. "relative-location".`);
  }
  if (!(FAMILIES as readonly string[]).includes(spec.family)) {
    throw new SslError(`Invalid family "${spec.family}" for task "${spec.name}". Must be one of [${FAMILIES.join(', ')}].`);
  }
  if (!(MODALITIES as readonly string[]).includes(spec.modality)) {
    throw new SslError(`Invalid modality "${spec.modality}" for task "${spec.name}". Must be one of [${MODALITIES.join(', ')}].`);
  }
  const probe = spec.config.safeParse({});
  if (!probe.success) {
    throw new SslError(`Task "${spec.name}" config schema must accept {} (every field needs a default): ${probe.error.issues[0]?.message ?? ''}`);
  }
  return Object.freeze({ ...spec, kind: 'pretext-task' as const });
}

/**
 * Tasks known to the default registry, by name. Family packages add theirs by module
 * augmentation, which makes `defaultRegistry().get('rotation')` fully typed:
 *
 * @example
 * declare module '@ssl/core' {
 *   interface TaskRegister { rotation: typeof rotationTask }
 * }
 */
export interface TaskRegister {}

/** Something `.use()` accepts: one task, a list of tasks, or a plugin object. */
export type Plugin = AnyPretextTask | readonly AnyPretextTask[] | { readonly tasks: readonly AnyPretextTask[] };

type TasksOf<P> = P extends AnyPretextTask
  ? { [K in P['name']]: P }
  : P extends readonly AnyPretextTask[]
    ? { [T in P[number] as T['name']]: T }
    : P extends { readonly tasks: readonly AnyPretextTask[] }
      ? { [T in P['tasks'][number] as T['name']]: T }
      : never;

function tasksIn(plugin: Plugin): readonly AnyPretextTask[] {
  if (Array.isArray(plugin)) return plugin as readonly AnyPretextTask[];
  if ((plugin as AnyPretextTask).kind === 'pretext-task') return [plugin as AnyPretextTask];
  if (Array.isArray((plugin as { tasks?: unknown }).tasks)) return (plugin as { tasks: readonly AnyPretextTask[] }).tasks;
  throw new SslError(
    `registry.use() got ${typeof plugin === 'object' ? 'an object without tasks' : typeof plugin}. Pass a task from definePretextTask, an array of tasks, or { tasks: [...] }.`,
  );
}

/**
 * A typed collection of pretext tasks. `use()` returns the same registry with a wider type,
 * so `get()` and `parseConfig()` know every registered name and config.
 */
export class Registry<T extends Record<string, AnyPretextTask> = {}> extends RegistryBase<AnyPretextTask> {
  constructor() {
    super({ noun: 'method', kind: 'pretext-task', hint: 'Run `ssl list` to see every method.' });
  }

  /**
   * Adds tasks. A name that is already registered throws, naming both tasks,
   * unless `{ override: true }` is passed.
   */
  use<P extends Plugin>(plugin: P, options: { override?: boolean } = {}): Registry<T & TasksOf<P>> {
    for (const task of tasksIn(plugin)) {
      const existing = this.items.get(task.name);
      if (existing && existing !== task && !options.override) {
        throw new SslError(
          `Duplicate pretext task "${task.name}": already registered as "${existing.title}" (${existing.family}), now "${task.title}" (${task.family}). Rename one, or pass { override: true } to replace it.`,
        );
      }
    }
    this.add(tasksIn(plugin), true);
    return this as unknown as Registry<T & TasksOf<P>>;
  }

  /** The task registered under `name`, typed; a name that is not registered does not compile. */
  get<K extends keyof T & string>(name: K): T[K] {
    return this.find(name) as T[K];
  }

  /** Validates a config for a task, filling the paper's defaults. */
  parseConfig<K extends keyof T & string>(name: K, input?: z.input<T[K]['config']>): z.output<T[K]['config']> {
    return this.parseConfigOf(name, input);
  }

  /** Validates a config for a task named by a runtime string. */
  parseConfigOf(name: string, input: unknown = {}): unknown {
    const task = this.find(name);
    return parseWith(task.config, input ?? {}, `config for "${name}"`);
  }
}

/**
 * Creates an empty registry. Compose families with `.use()`.
 *
 * @example
 * const registry = createRegistry().use(contextTasks).use(myTask);
 * const rotation = registry.get('rotation');
 */
export function createRegistry(): Registry<{}> {
  return new Registry();
}

const GLOBAL_KEY = Symbol.for('@ssl/core.defaultRegistry');

/**
 * A process-wide registry shared by every copy of @ssl/core (ESM and CJS alike): it lives on
 * `globalThis` under a namespaced symbol. Nothing registers itself at import time; call
 * `defaultRegistry().use(...)` explicitly.
 */
export function defaultRegistry(): Registry<{ [K in keyof TaskRegister]: TaskRegister[K] extends AnyPretextTask ? TaskRegister[K] : never }> {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  return (g[GLOBAL_KEY] ??= new Registry()) as never;
}

export type { PretextTask };
