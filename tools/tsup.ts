import type { Options } from 'tsup';

/**
 * The one tsup configuration every package uses: ESM + CJS + declarations from
 * `src/index.ts` (plus any extra entries, e.g. a CLI bin). Dependencies stay external
 * so a single copy of TensorFlow.js is shared by all `@ssl/*` packages.
 */
export function libraryConfig(extra: { entry?: Record<string, string>; banner?: string } = {}): Options {
  return {
    entry: { index: 'src/index.ts', ...(extra.entry ?? {}) },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    platform: 'neutral',
    tsconfig: 'tsconfig.build.json',
    // tfjs-node is an optional peer: never bundle it, never require it statically.
    external: [/^@tensorflow\//, /^@ssl\//, /^node:/],
    splitting: false,
    shims: true,
    ...(extra.banner ? { banner: { js: extra.banner } } : {}),
  };
}
