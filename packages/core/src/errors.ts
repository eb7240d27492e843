import type { ZodError, ZodType, ZodTypeDef } from 'zod';

/**
 * An error meant for the user: one line saying what failed, the bad value, what is allowed
 * and how to fix it. The CLI prints its message without a stack trace and exits non-zero.
 *
 * @example
 * throw new SslError(`Unknown method "rotaton". Must be one of [rotation, autoencoder]. Run \`ssl list\`.`);
 */
export class SslError extends Error {
  override readonly name = 'SslError';
  /** Suggested process exit code for CLIs. */
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? 2;
  }
}

/** Formats a value for an error message: short, JSON-like, never huge. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function getPath(input: unknown, path: ReadonlyArray<string | number>): unknown {
  let v: unknown = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[k];
  }
  return v;
}

/** Turns a ZodError into one line per issue: `field "x" = value: what is allowed`. */
export function formatZodError(error: ZodError, input: unknown, what: string): string {
  const parts = error.issues.map((issue) => {
    const field = issue.path.join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    }
    const value = getPath(input, issue.path);
    let allowed = issue.message;
    if (issue.code === 'invalid_enum_value') allowed = `must be one of [${issue.options.join(', ')}]`;
    return `field "${field}" = ${showValue(value)}: ${allowed}`;
  });
  return `Invalid ${what}: ${parts.join('; ')}.`;
}

/**
 * Validates user input with a zod schema and throws an {@link SslError} naming the field,
 * the value and what is allowed.
 *
 * @example
 * const cfg = parseWith(z.object({ epochs: z.number().int().positive() }), { epochs: -1 }, 'trainer config');
 * // SslError: Invalid trainer config: field "epochs" = -1: Number must be greater than 0.
 */
export function parseWith<O, D extends ZodTypeDef, I>(schema: ZodType<O, D, I>, input: unknown, what: string): O {
  const r = schema.safeParse(input);
  if (!r.success) throw new SslError(formatZodError(r.error, input, what));
  return r.data;
}
