const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['tests/helpers/node-realm-environment.js', 'dist/', 'node_modules/', 'models/demo/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/workers/**', '../workers/*'], message: 'src/ never imports workers/' }] }],
    },
  },
  {
    files: ['workers/**', 'scripts/**', 'tests/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    // Tests read JSON responses whose shape is what they assert.
    files: ['tests/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The web page: browser ES modules. Its globals are the DOM's, which tsc checks (tsconfig.web.json,
    // lib DOM) more exactly than a list could: no-undef is left to it, as typescript-eslint advises.
    files: ['src/web/public/**'],
    languageOptions: { sourceType: 'module' },
    rules: {
      'no-undef': 'off',
      // Globals of the DOM that are easy to use by mistake for a local of the same name.
      'no-restricted-globals': ['error', 'event', 'name', 'status', 'length', 'closed', 'parent', 'top', 'self', 'origin'],
    },
  },
  {
    files: ['*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: { globals: { module: 'writable', require: 'readonly' } },
  },
);
