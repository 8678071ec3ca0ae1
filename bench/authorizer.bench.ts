/**
 * The token authorizer's cost: warm verification against raw RSA, the whole handler, the
 * aws-jwt-verify library doing the same job, and what Powertools would add to the bundle (the
 * bundle itself is weighed in coldstart.bench.ts). Inputs are the fixed ones of bench/fixtures.ts.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtVerifier } from 'aws-jwt-verify';
import { jwtVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { bundleAsDeployed } from './bundles';
import { BENCH_BASE_URL, BENCH_ISSUER, BENCH_URLS, benchClaims, benchJwks, signBenchToken, tokenAuthorizerEvent } from './fixtures';
import { compareNsPerOp, type BenchRow } from './harness';
import { loadAuthorizerConfig } from '../lambda/authorizer/config';
import { createAuthorizerHandler } from '../lambda/authorizer/index';
import { createEmfMetrics, createJsonLogger } from '../lambda/authorizer/telemetry';
import { createAccessTokenVerifier } from '../lambda/authorizer/verify-access-token';
import { startJwksServer } from '../test/lambda/authorizer/support/jwks-server';

const GROUP = 'token authorizer';
const timing = { batch: 200, samples: 25, warmup: 2000 };
/** The bench token carries this scope too, so the handler's scope check runs. */
const REQUIRED_SCOPE = 'mcp:tools';

/** What Powertools Logger and Metrics would add, bundled the same way as the functions. */
async function powertoolsBytes(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-bench-powertools-'));
  try {
    const code = "export { Logger } from '@aws-lambda-powertools/logger'; export { Metrics } from '@aws-lambda-powertools/metrics';";
    return await bundleAsDeployed({ code }, join(dir, 'powertools.js'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function authorizerBench(): Promise<BenchRow[]> {
  const server = await startJwksServer(benchJwks().keys);
  try {
    const token = signBenchToken(benchClaims({ scope: `openid profile email ${REQUIRED_SCOPE}` }));
    const config = loadAuthorizerConfig({ PUBLIC_BASE_URL: BENCH_BASE_URL, AUTHKIT_ISSUER: BENCH_ISSUER, AUTHKIT_JWKS_URL: server.url, REQUIRED_SCOPES: REQUIRED_SCOPE });

    // Ours, with the remote JWKS warmed by one verification.
    const verifier = createAccessTokenVerifier(config);
    await verifier.verifyAccessToken(token);
    const discard = () => undefined;
    const authorize = createAuthorizerHandler({
      config,
      logger: createJsonLogger({ serviceName: 'bench', logLevel: 'INFO', write: discard }),
      metrics: createEmfMetrics({ namespace: 'Bench', serviceName: 'bench', write: discard }),
    });
    const event = tokenAuthorizerEvent(token);
    const decision = await authorize(event);
    if (decision.policyDocument.Statement[0].Effect !== 'Allow') throw new Error('the authorizer denied the benchmark token');
    if (server.hits !== 2) throw new Error(`expected one JWKS fetch per verifier, saw ${server.hits}`);

    // The floor: one RSA-SHA256 verification of the same signing input.
    const jwks = (await (await fetch(server.url)).json()) as JSONWebKeySet;
    const publicKey = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' });
    const signingInput = Buffer.from(token.slice(0, token.lastIndexOf('.')));
    const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
    if (!cryptoVerify('RSA-SHA256', signingInput, publicKey, signature)) throw new Error('raw verification failed');

    // aws-jwt-verify speaks only https to a JWKS URI, so it is handed the loopback server's document.
    const theirs = JwtVerifier.create({ issuer: BENCH_ISSUER, audience: BENCH_URLS.resource, jwksUri: `${BENCH_ISSUER}/oauth2/jwks`, scope: REQUIRED_SCOPE });
    theirs.cacheJwks(jwks as never);
    await theirs.verify(token);

    // jose 6 on Node, for the record: the reason verification does not go through it.
    const joseKeys = createLocalJWKSet(jwks);
    const joseOptions = { issuer: BENCH_ISSUER, audience: BENCH_URLS.resource, algorithms: ['RS256'] };
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
      { group: GROUP, name: 'Powertools Logger + Metrics bundle', value: powertools, unit: 'bytes', note: 'not bundled: what using them would add' },
    ];
  } finally {
    await server.close();
  }
}
