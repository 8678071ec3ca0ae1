import type { APIGatewayProxyResult } from 'aws-lambda';
import { loadMetadataConfig } from '../../../lambda/metadata/config';
import type { Env } from '../../../lambda/shared/settings/setting';
import { createMetadataHandler, type MetadataHandler } from '../../../lambda/metadata/handler';
import {
  authKitMetadata,
  authKitOpenIdConfiguration,
  startMetadataOrigin,
  type MetadataOrigin,
} from '../../../fixtures/metadata-origin';
import { RecordingLogger } from './fixtures/recording-logger';
import { metadataEvent } from './fixtures/metadata-event';

const PRM_PATH = '/.well-known/oauth-protected-resource/mcp';
const PRM_ROOT_PATH = '/.well-known/oauth-protected-resource';
const AS_PATH = '/.well-known/oauth-authorization-server';
const OIDC_PATH = '/.well-known/openid-configuration';
const ALL_PATHS = [PRM_PATH, PRM_ROOT_PATH, AS_PATH, OIDC_PATH];
const EXECUTE_API_BASE = 'https://abc123.execute-api.us-east-1.amazonaws.com/prod';
const TIMEOUT_MS = 300;

function bodyOf(response: APIGatewayProxyResult): Record<string, unknown> {
  expect(response.headers?.['Content-Type']).toBe('application/json');
  return JSON.parse(response.body) as Record<string, unknown>;
}

describe('metadata handler (REST API proxy events)', () => {
  let origin: MetadataOrigin;
  let logger: RecordingLogger;
  let clock: number;

  function handlerFor(overrides: Env = {}): MetadataHandler {
    const config = loadMetadataConfig({
      PUBLIC_BASE_URL: EXECUTE_API_BASE,
      AUTHKIT_ISSUER: origin.issuer,
      SCOPES_SUPPORTED: 'mcp:tools offline_access',
      RESOURCE_NAME: 'Acme MCP',
      AS_METADATA_TIMEOUT_MS: String(TIMEOUT_MS),
      ...overrides,
    });
    return createMetadataHandler({ config, logger, now: () => clock, failureCooldownSeconds: 30 });
  }

  beforeEach(async () => {
    origin = await startMetadataOrigin();
    logger = new RecordingLogger();
    clock = Date.UTC(2026, 0, 1);
  });

  afterEach(async () => {
    await origin.close();
  });

  describe('protected-resource metadata', () => {
    it.each([PRM_PATH, PRM_ROOT_PATH])(
      'serves the document at %s, cacheable and readable from any origin',
      async (path) => {
        // Prepare
        const handler = handlerFor();

        // Act
        const response = await handler(metadataEvent({ path }));

        // Assess
        expect(response.statusCode).toBe(200);
        expect(response.headers).toMatchObject({
          'Cache-Control': 'public, max-age=300',
          'Access-Control-Allow-Origin': '*',
        });
        expect(bodyOf(response)).toStrictEqual({
          resource: `${EXECUTE_API_BASE}/mcp`,
          authorization_servers: [origin.issuer],
          bearer_methods_supported: ['header'],
          scopes_supported: ['mcp:tools'],
          resource_name: 'Acme MCP',
        });
        expect(origin.hits()).toBe(0);
      },
    );

    it('names the custom domain resource exactly when served from a custom domain', async () => {
      const handler = handlerFor({ PUBLIC_BASE_URL: 'https://mcp.example.com' });

      const response = await handler(metadataEvent({ path: PRM_PATH }));

      expect(bodyOf(response).resource).toBe('https://mcp.example.com/mcp');
    });

    it('routes on the path without the stage when the API uses a greedy resource', async () => {
      const handler = handlerFor();
      const event = metadataEvent({ path: PRM_PATH, resource: '/{proxy+}', stage: 'prod' });

      const response = await handler(event);

      expect(event.requestContext.path).toBe(`/prod${PRM_PATH}`);
      expect(response.statusCode).toBe(200);
      expect(bodyOf(response).resource).toBe(`${EXECUTE_API_BASE}/mcp`);
    });

    it('routes on a literal resource even when the path carries a base-path prefix', async () => {
      const handler = handlerFor();

      const response = await handler(metadataEvent({ path: `/v1${PRM_PATH}`, resource: PRM_PATH }));

      expect(response.statusCode).toBe(200);
    });

    it('treats a trailing slash as the same document', async () => {
      const handler = handlerFor();

      const response = await handler(metadataEvent({ path: `${PRM_PATH}/`, resource: '/{proxy+}' }));

      expect(response.statusCode).toBe(200);
    });
  });

  describe('authorization-server metadata copies', () => {
    it.each([
      [AS_PATH, authKitMetadata],
      [OIDC_PATH, authKitOpenIdConfiguration],
    ])('serves %s from AuthKit, then from the cache with a shrinking max-age', async (path, expected) => {
      const handler = handlerFor({ AS_METADATA_TTL_SECONDS: '3600' });

      const first = await handler(metadataEvent({ path }));
      clock += 600_000;
      const second = await handler(metadataEvent({ path }));

      expect(first.statusCode).toBe(200);
      expect(bodyOf(first)).toStrictEqual(expected(origin.issuer));
      expect(first.headers).toMatchObject({
        'Cache-Control': 'public, max-age=3600',
        'Access-Control-Allow-Origin': '*',
      });
      expect(first.headers).not.toHaveProperty('Age');
      expect(second.statusCode).toBe(200);
      expect(second.headers).toMatchObject({ 'Cache-Control': 'public, max-age=3000' });
      expect(origin.hits(path)).toBe(1);
      expect(logger.cacheEvents().map((event) => event.cache)).toEqual(['miss', 'hit']);
    });

    it('serves the stale copy with an Age header when AuthKit is down after the TTL', async () => {
      const handler = handlerFor({ AS_METADATA_TTL_SECONDS: '60' });
      await handler(metadataEvent({ path: AS_PATH }));
      await origin.close();
      clock += 90_000;

      const response = await handler(metadataEvent({ path: AS_PATH }));

      expect(response.statusCode).toBe(200);
      expect(response.headers).toMatchObject({ Age: '90', 'Cache-Control': 'no-cache' });
      expect(bodyOf(response)).toStrictEqual(authKitMetadata(origin.issuer));
    });

    it('answers 503 JSON with Retry-After when AuthKit is down and nothing is cached', async () => {
      const handler = handlerFor();
      await origin.close();

      const response = await handler(metadataEvent({ path: OIDC_PATH }));

      expect(response.statusCode).toBe(503);
      expect(response.headers).toMatchObject({
        'Retry-After': '30',
        'Cache-Control': 'no-store',
        'Access-Control-Allow-Origin': '*',
      });
      expect(bodyOf(response)).toStrictEqual({
        error: 'temporarily_unavailable',
        error_description: expect.stringContaining(origin.issuer),
      });
    });

    it('answers 503 within the timeout when AuthKit is slow', async () => {
      origin.behave({ kind: 'slow', delayMs: 5000 });
      const handler = handlerFor();

      const started = performance.now();
      const response = await handler(metadataEvent({ path: AS_PATH }));
      const elapsedMs = performance.now() - started;

      expect(response.statusCode).toBe(503);
      expect(bodyOf(response).error).toBe('temporarily_unavailable');
      expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 700);
    });

    it('answers 503 rather than relaying AuthKit metadata that names another issuer', async () => {
      origin.behave({ kind: 'wrong-issuer' });
      const handler = handlerFor();

      const response = await handler(metadataEvent({ path: AS_PATH }));

      expect(response.statusCode).toBe(503);
      expect(response.body).not.toContain('someone-else');
    });

    it('makes one upstream call for many concurrent cold invocations', async () => {
      origin.behave({ kind: 'healthy', delayMs: 100 });
      const handler = handlerFor();

      const responses = await Promise.all(Array.from({ length: 20 }, () => handler(metadataEvent({ path: AS_PATH }))));

      expect(origin.hits()).toBe(1);
      expect(responses.map((response) => response.statusCode)).toEqual(Array(20).fill(200));
    });
  });

  describe('everything else', () => {
    it.each(['/', '/mcp', '/.well-known/oauth-protected-resource/other', '/.well-known/jwks.json'])(
      'answers 404 JSON for %s',
      async (path) => {
        const handler = handlerFor();

        const response = await handler(metadataEvent({ path, resource: '/{proxy+}' }));

        expect(response.statusCode).toBe(404);
        expect(response.headers).toMatchObject({ 'Access-Control-Allow-Origin': '*' });
        expect(bodyOf(response)).toStrictEqual({
          error: 'not_found',
          error_description: expect.stringContaining(PRM_PATH),
        });
      },
    );

    it.each(ALL_PATHS.flatMap((path) => ['POST', 'PUT', 'PATCH', 'DELETE'].map((method) => [method, path])))(
      'answers %s %s with 405 JSON and Allow',
      async (method, path) => {
        const handler = handlerFor();

        const response = await handler(metadataEvent({ path, method }));

        expect(response.statusCode).toBe(405);
        expect(response.headers).toMatchObject({ Allow: 'GET, HEAD, OPTIONS', 'Access-Control-Allow-Origin': '*' });
        expect(bodyOf(response)).toStrictEqual({
          error: 'method_not_allowed',
          error_description: expect.stringContaining(method),
        });
        expect(origin.hits()).toBe(0);
      },
    );

    it.each(ALL_PATHS)('answers HEAD %s with the headers of GET and no body', async (path) => {
      const handler = handlerFor();

      const get = await handler(metadataEvent({ path }));
      const head = await handler(metadataEvent({ path, method: 'HEAD' }));

      expect(head.statusCode).toBe(get.statusCode);
      expect(head.headers).toStrictEqual(get.headers);
      expect(head.body).toBe('');
    });

    it.each(ALL_PATHS)('answers a CORS preflight for %s without calling AuthKit', async (path) => {
      const handler = handlerFor();

      const response = await handler(
        metadataEvent({
          path,
          method: 'OPTIONS',
          headers: { Origin: 'https://inspector.example', 'Access-Control-Request-Method': 'GET' },
        }),
      );

      expect(response.statusCode).toBe(204);
      expect(response.headers).toMatchObject({
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
        'Access-Control-Allow-Headers': expect.stringContaining('Mcp-Protocol-Version'),
        Allow: 'GET, HEAD, OPTIONS',
      });
      expect(origin.hits()).toBe(0);
    });

    it('answers JSON with a Content-Type for every status a GET can produce', async () => {
      const handler = handlerFor();
      const ok = await handler(metadataEvent({ path: AS_PATH }));
      await origin.close();

      const responses = [
        ok,
        await handler(metadataEvent({ path: PRM_PATH })),
        await handler(metadataEvent({ path: '/nope', resource: '/{proxy+}' })),
        await handler(metadataEvent({ path: PRM_PATH, method: 'POST' })),
        await handler(metadataEvent({ path: OIDC_PATH })),
      ];

      expect(responses.map((response) => response.statusCode)).toEqual([200, 200, 404, 405, 503]);
      for (const response of responses) expect(typeof bodyOf(response)).toBe('object');
    });
  });
});
