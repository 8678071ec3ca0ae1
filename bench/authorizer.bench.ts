/**
 * The token authorizer's cost per warm invocation: the whole handler as deployed (bearer parse,
 * jose's jwtVerify with the cached key, the MCP-profile checks, the policy, a Powertools log line
 * and an EMF document) in CPU time, scaled to the CPU share of the construct's default authorizer
 * memory, against Lambda's 1 ms billing minimum. For reference, in the same run: verification
 * alone, one raw RSA-SHA256 verification of the same signing input, and aws-jwt-verify doing the
 * same check. Inputs are the fixed ones of bench/fixtures.ts.
 */
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { JwtVerifier } from 'aws-jwt-verify';
import { billedMs, durationAtMemoryMs } from './cost';
import { BENCH_BASE_URL, BENCH_ISSUER, BENCH_URLS, benchClaims, benchJwks, quietly, signBenchToken } from './fixtures';
import { tokenAuthorizerEvent } from '../fixtures/events';
import { bearerAuthorization } from '../lambda/shared/bearer-token';
import { compareCpuNsPerOp, type BenchRow } from './harness';
import { loadAuthorizerConfig } from '../lambda/authorizer/config';
import { createAuthorizerHandler } from '../lambda/authorizer/index';
import { createAccessTokenVerifier } from '../lambda/authorizer/verify-access-token';
import { DEFAULTS } from '../lib/server-settings';
import { startJwksServer } from '../fixtures/jwks-server';

const GROUP = 'token authorizer';
const timing = { batch: 100, samples: 31, warmup: 1000 };
/** The bench token carries this scope too, so the handler's scope check runs. */
const REQUIRED_SCOPE = 'mcp:tools';
/** Below this, every warm decision is billed Lambda's 1 ms minimum, whatever the code does. */
const WARM_TARGET_MS = 0.8;

export default async function authorizerBench(): Promise<BenchRow[]> {
  const server = await startJwksServer(benchJwks().keys);
  try {
    const token = signBenchToken(benchClaims({ scope: `openid profile email ${REQUIRED_SCOPE}` }));
    const env = {
      PUBLIC_BASE_URL: BENCH_BASE_URL,
      AUTHKIT_ISSUER: BENCH_ISSUER,
      AUTHKIT_JWKS_URL: server.url,
      REQUIRED_SCOPES: REQUIRED_SCOPE,
      POWERTOOLS_SERVICE_NAME: 'bench',
    };
    const config = loadAuthorizerConfig(env);

    return await quietly(async () => {
      // As deployed: default Powertools Logger and Metrics, the remote JWKS warmed by the first call.
      const authorize = createAuthorizerHandler({ config });
      const event = tokenAuthorizerEvent(bearerAuthorization(token));
      const decision = await authorize(event);
      if (decision.policyDocument.Statement[0].Effect !== 'Allow')
        throw new Error('the authorizer denied the benchmark token');
      const verifier = createAccessTokenVerifier(config);
      await verifier.verifyAccessToken(token);
      if (server.hits !== 2) throw new Error(`expected one JWKS fetch per verifier, saw ${server.hits}`);

      // The floor: one RSA-SHA256 verification of the same signing input.
      const publicKey = createPublicKey({ key: benchJwks().keys[0] as never, format: 'jwk' });
      const signingInput = Buffer.from(token.slice(0, token.lastIndexOf('.')));
      const signature = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
      if (!cryptoVerify('RSA-SHA256', signingInput, publicKey, signature)) throw new Error('raw verification failed');

      // aws-jwt-verify speaks only https to a JWKS URI, so it is handed the loopback server's document.
      const theirs = JwtVerifier.create({
        issuer: BENCH_ISSUER,
        audience: BENCH_URLS.resource,
        jwksUri: `${BENCH_ISSUER}/oauth2/jwks`,
        scope: REQUIRED_SCOPE,
      });
      theirs.cacheJwks(benchJwks() as never);
      await theirs.verify(token);

      const ns = await compareCpuNsPerOp(
        {
          handler: () => authorize(event),
          verify: () => verifier.verifyAccessToken(token),
          raw: () => cryptoVerify('RSA-SHA256', signingInput, publicKey, signature),
          awsJwtVerify: () => theirs.verify(token),
        },
        timing,
      );
      const fetchesDuringRun = server.hits - 2;
      return rows(ns, fetchesDuringRun);
    });
  } finally {
    await server.close();
  }
}

function rows(ns: Record<string, number>, fetchesDuringRun: number): BenchRow[] {
  const memoryMb = DEFAULTS.authorizerMemorySize;
  const handlerMs = ns.handler / 1e6;
  const atMemoryMs = durationAtMemoryMs(handlerMs, memoryMb);
  const us = (value: number) => `${(value / 1000).toFixed(1)} µs`;
  return [
    {
      group: GROUP,
      name: 'warm invocation, CPU time on one core',
      value: handlerMs,
      unit: 'ms',
      note: `parse, jose jwtVerify, policy, Powertools log line + EMF; of which verification ${us(ns.verify)}`,
    },
    {
      group: GROUP,
      name: `warm invocation at ${memoryMb} MB (default), CPU share scaled`,
      value: atMemoryMs,
      unit: 'ms',
      target: { max: WARM_TARGET_MS },
      note: `× 1769/${memoryMb}; billed ${billedMs(atMemoryMs)} ms (Lambda's minimum is 1 ms)`,
    },
    {
      group: GROUP,
      name: 'verifyAccessToken (jose) / raw',
      value: ns.verify / ns.raw,
      unit: 'x',
      baseline: 'raw crypto.verify RSA-SHA256',
      note: `raw ${us(ns.raw)}, for reference`,
    },
    {
      group: GROUP,
      name: 'verifyAccessToken (jose) / aws-jwt-verify',
      value: ns.verify / ns.awsJwtVerify,
      unit: 'x',
      baseline: 'aws-jwt-verify JwtVerifier',
      note: `theirs ${us(ns.awsJwtVerify)}, for reference`,
    },
    { group: GROUP, name: 'JWKS fetches during timing', value: fetchesDuringRun, unit: 'count', target: { max: 0 } },
  ];
}
