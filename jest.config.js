/** Unit tests run in-process; integration tests start real redis-server, API and worker processes. */
module.exports = {
  testEnvironment: '<rootDir>/tests/helpers/node-realm-environment.js',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  // Chaos tests (minutes of killed processes) run with `npm run test:chaos` (jest.chaos.config.js),
  // the GPU kit's build and dry run with `npm run test:kit` (jest.kit.config.js).
  testPathIgnorePatterns: ['/node_modules/', '\\.chaos\\.test\\.ts$', '\\.kit\\.test\\.ts$'],
  transform: { '^.+\\.ts$': ['@swc/jest'] },
  testTimeout: 120000,
  maxWorkers: 2,
};
