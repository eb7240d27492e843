import { defineConfig } from 'tsup';

// ESM only: the CLI loads plugins with `import()`.
export default defineConfig({
  entry: { index: 'src/index.ts' },
  format: ['esm'],
  dts: true,
  clean: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  external: [/^@tensorflow\//, /^@ssl\//, 'zod'],
});
