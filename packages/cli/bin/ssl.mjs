#!/usr/bin/env node
// A committed shim, so npm links the `ssl` command even before the package is built.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('error: @ssl/cli is not built (no dist/bin.js). Run `npm run build` at the repository root.\n');
  process.exit(1);
}
await import(entry.href);
