/**
 * The fault suite (`npm run test:faults`): each case starts its own throwaway Postgres and Redis
 * and drives built `tally` processes (run `npm run build` first; the npm script does). One case
 * at a time: they measure, and they kill processes.
 */
/** @type {import('jest').Config} */
const base = require('./jest.config.js');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  transform: base.transform,
  transformIgnorePatterns: base.transformIgnorePatterns,
  testTimeout: 10 * 60_000,
  maxWorkers: 1,
};
