// Lint configuration: typescript-eslint's recommended rules plus the house rules of ../shared/STYLE.md
// that a linter can check (no empty catch, no floating promises in the I/O adapters).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'image/yocto-layer/**',
      'test/artifacts/**',
      '**/*.mjs',
      '.cache/**',
      // AssemblyScript (compiled by scripts/build-ecdaa-wasm.mjs), not TypeScript for Node.
      'protocol/ecdaa/wasm/assembly/**',
    ],
  },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // protocol/ is pure: no I/O modules (also enforced by test/unit/architecture.test.ts).
    files: ['protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['node:net', 'node:fs', 'node:dgram', 'node:fs/promises', 'koffi', 'net', 'fs', 'dgram'],
        },
      ],
    },
  },
);
