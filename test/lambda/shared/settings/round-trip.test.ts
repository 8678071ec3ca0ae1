/**
 * The settings contracts: what the construct writes to a function's environment is what the
 * function reads back, for every valid value, and each variable belongs to one row.
 */
import fc from 'fast-check';
import { AUTHORIZER_SETTINGS } from '../../../../lambda/shared/settings/authorizer';
import { MCP_SETTINGS } from '../../../../lambda/shared/settings/mcp';
import { METADATA_SETTINGS } from '../../../../lambda/shared/settings/metadata';
import {
  fromEnvironment,
  type SettingProblem,
  type SettingsOf,
  type SettingsTable,
  toEnvironment,
} from '../../../../lambda/shared/settings/setting';
import { authorizerSettings, mcpSettings, metadataSettings } from './arbitraries';

class ProblemError extends Error {
  constructor(readonly problem: SettingProblem) {
    super(`${problem.variable}: ${problem.message}`);
  }
}
const report = (problem: SettingProblem) => new ProblemError(problem);

const contracts: [string, SettingsTable, fc.Arbitrary<SettingsOf<SettingsTable>>][] = [
  ['authorizer', AUTHORIZER_SETTINGS, authorizerSettings as fc.Arbitrary<SettingsOf<SettingsTable>>],
  ['metadata', METADATA_SETTINGS, metadataSettings as fc.Arbitrary<SettingsOf<SettingsTable>>],
  ['mcp', MCP_SETTINGS, mcpSettings as fc.Arbitrary<SettingsOf<SettingsTable>>],
];

describe.each(contracts)('the %s settings contract', (_name, table, settings) => {
  it('reads back every valid setting it writes', () => {
    fc.assert(
      fc.property(settings, (written) => {
        // Act
        const read = fromEnvironment(table, toEnvironment(table, written), report);

        // Assess
        expect(read).toEqual(written);
      }),
      { numRuns: 300 },
    );
  });

  it('writes only its own variables, as strings', () => {
    const variables = new Set(Object.values(table).map((setting) => setting.variable));
    fc.assert(
      fc.property(settings, (written) => {
        for (const [variable, value] of Object.entries(toEnvironment(table, written))) {
          expect(variables.has(variable)).toBe(true);
          expect(typeof value).toBe('string');
        }
      }),
    );
  });

  it('gives each variable one row and a one-line doc', () => {
    const variables = Object.values(table).map((setting) => setting.variable);
    expect(new Set(variables).size).toBe(variables.length);
    for (const setting of Object.values(table)) expect(setting.doc).toMatch(/^[^\n]{10,}$/);
  });

  it('reports a missing required variable as missing, naming it', () => {
    const error = (() => {
      try {
        fromEnvironment(table, {}, report);
      } catch (caught) {
        return caught as ProblemError;
      }
      throw new Error('expected the empty environment to be refused');
    })();
    expect(error.problem).toMatchObject({ variable: 'PUBLIC_BASE_URL', reason: 'missing' });
  });
});

describe('the defaults every function falls back to', () => {
  it('are the construct defaults users read in the docs', () => {
    const env = { PUBLIC_BASE_URL: 'https://mcp.example.com', AUTHKIT_ISSUER: 'https://acme.authkit.app' };
    expect(fromEnvironment(AUTHORIZER_SETTINGS, env, report)).toMatchObject({
      serviceName: 'mcp-server-authorizer',
      metricsNamespace: 'McpServer',
      logLevel: 'INFO',
    });
    expect(fromEnvironment(METADATA_SETTINGS, env, report).serviceName).toBe('mcp-server-metadata');
    expect(fromEnvironment(MCP_SETTINGS, env, report).serviceName).toBe('mcp-server');
  });
});
