/**
 * `npm run test:unit`: the fast inner loop, the pure unit tests of test/test-sets.js with the
 * project's jest settings. `npm test` still runs everything, and CI runs `npm test`.
 */
const path = require('node:path');
const base = require('./jest.config.js');
const { UNIT_FOLDERS, UNIT_FILES } = require('./test/test-sets.js');

const absolute = (relative) => path.join(__dirname, relative);

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: [...UNIT_FOLDERS.map((folder) => `${absolute(folder)}/**/*.test.ts`), ...UNIT_FILES.map(absolute)],
};
