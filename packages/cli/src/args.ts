import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SslError } from '@ssl/core';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parsed flag values: strings, booleans, or lists for repeatable flags. */
export type FlagValues = Record<string, string | boolean | string[] | undefined> & { [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * Parses a command's flags strictly. Unknown flags and missing values become one-line
 * SslErrors that list the allowed flags. `--epochs -1` is read as a value, not a flag.
 */
export function parseFlags<O extends Options>(command: string, argv: string[], options: O): { values: FlagValues } {
  const fixed: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    // A negative number after a value-taking flag is that flag's value.
    if (a.startsWith('--') && !a.includes('=') && next !== undefined && /^-\d/.test(next) && options[a.slice(2)]?.type === 'string') {
      fixed.push(`${a}=${next}`);
      i++;
    } else fixed.push(a);
  }
  try {
    return parseArgs({ args: fixed, options, strict: true, allowPositionals: false }) as { values: FlagValues };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const allowed = Object.keys(options)
      .map((k) => `--${k}`)
      .join(', ');
    const unknown = /Unknown option '([^']+)'/.exec(msg);
    if (unknown) throw new SslError(`Unknown option "${unknown[1]}" for \`ssl ${command}\`. Allowed: [${allowed}]. Run \`ssl ${command} --help\`.`);
    const positional = /Unexpected argument '([^']+)'/.exec(msg);
    if (positional) throw new SslError(`Unexpected argument "${positional[1]}" for \`ssl ${command}\`; every input is a --flag. Allowed: [${allowed}].`);
    throw new SslError(`${msg.split('\n')[0]} Run \`ssl ${command} --help\`.`);
  }
}

/** Reads a numeric flag; a non-number names the flag and the value. */
export function numberFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new SslError(`Invalid --${name} "${value}": must be a number, e.g. --${name} 3.`);
  return n;
}
