// ESLint with typescript-eslint's type-checked rules. A rule that the code base breaks on purpose is
// turned off or narrowed here, once, with its reason; no scattered disable comments.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'web/dist/',
      'runs/',
      'fixtures/',
      'datasets/',
      'models/demo-encoder/',
      '.bench-cache/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver': { node: { extensions: ['.ts', '.js', '.mjs'] } },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Error messages print shapes, index lists and dtypes inline (`shape [2,3] vs [3]`): arrays and
      // numbers in templates are the point of those messages.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true, allowArray: true, allowNullish: true },
      ],
      // The WASM backend hands kernels an object of getters over its heap, which is replaced when
      // memory grows; the getters must read the backend's current heap, hence a captured `self`.
      '@typescript-eslint/no-this-alias': 'off',
      'import-x/no-cycle': 'error',
    },
  },
  {
    // Plain JavaScript (the bin shim, the build and test scripts) has no types to check against.
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // @huggingface/tokenizers 0.2 ships declarations with extensionless relative imports, which do not
    // resolve under NodeNext: its classes reach the linter as error types, though they work as documented.
    files: ['models/bert/tokenizer/tokenizer.ts', 'pretrain/wordpiece-trainer.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  {
    // The f16 proofs write float literals exactly as numpy prints them (17 significant digits) so a
    // reader can compare them with the reference; the extra digits are intended.
    files: ['proofs-tests/ops/half.test.ts'],
    rules: { 'no-loss-of-precision': 'off' },
  },
);
