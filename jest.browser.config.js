/**
 * `npm run test:browser`: the headless-Chromium tests in test/browser, with the project's jest
 * settings. Kept out of `npm test` because it needs a browser (.ci/run installs Debian's chromium).
 */
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/browser'],
  testPathIgnorePatterns: ['/node_modules/'],
  testTimeout: 120000,
  // The browser suite runs only under this config; under the default one it skips itself.
  globals: { ...base.globals, RUN_BROWSER_TESTS: true },
};
