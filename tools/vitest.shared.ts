import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const packages = ['core', 'encoders', 'data', 'eval', 'context', 'temporal', 'contrastive', 'runner', 'cli'];

/** Tests import sibling packages from source, so no build is needed to run them. */
export const sourceAliases = Object.fromEntries(packages.map((p) => [`@ssl/${p}`, path.join(root, 'packages', p, 'src', 'index.ts')]));

/** The vitest project config shared by every package (`name` is the package folder). */
export function packageProject(name: string): UserWorkspaceConfig {
  return defineProject({
    resolve: { alias: sourceAliases },
    test: {
      name,
      include: ['src/**/__tests__/**/*.test.ts'],
      typecheck: { enabled: true, include: ['src/**/__tests__/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
      environment: 'node',
      // tfjs keeps global state (backend, kernel registry): one fork per file keeps files isolated.
      pool: 'forks',
      testTimeout: 120_000,
      hookTimeout: 120_000,
      env: { SSL_QUIET: '1' },
    },
  });
}
