/**
 * What resolving a person's roles and permissions costs a request: the first lookup of a container
 * (a new resolver: the WorkOS SDK client is built, then the memberships and roles calls go out
 * together) through the AuthKit stand-in's WorkOS API, against one plain `fetch` of the memberships
 * list from the same server, interleaved (A B A B ...), medians; and a lookup served from the cache.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { DEV_USER, startAuthKitStandIn } from '../local/authkit/launch';
import { createRoleResolver } from '../lambda/runtime/workos-access';
import { fixedWorkOSApiKey } from '../lambda/runtime/workos-api-key';
import type { BenchRow } from './harness';

const GROUP = 'roles from WorkOS';
const ROUNDS = 31;
const WARMUP = 5;
const CACHED_LOOKUPS = 10_000;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function elapsedMs(run: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - started) / 1e6;
}

export default async function workosRolesBench(): Promise<BenchRow[]> {
  const standIn = await startAuthKitStandIn({ port: 0 });
  try {
    const logger = new Logger({ logLevel: 'SILENT' });
    const newResolver = () =>
      createRoleResolver({
        apiKey: fixedWorkOSApiKey(standIn.workosApiKey),
        baseUrl: standIn.workosApiBaseUrl,
        logger,
        env: {},
      });
    const firstLookup = async () => {
      const resolution = await newResolver().resolve(DEV_USER.sub, DEV_USER.orgId);
      if (!('access' in resolution)) throw new Error(`refused: ${resolution.refusal.reason}`);
    };
    const query = new URLSearchParams({ user_id: DEV_USER.sub, organization_id: DEV_USER.orgId });
    const oneFetch = async () => {
      const response = await fetch(`${standIn.workosApiBaseUrl}/user_management/organization_memberships?${query}`, {
        headers: { authorization: `Bearer ${standIn.workosApiKey}` },
      });
      await response.json();
    };

    for (let i = 0; i < WARMUP; i += 1) await Promise.all([firstLookup(), oneFetch()]);
    const first: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      first.push(await elapsedMs(firstLookup));
      raw.push(await elapsedMs(oneFetch));
    }

    const warm = newResolver();
    await warm.resolve(DEV_USER.sub, DEV_USER.orgId);
    const cachedMs = await elapsedMs(async () => {
      for (let i = 0; i < CACHED_LOOKUPS; i += 1) await warm.resolve(DEV_USER.sub, DEV_USER.orgId);
    });

    const firstMedian = median(first);
    const rawMedian = median(raw);
    return [
      {
        group: GROUP,
        name: 'first lookup of a container (new resolver, both calls), median',
        value: firstMedian,
        unit: 'ms',
        note: `through the local AuthKit stand-in, ${ROUNDS} rounds`,
      },
      { group: GROUP, name: 'one fetch of the memberships list, median', value: rawMedian, unit: 'ms' },
      {
        group: GROUP,
        name: 'first lookup vs one fetch',
        value: firstMedian / rawMedian,
        unit: 'x',
        baseline: 'one fetch of the memberships list',
      },
      { group: GROUP, name: 'lookup served from the cache', value: (cachedMs * 1e6) / CACHED_LOOKUPS, unit: 'ns/op' },
    ];
  } finally {
    await standIn.stop();
  }
}
