/**
 * No setting is half-wired. Every row of every function's contract (lambda/shared/settings) is
 * found all along its way: the prop that sets it (or the construct's own source for it), the
 * function's environment the construct writes, the stage field of cdk.json that sets the prop, and
 * the function's code that reads it back. A row added to a table without one of these fails here,
 * naming the row and the missing step.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import {
  PROPS_WITHOUT_STAGE_FIELD,
  STAGE_FIELDS,
  type StageConfig,
  stageFieldsOf,
  stageProps,
  type StageProps,
} from '../../app/stage-fields';
import type { AuthKitMcpServerProps } from '../../lib/authkit-mcp-server-props';
import { authorizerEnvironment, mcpEnvironment, metadataEnvironment } from '../../lib/function-environments';
import { resolveServerSettings } from '../../lib/server-settings';
import { FUNCTION_TABLES, isFlagRow, rangeOf, stageFieldOf } from '../../lib/setting-rows';
import type { PropBinding, Setting } from '../../lambda/shared/settings/setting';

const ROOT = path.resolve(__dirname, '..', '..');
const BASE: AuthKitMcpServerProps = { authkitDomain: 'acme.authkit.app' };
const STAGE_URL = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:request-state-AbCdEf';
const WORKOS_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:workos-AbCdEf';
const TABLE_NAME = 'McpServer-StateTable-ABC';

type FunctionName = keyof typeof FUNCTION_TABLES;
type Row = Setting<unknown>;

/** The code of each function that reads its environment back: its folder (the sample server's too, for the MCP function). */
const READERS: Record<FunctionName, readonly string[]> = {
  authorizer: ['lambda/authorizer'],
  metadata: ['lambda/metadata'],
  mcp: ['lambda/runtime', 'lambda/mcp'],
};

/** Each function's environment as the construct writes it from `props`. */
function environments(props: AuthKitMcpServerProps): Record<FunctionName, Record<string, string>> {
  const settings = resolveServerSettings(props);
  const url = settings.publicBaseUrl ?? STAGE_URL;
  return {
    authorizer: authorizerEnvironment(settings, url),
    metadata: metadataEnvironment(settings, url),
    mcp: mcpEnvironment(settings, url, SECRET_ARN, TABLE_NAME, WORKOS_SECRET_ARN),
  };
}

/** A prop value unlike the default, for the props whose row kind does not give one. */
const SAMPLES: Partial<Record<keyof AuthKitMcpServerProps, unknown>> = {
  authkitDomain: 'other.authkit.app',
  publicBaseUrl: 'https://mcp.example.com',
  acceptedAudiences: ['client_01ABC'],
  tokenAlgorithms: ['ES256'],
  allowedOrganizations: ['org_01EHZNVPK3SFK441A1RGBFSHRT'],
  requiredScopes: ['mcp:read'],
  scopesSupported: ['mcp:write'],
  serviceName: 'acme-tools',
  metricsNamespace: 'AcmeTools',
  logLevel: 'DEBUG',
  resourceName: 'Acme tools',
  resourceDocumentation: 'https://docs.example.com/mcp',
  allowedOrigins: ['https://app.example.com'],
  responseTransferMode: 'buffered',
  maxConcurrentRequestsPerCaller: 5,
  subscriptionMaxDuration: Duration.seconds(60),
  stepUpChallenge: { toolScopes: { server_config: ['mcp:admin'] } },
  workosApiBaseUrl: 'https://workos.example.com',
};

/** A valid prop value other than the default: a sample, or one the row's kind gives (a bound, the other flag). */
function sampleOf(row: Row, binding: PropBinding): unknown {
  if (binding.name in SAMPLES) return SAMPLES[binding.name as keyof AuthKitMcpServerProps];
  const range = rangeOf(row);
  if (range !== undefined) {
    const value = range.max !== range.fallback ? range.max : range.min;
    if (binding.unit === undefined) return value;
    return binding.unit === 'ms' ? Duration.millis(value) : Duration.seconds(value);
  }
  if (isFlagRow(row)) return !(row as unknown as { fallback: boolean }).fallback;
  return undefined;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function sourceOf(folder: string): string {
  return fs
    .readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => fs.readFileSync(path.join(ROOT, folder, file), 'utf8'))
    .join('\n');
}

const rows = (Object.entries(FUNCTION_TABLES) as [FunctionName, Record<string, Row>][]).flatMap(([fn, table]) =>
  Object.entries(table).map(([key, row]) => ({ fn, key, row })),
);
const base = environments(BASE);

describe('every settings row is wired end to end', () => {
  it('covers the rows of every function', () => {
    expect(rows.length).toBeGreaterThan(35);
  });

  describe.each(rows.map((entry) => [`${entry.fn}.${entry.key} (${entry.row.variable})`, entry] as const))(
    '%s',
    (_name, { fn, key, row }) => {
      it('is set by a prop, or says what the construct sets it from', () => {
        // One of the two, never both: a row with a prop is derived from it.
        expect([row.prop === undefined, row.source === undefined].filter(Boolean)).toHaveLength(1);
        if (row.source !== undefined) expect(row.source.trim()).not.toBe('');
      });

      it("reaches the function's environment", () => {
        if (row.prop === undefined) {
          expect(base[fn][row.variable]).toBeDefined();
          return;
        }
        const sample = sampleOf(row, row.prop);
        if (sample === undefined) throw new Error(`give the prop ${row.prop.name} a sample value in SAMPLES`);

        // Act
        const changed = environments({ ...BASE, [row.prop.name]: sample });

        // Assess: the prop moves the variable.
        expect(changed[fn][row.variable]).toBeDefined();
        expect(changed[fn][row.variable]).not.toEqual(base[fn][row.variable]);
      });

      it('is set by a stage field that carries the prop through cdk.json, or says why no field can', () => {
        if (row.prop === undefined) return;
        const { name } = row.prop;
        // The stage app sets such a prop itself, for the reason PROPS_WITHOUT_STAGE_FIELD gives.
        if ((PROPS_WITHOUT_STAGE_FIELD as readonly string[]).includes(name)) {
          expect(Object.values(STAGE_FIELDS).some((field) => field.prop === name)).toBe(false);
          return;
        }
        const fields = Object.entries(STAGE_FIELDS).filter(([, field]) => field.prop === name);
        expect(fields.map(([field]) => field)).toHaveLength(1);
        if (row.prop.byConstruct !== true) expect(fields[0]?.[0]).toBe(stageFieldOf(row.prop).field);
        const sample = sampleOf(row, row.prop);

        // Act: the prop as a stage writes it, read back as props.
        const stage = { name: 'dev', authkitDomain: 'acme.authkit.app', ...stageFieldsOf({ [name]: sample }) };
        const props = { ...BASE, ...stageProps(stage as StageConfig) } as AuthKitMcpServerProps;

        // Assess
        expect(environments(props)[fn][row.variable]).toEqual(
          environments({ ...BASE, [name]: sample } as StageProps as AuthKitMcpServerProps)[fn][row.variable],
        );
      });

      it("is read back by the function's code", () => {
        if (row.variable.startsWith('POWERTOOLS_')) {
          // Powertools reads its own variables when the function makes its logger (and metrics).
          expect(READERS[fn].map(sourceOf).join('\n')).toMatch(/new Logger\(/);
          return;
        }
        // Through the table (`<TABLE>.<key>`) or the settings read with it (`settings.<key>`).
        const read = new RegExp(`(\\bsettings|_SETTINGS)\\.${escapeRegExp(key)}\\b`);
        expect(READERS[fn].some((folder) => read.test(sourceOf(folder)))).toBe(true);
      });
    },
  );
});
