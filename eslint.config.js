import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

// Layers: core ← data, encoders, eval ← families (context, temporal, contrastive) ← runner ← cli.
// Each package may import only the packages below it; a back-arrow (or a sibling family) fails lint.
const ALLOWED = {
  core: [],
  data: ['core'],
  encoders: ['core'],
  eval: ['core'],
  context: ['core', 'data', 'encoders', 'eval'],
  temporal: ['core', 'data', 'encoders', 'eval'],
  contrastive: ['core', 'data', 'encoders', 'eval'],
  runner: ['core', 'data', 'encoders', 'eval', 'context', 'temporal', 'contrastive'],
  cli: ['core', 'data', 'encoders', 'eval', 'context', 'temporal', 'contrastive', 'runner'],
};
const PACKAGES = Object.keys(ALLOWED);
const layerRules = Object.entries(ALLOWED).map(([pkg, allowed]) => ({
  files: [`packages/${pkg}/src/**/*.ts`],
  ignores: ['**/__tests__/**'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...PACKAGES.filter((p) => p !== pkg && !allowed.includes(p)).map((p) => ({
            group: [`@ssl/${p}`, `@ssl/${p}/*`],
            message: `@ssl/${pkg} may import only [${allowed.map((a) => `@ssl/${a}`).join(', ') || 'no @ssl package'}] (layers: core ← data, encoders, eval ← families ← runner ← cli). Move the shared piece down instead.`,
          })),
          {
            group: ['../../*/src/**', '../../../packages/**'],
            message: 'Import another package by its name (@ssl/...), never by a relative path into its source.',
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.nx/**', 'runs/**', 'docs/.vitepress/cache/**'] },
  js.configs.recommended,
  { files: ['**/*.mjs', '**/*.js'], languageOptions: { globals: globals.node } },
  ...tseslint.configs.recommended,
  {
    rules: {
      // Unused values are errors, except deliberately ignored ones (`_name`).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // `{}` is the empty registry type of `Registry<{}>`.
      '@typescript-eslint/no-empty-object-type': 'off',
      // Non-null assertions are used after explicit length/shape checks on typed arrays.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  ...layerRules,
);
