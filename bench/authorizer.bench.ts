/**
 * The token authorizer's cost: warm verification against raw RSA, the whole handler, the
 * aws-jwt-verify library doing the same job, and the size of the deployed bundle.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { join } from 'node:path';
import { build } from 'esbuild';
import { JwtVerifier } from 'aws-jwt-verify';
import { jwtVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { compareNsPerOp, type BenchRow } from './harness';
import { loadAuthorizerConfig } from '../lambda/authorizer/config';
import { createAuthorizerHandler } from '../lambda/authorizer/index';
import { createEmfMetrics, createJsonLogger } from '../lambda/authorizer/telemetry';
import { createAccessTokenVerifier } from '../lambda/authorizer/verify-access-token';
import { tokenAuthorizerEvent } from '../test/lambda/authorizer/support/events';
import { startJwksServer } from '../test/lambda/authorizer/support/jwks-server';
import { createTestKey, ISSUER, PUBLIC_BASE_URL, RESOURCE, signAccessToken } from '../test/lambda/authorizer/support/tokens';

const GROUP = 'token authorizer';
const BUNDLE_TARGET_BYTES = 30_720;
const timing = { batch: 200, samples: 25, warmup: 2000 };

async function bundleBytes(entry: string, external: string[] = []): Promise<number> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0);
}

/** What Powertools Logger and Metrics would add, bundled the same way. */
async function powertoolsBytes(): Promise<number> {
  const result = await build({
    stdin: {
      contents: "export { Logger } from '@aws-lambda-powertools/logger'; export { Metrics } from '@aws-lambda-powertools/metrics';",
      resolveDir: join(__dirname, '..'),
      loader: 'ts',
    },
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].contents.byteLength;
}

export default async function authorizerBench(): Promise<BenchRow[]> {
  const key = await createTestKey('bench-key');
  const server = await startJwksServer([key.jwk]);
  try {
    const token = await signAccessToken(key);
    const config = loadAuthorizerConfig({ PUBLIC_BASE_URL, AUTHKIT_ISSUER: ISSUER, AUTHKIT_JWKS_URL: server.url, REQUIRED_SCOPES: 'mcp:tools' });

    // Ours, with the remote JWKS warmed by one verification.
    const verifier = createAccessTokenVerifier(config);
    await verifier.verifyAccessToken(token);
    const discard = () => undefined;
    const authorize = createAuthorizerHandler({
      config,
      logger: createJsonLogger({ serviceName: 'bench', logLevel: 'INFO', write: discard }),
      metrics: createEmfMetrics({ namespace: 'Bench', serviceName: 'bench', write: discard }),
    });
    const event = tokenAuthorizerEvent(`Bearer ${token}`);
    await authorize(event);
    if (server.hits !== 2) throw new Error(`expected one JWKS fetch per verifier, saw ${server.hits}`);

    // The floor: one RSA-SHA256 verification of the same signing input.
    const jwks = (await (await fetch(server.url)).json()) as JSONWebKeySet;
    const publicKey = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' });
    const signingInput = Buffer.from(token.slice(0, token.lastIndexOf('.')));
    const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
    if (!cryptoVerify('RSA-SHA256', signingInput, publicKey, signature)) throw new Error('raw verification failed');

    // aws-jwt-verify speaks only https to a JWKS URI, so it is handed the loopback server's document.
    const theirs = JwtVerifier.create({ issuer: ISSUER, audience: RESOURCE, jwksUri: 'https://acme.authkit.app/oauth2/jwks', scope: 'mcp:tools' });
    theirs.cacheJwks(jwks as never);
    await theirs.verify(token);

    // jose 6 on Node, for the record: the reason verification does not go through it.
    const joseKeys = createLocalJWKSet(jwks);
    const joseOptions = { issuer: ISSUER, audience: RESOURCE, algorithms: ['RS256'] };
    await jwtVerify(token, joseKeys, joseOptions);

    const ns = await compareNsPerOp(
      {
        raw: () => cryptoVerify('RSA-SHA256', signingInput, publicKey, signature),
        ours: () => verifier.verifyAccessToken(token),
        handler: () => authorize(event),
        awsJwtVerify: () => theirs.verify(token),
        jose: () => jwtVerify(token, joseKeys, joseOptions),
      },
      timing,
    );

    const bundle = await bundleBytes(join(__dirname, '..', 'lambda', 'authorizer', 'index.ts'));
    const powertools = await powertoolsBytes();
    const fetchesDuringRun = server.hits - 3; // two warm-ups and the document above
    return [
      { group: GROUP, name: 'crypto.verify RSA-SHA256 (raw)', value: ns.raw, unit: 'ns/op' },
      { group: GROUP, name: 'verifyAccessToken (warm JWKS)', value: ns.ours, unit: 'ns/op' },
      { group: GROUP, name: 'verifyAccessToken / raw', value: ns.ours / ns.raw, unit: 'x', baseline: 'raw crypto.verify', target: { max: 1.3 } },
      { group: GROUP, name: 'handler per warm invocation / raw', value: ns.handler / ns.raw, unit: 'x', baseline: 'raw crypto.verify', note: `${Math.round(ns.handler)} ns/op incl. log line + EMF` },
      { group: GROUP, name: 'ours vs aws-jwt-verify', value: ns.ours / ns.awsJwtVerify, unit: 'x', baseline: 'aws-jwt-verify JwtVerifier', target: { max: 1.0 }, note: `${Math.round(ns.awsJwtVerify)} ns/op theirs` },
      { group: GROUP, name: 'jose.jwtVerify / raw (not used)', value: ns.jose / ns.raw, unit: 'x', baseline: 'raw crypto.verify', note: 'WebCrypto path of jose 6' },
      { group: GROUP, name: 'JWKS fetches during timing', value: fetchesDuringRun, unit: 'count', target: { max: 0 } },
      { group: GROUP, name: 'authorizer bundle (esbuild, minified)', value: bundle, unit: 'bytes', target: { max: BUNDLE_TARGET_BYTES } },
      { group: GROUP, name: 'Powertools Logger + Metrics bundle', value: powertools, unit: 'bytes', note: 'not bundled: what using them would add' },
    ];
  } finally {
    await server.close();
  }
}
