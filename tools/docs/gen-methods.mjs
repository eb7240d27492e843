// Generates docs/methods/*.md from the registry the CLI uses (the built packages), so every
// registered task has a page with its real config fields, defaults and descriptions.
// Run after `npm run build`: node tools/docs/gen-methods.mjs
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = await import(path.join(root, 'packages/cli/dist/index.js'));
const families = {
  context: await import(path.join(root, 'packages/context/dist/index.js')),
  temporal: await import(path.join(root, 'packages/temporal/dist/index.js')),
  contrastive: await import(path.join(root, 'packages/contrastive/dist/index.js')),
};

const out = path.join(root, 'docs/methods');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** The exported name of a task value in its family package (e.g. rotationTask). */
function exportName(task) {
  const mod = families[task.family];
  const hit = mod && Object.entries(mod).find(([, v]) => v === task);
  if (!hit) throw new Error(`task "${task.name}" is not exported by @ssl/${task.family}: export it so its docs page can show an API example`);
  return hit[0];
}

const cell = (v) => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const json = (v) => (v === undefined ? '—' : `\`${cell(JSON.stringify(v))}\``);

const tasks = cli.builtinRegistry().list();
const catalogue = cli.builtinCatalogue();
const datasetsOf = (modality) => catalogue.datasets.choices(modality);

function page(task) {
  const fields = cli.describeFields(task.config);
  const datasets = datasetsOf(task.modality);
  const dataset = datasets[0];
  const name = exportName(task);
  const pkg = `@ssl/${task.family}`;
  const td = task.trainDefaults ?? {};
  const lines = [
    `# ${task.title}`,
    '',
    `\`${task.name}\` · family **${task.family}**${task.group ? ` (${task.group})` : ''} · modality **${task.modality}** · package \`${pkg}\` (export \`${name}\`)`,
    '',
    `> ${task.paper}`,
    '',
    '## What it learns',
    '',
    task.description,
    '',
    '## Config',
    '',
    fields.length
      ? ['| field | `--set` key | type | default | description |', '|---|---|---|---|---|', ...fields.map((f) => `| \`${f.name}\` | \`${cli.taskSetKey(catalogue, f.name)}\` | ${cell(f.type)} | ${json(f.default)} | ${cell(f.description)} |`)].join('\n')
      : 'This method has no config fields.',
    '',
    'Set any field from the CLI with `--set KEY=value`, KEY as in the `--set key` column (`task.field` where a trainer, probe or encoder field has the same name; `task.field` always works); from the API pass it in `taskConfig`. Defaults are the paper\'s unless the description says otherwise.',
    '',
    '## Trainer defaults',
    '',
    '| epochs | batch size | learning rate | optimizer | weight decay | training inputs |',
    '|---|---|---|---|---|---|',
    `| ${td.epochs ?? '—'} | ${td.batchSize ?? '—'} | ${td.lr ?? '—'} | ${td.optimizer ?? 'adam'} | ${td.weightDecay ?? 0} | ${td.limit ?? 'all'} |`,
    '',
    'These are scaled so a run finishes in minutes on 2 CPU cores; papers train for far longer.',
    '',
    '## CLI',
    '',
    '```sh',
    `npx ssl pretrain --method ${task.name}${dataset ? ` --dataset ${dataset}` : ''}`,
    ...(fields[0] ? [`npx ssl pretrain --method ${task.name}${dataset ? ` --dataset ${dataset}` : ''} --set ${cli.taskSetKey(catalogue, fields[0].name)}=${JSON.stringify(fields[0].default)} --epochs 1`] : []),
    '```',
    '',
    `Datasets of modality ${task.modality}: ${datasets.length ? datasets.map((d) => `\`${d}\``).join(', ') : 'none built in yet ([bring your own](../guide/datasets.md))'}.`,
    '',
    '## API',
    '',
    '```ts',
    "import { createRegistry, initBackend, train } from '@ssl/core';",
    `import { ${name} } from '${pkg}';`,
    ...(task.modality === 'image'
      ? ["import { loadMnist } from '@ssl/data';", "import { createConvNet } from '@ssl/encoders';", '', 'await initBackend();', `createRegistry().use(${name}); // typed lookups: registry.get('${task.name}')`, 'const encoder = createConvNet({ seed: 0 });', "const source = loadMnist('train', { limit: 2000 });"]
      : ['', 'await initBackend();', `createRegistry().use(${name});`, `// encoder: an @ssl/encoders model for ${task.modality} inputs; source: a DataSource<${task.modality}> from @ssl/data`]),
    `const result = await train({ task: ${name}, encoder, source, config: { epochs: 1 }${fields[0] ? `, taskConfig: { ${fields[0].name}: ${JSON.stringify(fields[0].default)} }` : ''} });`,
    '```',
    '',
  ];
  return lines.join('\n');
}

const byFamily = new Map();
for (const t of tasks) {
  writeFileSync(path.join(out, `${t.name}.md`), page(t));
  byFamily.set(t.family, [...(byFamily.get(t.family) ?? []), t]);
}
const index = ['# Methods', '', `Every pretext task registered in the built-in registry (${tasks.length} in all), generated from the code: the tables below and each page read the tasks' zod schemas.`, ''];
const table = (ts) => ['| method | modality | title |', '|---|---|---|', ...ts.map((t) => `| [\`${t.name}\`](./${t.name}.md) | ${t.modality} | ${cell(t.title)} |`), ''];
for (const [family, ts] of byFamily) {
  // Tasks with a `group` (e.g. joint-embedding) get their own sub-section within the family.
  const groups = [...new Set(ts.map((t) => t.group).filter(Boolean))];
  const plain = ts.filter((t) => !t.group);
  index.push(`## ${family}`, '', ...(plain.length ? table(plain) : []));
  for (const g of groups) index.push(`### ${family}: ${g}`, '', ...table(ts.filter((t) => t.group === g)));
}
writeFileSync(path.join(out, 'index.md'), index.join('\n'));
writeFileSync(
  path.join(out, 'sidebar.json'),
  JSON.stringify([...byFamily].map(([family, ts]) => ({ text: family, items: ts.map((t) => ({ text: t.group ? `${t.name} (${t.group})` : t.name, link: `/methods/${t.name}` })) })), null, 2),
);
console.log(`docs: ${tasks.length} method pages in docs/methods`);
