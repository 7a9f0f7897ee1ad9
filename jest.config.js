/** Jest runs the TypeScript sources through ts-jest against the machine's real Postgres and Redis. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The fault suite has its own script and config (jest.faults.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
  transform: {
    // Type checking happens once in `npm run typecheck`; here we only transpile for speed.
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: { module: 'node20', moduleResolution: 'node16', allowJs: true, isolatedModules: true, sourceMap: true } }],
  },
  // p-retry, is-network-error, content-disposition (via @fastify/static), cookie and set-cookie-parser
  // (via fastify's inject) are ESM-only; Jest on Node 20
  // cannot load them untransformed.
  transformIgnorePatterns: ['/node_modules/(?!(p-retry|is-network-error|content-disposition|cookie|set-cookie-parser)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
