/**
 * A loopback reverse proxy in front of the AuthKit stand-in that serves its authorization-server
 * metadata without some fields: an AuthKit environment with DCR and CIMD switched off, as far as
 * any client can tell. Every URL of the stand-in in the metadata is rewritten to the proxy, so the
 * proxy is the issuer; everything else passes through unchanged.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

const METADATA_PATHS = new Set(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']);

export interface StrippingProxy {
  /** The proxy's origin: the issuer clients see. */
  readonly url: string;
  stop(): Promise<void>;
}

export async function startMetadataStrippingProxy(upstream: string, strip: readonly string[]): Promise<StrippingProxy> {
  let self = '';
  const server = http.createServer((request, response) => {
    const target = new URL(request.url ?? '/', upstream);
    const outgoing = http.request(
      target,
      { method: request.method, headers: { ...request.headers, host: target.host } },
      (answer) => {
        if (!METADATA_PATHS.has(target.pathname) || answer.statusCode !== 200) {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          return;
        }
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          const document = JSON.parse(Buffer.concat(chunks).toString('utf8').split(upstream).join(self)) as Record<
            string,
            unknown
          >;
          for (const field of strip) delete document[field];
          const body = JSON.stringify(document);
          const { 'content-length': _length, 'transfer-encoding': _encoding, ...headers } = answer.headers;
          response.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) });
          response.end(body);
        });
      },
    );
    outgoing.on('error', () => response.destroy());
    request.pipe(outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: self,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
