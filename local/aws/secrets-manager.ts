/**
 * A local Secrets Manager endpoint for the functions of the local stack: `GetSecretValue` over the
 * service's JSON 1.1 protocol, on loopback, for the secrets of the synthesized template. The AWS
 * SDK in a function reaches it through `AWS_ENDPOINT_URL_SECRETS_MANAGER`, as it would reach the
 * real service. Each function signs with its own local access key id, so a call can be checked
 * against that function's role, as IAM would: a function whose role may not read a secret gets
 * `AccessDeniedException`. Request signatures are not verified (the keys are local and fake).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalSecret {
  readonly arn: string;
  readonly name: string;
  readonly value: string;
}

/** Whether the function that signs with `accessKeyId` may call `action` on the secret. */
export type SecretAccessCheck = (accessKeyId: string | undefined, action: string, secretArn: string) => boolean;

export interface LocalSecretsManager {
  /** e.g. `http://127.0.0.1:49152`, for `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly endpoint: string;
  /** How many `GetSecretValue` calls each secret has answered. */
  readonly reads: ReadonlyMap<string, number>;
  close(): Promise<void>;
}

/** A secret value as `GenerateSecretString` makes one: printable characters, none of `exclude`. */
export function generateSecretString(length = 32, exclude = ''): string {
  const alphabet = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&*+-.:=?@^_~'].filter(
    (c) => !exclude.includes(c),
  );
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length)) {
      // Rejection sampling keeps every character equally likely.
      if (byte < 256 - (256 % alphabet.length) && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

function accessKeyIdOf(authorization: string | undefined): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(authorization ?? '')?.[1];
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
  res.end(JSON.stringify(body));
}

function failure(res: http.ServerResponse, status: number, type: string, message: string): void {
  reply(res, status, { __type: type, message, Message: message });
}

async function bodyOf(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export async function startLocalSecretsManager(
  secrets: readonly LocalSecret[],
  mayAccess: SecretAccessCheck,
): Promise<LocalSecretsManager> {
  const reads = new Map<string, number>();
  const created = Math.floor(Date.now() / 1000);
  const versionId = randomUUID();
  // By ARN, by name, or by partial ARN (without the six-character suffix), as Secrets Manager accepts
  // a SecretId (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
  const find = (id: string): LocalSecret | undefined =>
    secrets.find((s) => s.arn === id || s.name === id || s.arn.replace(/-[A-Za-z0-9]{6}$/, '') === id);

  const server = http.createServer((req, res) => {
    void (async () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = await bodyOf(req);
      if (req.method !== 'POST' || target !== 'secretsmanager.GetSecretValue') {
        return failure(
          res,
          400,
          'InvalidRequestException',
          `The local Secrets Manager serves GetSecretValue only, not ${target || req.method}.`,
        );
      }
      const secret = typeof body.SecretId === 'string' ? find(body.SecretId) : undefined;
      if (secret === undefined)
        return failure(res, 400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
      if (!mayAccess(accessKeyIdOf(req.headers.authorization), 'secretsmanager:GetSecretValue', secret.arn)) {
        return failure(
          res,
          400,
          'AccessDeniedException',
          `The caller is not authorized to perform secretsmanager:GetSecretValue on ${secret.arn}.`,
        );
      }
      reads.set(secret.arn, (reads.get(secret.arn) ?? 0) + 1);
      reply(res, 200, {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: versionId,
        SecretString: secret.value,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: created,
      });
    })().catch((error: unknown) => failure(res, 500, 'InternalServiceError', (error as Error).message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    reads,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
