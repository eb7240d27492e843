/**
 * Measures the image-folder loader: JPEG read + decode throughput (images/s) on a sample of files,
 * then (with --full) loads every split of the folder through `loadImageFolder` and reports the time,
 * the resident memory and, on a second load, the decoded-pixel cache.
 *
 * Usage: nice -n 5 npx tsx --tsconfig packages/cli/tsconfig.json tools/decode-bench.ts [--root /work/cifar10] [--n 2000] [--full]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, loadImageFolder } from '@ssl/data';

const { values } = parseArgs({ options: { root: { type: 'string', default: '/work/cifar10' }, n: { type: 'string', default: '2000' }, full: { type: 'boolean', default: false } } });
const root = values.root!;
const n = Number(values.n);
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

// 1. Raw decode throughput on the first n files, round-robin over the class folders.
const trainDir = path.join(root, 'train');
const classes = readdirSync(trainDir).sort();
const lists = classes.map((c) => readdirSync(path.join(trainDir, c)).sort().map((f) => path.join(trainDir, c, f)));
const files: string[] = [];
for (let i = 0; files.length < n && i < Math.max(...lists.map((l) => l.length)); i++) for (const l of lists) if (i < l.length && files.length < n) files.push(l[i]!);
let t = performance.now();
const buffers = files.map((f) => readFileSync(f));
const readS = (performance.now() - t) / 1000;
// CPU seconds of this process beside wall seconds: on a shared machine the wall rate understates the decoder.
const cpuSince = (c: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1e6;
};
t = performance.now();
let cpu = process.cpuUsage();
for (const [i, b] of buffers.entries()) decodeImage(b, files[i]!);
const decodeS = (performance.now() - t) / 1000;
const decodeCpu = cpuSince(cpu);
console.log(
  `read ${files.length} files in ${readS.toFixed(2)} s (${(files.length / readS).toFixed(0)} files/s); decode ${(files.length / decodeS).toFixed(0)} images/s wall (${((1000 * decodeS) / files.length).toFixed(3)} ms each), ${(files.length / decodeCpu).toFixed(0)} images per CPU-second`,
);

// 2. The whole folder through the loader (listing, decoding, packing into bytes), then again from the cache.
if (values.full) {
  // Without the cache (every JPEG decoded), then twice with it (the first of these writes it if absent).
  for (const pass of ['no cache', 'cache', 'cache again']) {
    for (const split of ['train', 'test'] as const) {
      t = performance.now();
      cpu = process.cpuUsage();
      const ds = loadImageFolder(root, { split, cache: pass !== 'no cache' });
      const s = (performance.now() - t) / 1000;
      const c = cpuSince(cpu);
      const mem = process.memoryUsage();
      console.log(`${pass}: ${split} ${ds.size} images ${ds.height}×${ds.width}×${ds.channels} in ${s.toFixed(1)} s (${(ds.size / s).toFixed(0)} images/s wall, ${(ds.size / c).toFixed(0)} per CPU-second); pixels ${mb(ds.pixels.byteLength)}, rss ${mb(mem.rss)}, heap ${mb(mem.heapUsed)}`);
    }
  }
}
