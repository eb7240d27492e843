import { trainerConfigSchema } from '@ssl/core';
import { fieldsOf, probeSchema, type Catalogue } from '@ssl/runner';
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

/**
 * The `--set` key that reaches a task field: bare where no trainer, probe or encoder field has the
 * same name (for any registered encoder), else `task.KEY`.
 */
export function taskSetKey(catalogue: Catalogue, field: string): string {
  const others = new Set([...fieldsOf(trainerConfigSchema), ...fieldsOf(probeSchema), ...catalogue.encoders.list().flatMap((e) => fieldsOf(e.config))]);
  return others.has(field) ? `task.${field}` : field;
}

/** `ssl list`: methods (family, modality, config fields), datasets, protocols and encoders. */
export async function listCommand(argv: string[], io: Io, catalogue: Catalogue): Promise<number> {
  const { values } = parseFlags('list', argv, { json: { type: 'boolean' }, help: { type: 'boolean' } } as const);
  if (values.help) {
    io.out(
      'Usage: ssl list [--json]\n\nLists every registered method (family, modality, paper, config fields with the --set key that reaches each), dataset, evaluation protocol and encoder.',
    );
    return 0;
  }
  const methods = catalogue.tasks.list().map((t) => ({
    name: t.name,
    family: t.family,
    modality: t.modality,
    title: t.title,
    paper: t.paper,
    description: t.description,
    trainDefaults: t.trainDefaults ?? {},
    config: describeFields(t.config).map((f) => ({ ...f, set: taskSetKey(catalogue, f.name) })),
  }));
  const datasets = catalogue.datasets.list().map((d) => ({
    name: d.name.endsWith(':') ? `${d.name}PATH` : d.name,
    modality: d.modality,
    summary: d.summary,
    defaultEncoder: d.defaultEncoder,
    protocol: d.protocol?.name ?? 'linear',
  }));
  const protocols = catalogue.protocols.list().map((p) => ({ name: p.name, summary: p.summary }));
  const encoders = catalogue.encoders
    .list()
    .map((e) => ({ name: e.name, description: e.description, config: describeFields(e.config).map((f) => ({ ...f, set: `encoder.${f.name}` })) }));
  if (values.json) {
    io.out(JSON.stringify({ methods, datasets, protocols, encoders }));
    return 0;
  }
  const byFamily = new Map<string, typeof methods>();
  for (const m of methods) byFamily.set(m.family, [...(byFamily.get(m.family) ?? []), m]);
  for (const [family, ms] of byFamily) {
    io.out(`${family}`);
    for (const m of ms) {
      io.out(`  ${m.name.padEnd(22)} ${m.modality.padEnd(9)} ${m.title}`);
      for (const f of m.config) io.out(`      --set ${f.set}=${JSON.stringify(f.default)}  (${f.type}) ${f.description}`);
    }
  }
  io.out('datasets (--dataset)');
  for (const d of datasets) io.out(`  ${d.name.padEnd(22)} ${d.modality.padEnd(9)} ${d.summary} [encoder ${d.defaultEncoder}, protocol ${d.protocol}]`);
  io.out('protocols (ssl eval --protocol)');
  for (const p of protocols) io.out(`  ${p.name.padEnd(22)} ${p.summary}`);
  io.out('encoders (--encoder; fields: --set encoder.KEY=...)');
  for (const e of encoders) io.out(`  ${e.name.padEnd(22)} ${e.description}`);
  return 0;
}
