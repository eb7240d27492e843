// `npm run docs:build`: generates the method pages (from the registry), the demo assets (an
// encoder exported by `ssl pretrain`) and the API reference (TypeDoc), then builds the VitePress
// site into docs/.vitepress/dist. Needs the built packages (`npm run build`). A broken internal
// link fails the VitePress build.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
if (!existsSync(path.join(root, 'packages/cli/dist/index.js'))) {
  console.error('docs:build needs the built packages: run `npm run build` first.');
  process.exit(1);
}
const bin = (name) => path.join(root, 'node_modules/.bin', name);
const step = (label, cmd, args, cwd = root) => {
  const t = performance.now();
  execFileSync(cmd, args, { cwd, stdio: 'inherit' });
  console.log(`docs: ${label} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
};
step('method pages', process.execPath, [path.join(root, 'tools/docs/gen-methods.mjs')]);
step('demo assets', process.execPath, [path.join(root, 'tools/docs/make-demo.mjs')]);
step('API reference', bin('typedoc'), ['--options', 'typedoc.json'], path.join(root, 'docs'));
step('site', bin('vitepress'), ['build', 'docs'], root);
