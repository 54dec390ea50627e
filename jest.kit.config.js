/** The GPU kit's build and dry run (minutes of xz on 2 cores). `npm run test:kit`, not part of `npm test`. */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['**/*.kit.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 1200000,
  maxWorkers: 1,
};
