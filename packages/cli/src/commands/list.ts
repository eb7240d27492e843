import type { Registry } from '@ssl/core';
import { z } from 'zod';
import { parseFlags } from '../args';
import type { Io } from '../io';

/** One config field of a task, as `ssl list` shows it. */
export interface FieldInfo {
  name: string;
  type: string;
  default: unknown;
  description: string;
}

function describeType(s: z.ZodTypeAny): string {
  let t = s;
  while (t instanceof z.ZodDefault || t instanceof z.ZodOptional) t = t instanceof z.ZodDefault ? t._def.innerType : t._def.innerType;
  if (t instanceof z.ZodEnum) return (t.options as string[]).map((o) => JSON.stringify(o)).join(' | ');
  if (t instanceof z.ZodNumber) return t.isInt ? 'integer' : 'number';
  if (t instanceof z.ZodBoolean) return 'boolean';
  if (t instanceof z.ZodString) return 'string';
  if (t instanceof z.ZodArray) return `${describeType(t.element)}[]`;
  return t._def.typeName?.replace(/^Zod/, '').toLowerCase() ?? 'value';
}

/** Lists a zod object's fields with types, defaults and descriptions. */
export function describeFields(schema: z.ZodTypeAny): FieldInfo[] {
  if (!(schema instanceof z.ZodObject)) return [];
  const defaults = schema.safeParse({}).data ?? {};
  return Object.entries(schema.shape as Record<string, z.ZodTypeAny>).map(([name, field]) => ({
    name,
    type: describeType(field),
    default: (defaults as Record<string, unknown>)[name],
    description: field.description ?? '',
  }));
}

/** `ssl list`: methods with family, modality and config fields. */
export async function listCommand(argv: string[], io: Io, registry: Registry): Promise<number> {
  const { values } = parseFlags('list', argv, { json: { type: 'boolean' }, help: { type: 'boolean' } } as const);
  if (values.help) {
    io.out('Usage: ssl list [--json]\n\nLists every registered method with its family, modality, paper and config fields.');
    return 0;
  }
  const methods = registry.list().map((t) => ({
    name: t.name,
    family: t.family,
    modality: t.modality,
    title: t.title,
    paper: t.paper,
    description: t.description,
    trainDefaults: t.trainDefaults ?? {},
    config: describeFields(t.config),
  }));
  if (values.json) {
    io.out(JSON.stringify({ methods }));
    return 0;
  }
  const byFamily = new Map<string, typeof methods>();
  for (const m of methods) byFamily.set(m.family, [...(byFamily.get(m.family) ?? []), m]);
  for (const [family, ms] of byFamily) {
    io.out(`${family}`);
    for (const m of ms) {
      io.out(`  ${m.name.padEnd(22)} ${m.modality.padEnd(9)} ${m.title}`);
      for (const f of m.config) io.out(`      --set ${f.name}=${JSON.stringify(f.default)}  (${f.type}) ${f.description}`);
    }
  }
  return 0;
}
