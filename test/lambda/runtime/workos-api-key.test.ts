/**
 * The WorkOS API key from Secrets Manager, read with Powertools Parameters from the local Secrets
 * Manager endpoint (found through AWS_ENDPOINT_URL_SECRETS_MANAGER, as the SDK finds the real one),
 * and the resolver configured from the environment alone, as the MCP function is.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DEV_USER } from '../../../local/authkit/contract';
import { startLocalSecretsManager, type LocalSecretsManager } from '../../../local/aws/secrets-manager';
import { createRoleResolver } from '../../../lambda/runtime/workos-access';
import { WorkOSApiKeyError, workosApiKeyFromEnvironment } from '../../../lambda/runtime/workos-api-key';
import { startWorkOSApiServer, type WorkOSApiServer } from '../../../fixtures/workos-api-server';

const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
const MCP_KEY_ID = 'AKIALOCALMCPFUNCTION';

let secrets: LocalSecretsManager;
let workos: WorkOSApiServer;
const saved = { ...process.env };

beforeAll(async () => {
  workos = await startWorkOSApiServer();
  secrets = await startLocalSecretsManager(
    ['Resolver', 'Rotation', 'Blank'].map((name) => ({
      arn: arn(name),
      name,
      value: name === 'Blank' ? ' ' : workos.apiKey,
    })),
    (accessKeyId, action, secretArn) =>
      accessKeyId === MCP_KEY_ID && action === 'secretsmanager:GetSecretValue' && secretArn !== arn('Forbidden'),
  );
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: MCP_KEY_ID,
    AWS_SECRET_ACCESS_KEY: 'local-secret-access-key',
  });
});

afterAll(async () => {
  process.env = saved;
  await secrets.close();
  await workos.close();
});

describe('workosApiKeyFromEnvironment', () => {
  it('is undefined without WORKOS_API_KEY_SECRET_ARN', async () => {
    expect(await workosApiKeyFromEnvironment({}).read()).toBeUndefined();
  });

  it('reads the secret once, and again after the key is forgotten', async () => {
    const source = workosApiKeyFromEnvironment({ WORKOS_API_KEY_SECRET_ARN: arn('Rotation') });

    const keys = await Promise.all([source.read(), source.read(), source.read()]);
    source.forget?.();
    const afresh = await source.read();

    expect(keys).toEqual([workos.apiKey, workos.apiKey, workos.apiKey]);
    expect(afresh).toBe(workos.apiKey);
    expect(secrets.reads.get(arn('Rotation'))).toBe(2);
  });

  it('reads a secret named by its partial ARN (without the suffix), as a secret imported by name is', async () => {
    const partial = arn('Resolver').replace(/-AbCdEf$/, '');
    const source = workosApiKeyFromEnvironment({ WORKOS_API_KEY_SECRET_ARN: partial });

    expect(await source.read()).toBe(workos.apiKey);
  });

  it.each([
    ['a secret the function may not read', 'Forbidden', /could not read the WorkOS API key from Secrets Manager/],
    ['a blank secret', 'Blank', /holds no WorkOS API key/],
  ])('refuses %s, naming the variable, and tries again on the next read', async (_case, name, why) => {
    const source = workosApiKeyFromEnvironment({ WORKOS_API_KEY_SECRET_ARN: arn(name) });

    const first = source.read();
    await expect(first).rejects.toThrow(WorkOSApiKeyError);
    await expect(first).rejects.toThrow(why);
    await expect(first).rejects.toThrow(/WORKOS_API_KEY_SECRET_ARN/);
    const second = source.read();
    expect(second).not.toBe(first);
    await expect(second).rejects.toThrow(WorkOSApiKeyError);
  });
});

describe('createRoleResolver configured by the environment', () => {
  it('reads the key from the secret and reaches WorkOS at WORKOS_API_BASE_URL', async () => {
    const resolver = createRoleResolver({
      env: { WORKOS_API_KEY_SECRET_ARN: arn('Resolver'), WORKOS_API_BASE_URL: workos.baseUrl },
      logger: new Logger({ logLevel: 'SILENT' }),
    });

    const resolution = await resolver.resolve(DEV_USER.sub, DEV_USER.orgId);

    expect(resolution).toMatchObject({ access: { roles: ['admin'] }, source: 'workos' });
  });

  it('refuses, retryably, while the secret cannot be read', async () => {
    const resolver = createRoleResolver({
      env: { WORKOS_API_KEY_SECRET_ARN: arn('Forbidden'), WORKOS_API_BASE_URL: workos.baseUrl },
      logger: new Logger({ logLevel: 'SILENT' }),
    });

    const resolution = await resolver.resolve(DEV_USER.sub, DEV_USER.orgId);

    expect(resolution).toMatchObject({ refusal: { code: 'WORKOS_UNAVAILABLE', retryable: true } });
    expect('refusal' in resolution && resolution.refusal.reason).toMatch(
      /could not read the WorkOS API key from Secrets Manager \(WORKOS_API_KEY_SECRET_ARN\)/,
    );
  });
});
