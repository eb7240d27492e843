import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SslError } from '@ssl/core';
import { builtinCatalogue, type Catalogue, type CataloguePlugin } from '@ssl/runner';
import { compareCommand } from './commands/compare';
import { evalCommand } from './commands/eval';
import { listCommand } from './commands/list';
import { pretrainCommand } from './commands/pretrain';
import { trainCommand } from './commands/train';
import { workerCommand } from './commands/worker';
import { processIo, type Io } from './io';

export { pretrainCommand, type PretrainResult } from './commands/pretrain';
export { describeFields, listCommand, taskSetKey, type FieldInfo } from './commands/list';
export { evalCommand } from './commands/eval';
export { trainCommand } from './commands/train';
export {
  builtinCatalogue,
  buildRunConfig,
  parseTrainSettings,
  readRunConfig,
  runConfigSchema,
  TRAIN_TASKS,
  type Catalogue,
  type RunConfig,
  type TrainCommandResult,
  type TrainSettings,
} from '@ssl/runner';
export type { Io } from './io';
export { compareCommand } from './commands/compare';
export { workerCommand } from './commands/worker';
export * from './compare';

/**
 * The CLI's task registry (every family's tasks); the rest of the catalogue is {@link builtinCatalogue}.
 *
 * @example
 * builtinRegistry().names(); // ['autoencoder', 'cmc', ...]
 */
export function builtinRegistry() {
  return builtinCatalogue().tasks;
}

const HELP = `ssl: self-supervised learning for TypeScript

Usage:
  ssl list [--json]                      methods, families, modalities, config fields
  ssl pretrain --method NAME [options]   pretrain, then linear probe vs random init
  ssl eval --run DIR [--protocol P]      evaluate a run's encoder (linear | knn | finetune)
  ssl train --task T [--aux NAME]       supervised | fewshot | semi, with a pretext task as auxiliary
  ssl compare --methods LIST [options]   methods × datasets × seeds table (results.md, report.html)
  ssl worker --queue redis://HOST:PORT   train \`ssl compare --queue\` runs taken from Redis

Global option:
  --plugin MODULE                        load tasks, datasets, protocols or encoders from a module (a
                                         path or a package name) whose default export, or export
                                         \`plugin\`, is one of them, a list, or { tasks, datasets,
                                         protocols, encoders }; repeatable. The SSL_PLUGINS
                                         environment variable (comma-separated) does the same.

Run \`ssl <command> --help\` for a command's options.`;

const COMMANDS = {
  list: listCommand,
  pretrain: pretrainCommand,
  eval: evalCommand,
  train: trainCommand,
  compare: compareCommand,
  worker: workerCommand,
} as const;

/**
 * Runs the `ssl` command line and returns the exit code. Errors become one line on stderr
 * (what failed, the value, the fix), never a stack trace unless SSL_DEBUG=1.
 *
 * @example
 * process.exitCode = await main(['pretrain', '--method', 'rotation', '--epochs', '1']);
 */
export async function main(argv: string[], io: Io = processIo, catalogue: Catalogue = builtinCatalogue()): Promise<number> {
  let plugins: string[];
  try {
    ({ argv, plugins } = splitPluginArgs(argv));
    for (const spec of plugins) {
      const plugin = await loadPlugin(spec);
      try {
        catalogue.use(plugin);
      } catch (e) {
        throw new SslError(`--plugin "${spec}" does not export tasks, datasets, protocols or encoders: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  } catch (e) {
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command ? 0 : 1;
  }
  const run = COMMANDS[command as keyof typeof COMMANDS];
  try {
    if (!run) throw new SslError(`Unknown command "${command}". Must be one of [${Object.keys(COMMANDS).join(', ')}]. Run \`ssl --help\`.`);
    return await run(rest, io, catalogue);
  } catch (e) {
    const debug = process.env.SSL_DEBUG === '1';
    if (e instanceof SslError) {
      io.err(`error: ${e.message}`);
      if (debug && e.stack) io.err(e.stack);
      // The error underneath (e.g. what the wasm heap said), which the one line summarises.
      if (debug && e.cause instanceof Error) io.err(`caused by: ${e.cause.stack ?? e.cause.message}`);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    io.err(`error: ${msg} (set SSL_DEBUG=1 to see the stack trace)`);
    if (debug && e instanceof Error && e.stack) io.err(e.stack);
    return 1;
  }
}

/** Takes every `--plugin X` / `--plugin=X` out of argv (plus SSL_PLUGINS), keeping the rest in order. */
function splitPluginArgs(argv: string[]): { argv: string[]; plugins: string[] } {
  const plugins = (process.env.SSL_PLUGINS ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--plugin') {
      const v = argv[++i];
      if (!v || v.startsWith('--')) throw new SslError('--plugin needs a value: a module path (./my-task.js) or a package name.');
      plugins.push(v);
    } else if (a.startsWith('--plugin=')) plugins.push(a.slice('--plugin='.length));
    else rest.push(a);
  }
  return { argv: rest, plugins };
}

/**
 * Imports a plugin module: a relative or absolute path (resolved from the working directory) or a
 * package name. Its default export, or its export named `plugin`, must be something `Catalogue.use()`
 * accepts.
 */
async function loadPlugin(spec: string): Promise<CataloguePlugin> {
  const isPath = spec.startsWith('.') || isAbsolute(spec);
  const url = isPath ? pathToFileURL(resolve(spec)).href : spec;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new SslError(
      `--plugin "${spec}" could not be imported (${why}). Pass a path to a built JavaScript module (e.g. ./dist/index.js) or an installed package name.`,
    );
  }
  const plugin = (mod.default ?? mod.plugin) as CataloguePlugin | undefined;
  if (!plugin)
    throw new SslError(
      `--plugin "${spec}" has no default export and no export named "plugin". Export the task (or { tasks: [...] }) as default or as \`plugin\`.`,
    );
  return plugin;
}
