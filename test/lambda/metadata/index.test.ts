import type { Context } from 'aws-lambda';
import { startMetadataOrigin, type MetadataOrigin } from '../../../fixtures/metadata-origin';
import { metadataEvent } from './fixtures/metadata-event';

type MetadataEntry = typeof import('../../../lambda/metadata/index');

const BASE_ENVIRONMENT = {
  PUBLIC_BASE_URL: 'https://mcp.example.com',
  SCOPES_SUPPORTED: 'mcp:tools offline_access',
  POWERTOOLS_SERVICE_NAME: 'mcp-metadata',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

const lambdaContext = {
  functionName: 'metadata',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:metadata',
  memoryLimitInMB: '256',
  awsRequestId: 'req-1',
} as Context;

/** Loads the entry file as a cold start would, with its own module registry and the given environment. */
function coldStart(environment: Record<string, string>): MetadataEntry {
  const saved = { ...process.env };
  Object.assign(process.env, environment);
  try {
    const loaded: { entry?: MetadataEntry } = {};
    jest.isolateModules(() => {
      loaded.entry = jest.requireActual<MetadataEntry>('../../../lambda/metadata/index');
    });
    if (!loaded.entry) throw new Error('jest.isolateModules returned without loading lambda/metadata/index.');
    return loaded.entry;
  } finally {
    for (const key of Object.keys(environment)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}

describe('metadata entry file', () => {
  let origin: MetadataOrigin;
  let logLines: string[];
  let outputs: jest.SpyInstance[];

  function structuredLogs(): Array<Record<string, unknown>> {
    return logLines
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  beforeEach(async () => {
    origin = await startMetadataOrigin();
    logLines = [];
    // Powertools writes INFO to stdout and WARN and above to stderr.
    outputs = [process.stdout, process.stderr].map((stream) =>
      jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logLines.push(String(chunk));
        return true;
      }),
    );
  });

  afterEach(async () => {
    for (const output of outputs) output.mockRestore();
    await origin.close();
  });

  it('configures itself from the environment at cold start and serves the metadata', async () => {
    // Prepare
    const { handler } = coldStart({ ...BASE_ENVIRONMENT, AUTHKIT_ISSUER: origin.issuer });

    // Act
    const prm = await handler(metadataEvent({ path: '/.well-known/oauth-protected-resource/mcp' }), lambdaContext);
    const asCopy = await handler(metadataEvent({ path: '/.well-known/oauth-authorization-server' }), lambdaContext);

    // Assess
    expect(prm.statusCode).toBe(200);
    expect(JSON.parse(prm.body)).toMatchObject({
      resource: 'https://mcp.example.com/mcp',
      authorization_servers: [origin.issuer],
      scopes_supported: ['mcp:tools'],
    });
    expect(asCopy.statusCode).toBe(200);
    expect(JSON.parse(asCopy.body).issuer).toBe(origin.issuer);
  });

  it('writes structured Powertools logs: configuration, ignored scopes, and the cache miss with upstream status and latency', async () => {
    const { handler } = coldStart({ ...BASE_ENVIRONMENT, AUTHKIT_ISSUER: origin.issuer });

    await handler(metadataEvent({ path: '/.well-known/openid-configuration' }), lambdaContext);

    const logs = structuredLogs();
    expect(logs).toContainEqual(
      expect.objectContaining({
        level: 'INFO',
        message: 'Metadata function configured',
        service: 'mcp-metadata',
        resource: 'https://mcp.example.com/mcp',
      }),
    );
    expect(logs).toContainEqual(expect.objectContaining({ level: 'WARN', ignoredScopes: ['offline_access'] }));
    const miss = logs.find((entry) => entry.cache === 'miss');
    expect(miss).toMatchObject({
      level: 'INFO',
      document: 'openid-configuration',
      upstreamStatus: 200,
      function_request_id: 'req-1',
    });
    expect(typeof miss?.latencyMs).toBe('number');
  });

  it('refuses to start without an issuer, naming the variable in the error and in a critical log', () => {
    const start = () => coldStart({ ...BASE_ENVIRONMENT, AUTHKIT_ISSUER: '' });

    // The entry file is loaded in its own module registry, so its error class is not this file's: check by code.
    expect(start).toThrow(expect.objectContaining({ code: 'INVALID_METADATA_CONFIG', variable: 'AUTHKIT_ISSUER' }));
    expect(start).toThrow(/^AUTHKIT_ISSUER: is not set/);
    expect(structuredLogs()).toContainEqual(
      expect.objectContaining({ level: 'CRITICAL', errorMessage: expect.stringContaining('AUTHKIT_ISSUER') }),
    );
  });
});
