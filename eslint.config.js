// Lint rules for the sources (`npm test` runs them); formatting is prettier's (.prettierrc.json).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'cli/fixtures/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      // Terminal escapes and control bytes in names are matched on purpose.
      'no-control-regex': 'off',
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // Tests read JSON output and reach into internals.
    files: ['**/*.test.ts', '**/testing/**', '**/*.fixture.ts', 'suites/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'require-yield': 'off' },
  },
);
