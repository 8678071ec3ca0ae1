import { createHash } from 'node:crypto';
import { compareCpuNsPerOp, compareNsPerOp } from '../../bench/harness';

const block = Buffer.alloc(4096, 7);

/** A fixed amount of CPU work: `rounds` SHA-256 digests of 4 KiB. */
function hashRounds(rounds: number): void {
  for (let i = 0; i < rounds; i++) createHash('sha256').update(block).digest();
}

describe('interleaved timing', () => {
  it.each([
    ['wall time', compareNsPerOp],
    ['CPU time', compareCpuNsPerOp],
  ])('ranks a subject that does more work above one that does less (%s)', async (_, compare) => {
    const ns = await compare(
      { light: () => hashRounds(5), heavy: () => hashRounds(100) },
      { batch: 20, samples: 5, warmup: 2 },
    );
    expect(ns.light).toBeGreaterThan(0);
    expect(ns.heavy).toBeGreaterThan(ns.light * 3);
  });

  it('does not count time spent waiting as CPU time', async () => {
    const ns = await compareCpuNsPerOp(
      { sleep: () => new Promise((resolve) => setTimeout(resolve, 5)) },
      { batch: 4, samples: 3, warmup: 0 },
    );
    expect(ns.sleep).toBeLessThan(2_000_000);
  });
});
