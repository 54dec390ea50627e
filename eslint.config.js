const js = require('@eslint/js');
const tseslint = require('typescript-eslint');

/** One library, one home (README "Architecture"): each library below may be imported only by its home. */
const HOMES = [
  { lib: 'onnxruntime-node', home: 'workers/runtime/inference-thread.ts' },
  { lib: 'sharp', home: 'src/imaging/image-codec.ts' },
  { lib: 'archiver', home: 'src/http/zip-stream.ts' },
  { lib: 'busboy', home: 'src/http/multipart.ts' },
  { lib: '@aws-sdk/*', home: 'src/storage/s3-blob-store.ts' },
  { lib: '@huggingface/hub', home: 'src/models/hub-client.ts' },
];
const SRC_NEVER_IMPORTS_WORKERS = { group: ['**/workers/**', '../workers/*'], message: 'src/ never imports workers/' };
const homeOf = ({ lib, home }) => ({ group: [lib], message: `only ${home} imports ${lib} (one library, one home)` });

/** The import restrictions of files in `area` (src or workers), less the library whose home they are. */
function restrictedImports(area, exceptLib) {
  const libraries = HOMES.filter((h) => h.lib !== exceptLib).map(homeOf);
  return ['error', { patterns: area === 'src' ? [SRC_NEVER_IMPORTS_WORKERS, ...libraries] : libraries }];
}

module.exports = tseslint.config(
  {
    ignores: [
      'tests/helpers/node-realm-environment.js',
      'dist/',
      'node_modules/',
      'models/demo/',
      'data/',
      'coverage/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  { files: ['src/**/*.ts'], rules: { 'no-restricted-imports': restrictedImports('src') } },
  { files: ['workers/**/*.ts'], rules: { 'no-restricted-imports': restrictedImports('workers') } },
  ...HOMES.map(({ lib, home }) => ({
    files: [home],
    rules: { 'no-restricted-imports': restrictedImports(home.split('/')[0], lib) },
  })),
  {
    // Only the config module reads the environment; main.ts hands its own environment to the worker it
    // supervises; thread-pool.ts sets libuv's UV_THREADPOOL_SIZE, which libuv reads before any config loads.
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    ignores: ['src/config.ts', 'src/main.ts', 'src/thread-pool.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'read settings through src/config.ts (loadConfig)' },
      ],
    },
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
      'no-restricted-globals': [
        'error',
        'event',
        'name',
        'status',
        'length',
        'closed',
        'parent',
        'top',
        'self',
        'origin',
      ],
    },
  },
  {
    files: ['*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
    languageOptions: { globals: { module: 'writable', require: 'readonly' } },
  },
);
