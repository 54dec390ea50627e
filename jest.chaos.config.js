/** Chaos tests: real processes killed at random for minutes. `npm run test:chaos`, not part of `npm test`. */
const base = require('./jest.config');

module.exports = {
  ...base,
  testMatch: ['**/*.chaos.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 600000,
  // One at a time: each one loads the machine on purpose.
  maxWorkers: 1,
};
