import { SslError, type Registry } from '@ssl/core';
import { evalCommand } from './commands/eval';
import { listCommand } from './commands/list';
import { pretrainCommand } from './commands/pretrain';
import { processIo, type Io } from './io';
import { builtinRegistry } from './registry';
import './data';

export { builtinRegistry } from './registry';
export { buildRunConfig, pretrainCommand, type PretrainResult } from './commands/pretrain';
export { describeFields, listCommand, type FieldInfo } from './commands/list';
export { evalCommand } from './commands/eval';
export { registerDataset, resolveDataset, datasetNames, type CliDataset, type ProbeFeatures, type ProbeScore } from './datasets';
export { readRunConfig, runConfigSchema, type RunConfig } from './run-config';
export type { Io } from './io';

const HELP = `ssl: self-supervised learning for TypeScript

Usage:
  ssl list [--json]                      methods, families, modalities, config fields
  ssl pretrain --method NAME [options]   pretrain, then linear probe vs random init
  ssl eval --run DIR [--protocol P]      evaluate a run's encoder (linear | knn | finetune)

Run \`ssl <command> --help\` for a command's options.`;

const COMMANDS = { list: listCommand, pretrain: pretrainCommand, eval: evalCommand } as const;

/**
 * Runs the `ssl` command line and returns the exit code. Errors become one line on stderr
 * (what failed, the value, the fix), never a stack trace unless SSL_DEBUG=1.
 *
 * @example
 * process.exitCode = await main(['pretrain', '--method', 'rotation', '--epochs', '1']);
 */
export async function main(argv: string[], io: Io = processIo, registry: Registry = builtinRegistry()): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP);
    return command ? 0 : 1;
  }
  const run = COMMANDS[command as keyof typeof COMMANDS];
  try {
    if (!run) throw new SslError(`Unknown command "${command}". Must be one of [${Object.keys(COMMANDS).join(', ')}]. Run \`ssl --help\`.`);
    return await run(rest, io, registry);
  } catch (e) {
    const debug = process.env.SSL_DEBUG === '1';
    if (e instanceof SslError) {
      io.err(`error: ${e.message}`);
      if (debug && e.stack) io.err(e.stack);
      return e.exitCode;
    }
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    io.err(`error: ${msg} (set SSL_DEBUG=1 to see the stack trace)`);
    if (debug && e instanceof Error && e.stack) io.err(e.stack);
    return 1;
  }
}
