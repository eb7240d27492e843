import { SslError } from '@ssl/core';
import { z } from 'zod';

/** Field names of a zod object schema (none for anything else). */
export function fieldsOf(schema: z.ZodTypeAny): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/**
 * Routes `--set` pairs to the configs they belong to. Keys are namespaced (`task.momentum`,
 * `encoder.hidden`, `trainer.lr`, `probe.epochs`); a bare key is accepted only when exactly one
 * namespace has it, and refused, naming every candidate, when several do.
 *
 * @example
 * routeSets({ 'task.momentum': 0.999, lr: 0.01 }, { trainer: ['lr', 'momentum'], task: ['momentum'] }, 'method "moco"');
 * // { trainer: { lr: 0.01 }, task: { momentum: 0.999 } }
 */
export function routeSets(sets: Record<string, unknown>, spaces: Record<string, readonly string[]>, where: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = Object.fromEntries(Object.keys(spaces).map((s) => [s, {}]));
  for (const [key, value] of Object.entries(sets)) {
    const dot = key.indexOf('.');
    const space = dot > 0 ? key.slice(0, dot) : undefined;
    if (space !== undefined && Object.hasOwn(spaces, space)) {
      const field = key.slice(dot + 1);
      if (!spaces[space]!.includes(field)) {
        throw new SslError(
          `Unknown --set key "${key}" for ${where}: ${space} has no field "${field}". Must be one of [${spaces[space]!.map((f) => `${space}.${f}`).join(', ')}].`,
        );
      }
      out[space]![field] = value;
      continue;
    }
    const candidates = Object.keys(spaces).filter((s) => spaces[s]!.includes(key));
    if (candidates.length === 1) out[candidates[0]!]![key] = value;
    else if (candidates.length > 1) throw new SslError(`--set ${key} is ambiguous: use ${candidates.map((s) => `${s}.${key}`).join(' or ')}.`);
    else throw new SslError(`Unknown --set key "${key}" for ${where}. Must be one of [${settableKeys(spaces).join(', ')}].`);
  }
  return out;
}

/** Every key in the form that works: bare where unique, `namespace.key` where not. */
export function settableKeys(spaces: Record<string, readonly string[]>): string[] {
  const count = new Map<string, number>();
  for (const fields of Object.values(spaces)) for (const f of fields) count.set(f, (count.get(f) ?? 0) + 1);
  return Object.entries(spaces).flatMap(([space, fields]) => fields.map((f) => (count.get(f) === 1 ? f : `${space}.${f}`)));
}

/**
 * Parses `--set key=value` strings; values are JSON when they parse as JSON, else strings.
 *
 * @example
 * parseSets(['lr=0.01', 'task.mode=fast']); // { lr: 0.01, 'task.mode': 'fast' }
 */
export function parseSets(sets: readonly string[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of sets ?? []) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new SslError(`Invalid --set "${s}": must be key=value, e.g. --set lr=0.001.`);
    const key = s.slice(0, eq).trim();
    const raw = s.slice(eq + 1).trim();
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    out[key] = value;
  }
  return out;
}
