import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

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
);
