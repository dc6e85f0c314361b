import { describe, expect, it } from 'vitest';
import { replicaCapacity, replicaOrdinal, shareOf, WHOLE_SHARE } from './capacity-split.js';

describe('capacity split (each replica’s containerConcurrency shared by the live routers)', () => {
  const routers = ['router-2', 'router-3', 'serving-1'];
  const replicas = Array.from({ length: 7 }, (_, i) => `ns/svc-00001#${i + 1}`);

  it('gives the routers shares of every replica that add up to containerConcurrency', () => {
    for (const cc of [1, 2, 3, 4, 5, 10, 100])
      for (const count of [1, 2, 3, 5])
        for (const id of replicas) {
          const shares = Array.from({ length: count }, (_, index) =>
            replicaCapacity(cc, { index, count }, id),
          );
          expect(shares.reduce((a, b) => a + b, 0)).toBe(cc);
          // As even as it gets: no two routers differ by more than one slot.
          expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
        }
  });

  it('with containerConcurrency 1 and 2 routers, consecutive replicas belong to alternate routers', () => {
    const owner = (id: string) => [0, 1].filter((index) => replicaCapacity(1, { index, count: 2 }, id) === 1);
    expect(replicas.slice(0, 4).map(owner)).toEqual([[1], [0], [1], [0]]);
  });

  it('is unlimited with containerConcurrency 0, and gives a router the primary does not count nothing', () => {
    expect(replicaCapacity(0, { index: -1, count: 3 }, replicas[0]!)).toBe(Number.POSITIVE_INFINITY);
    expect(replicaCapacity(4, WHOLE_SHARE, replicas[0]!)).toBe(4);
    expect(replicaCapacity(4, shareOf('router-9', routers), replicas[0]!)).toBe(0);
    expect(replicaCapacity(4, shareOf('router-9', []), replicas[0]!)).toBe(0);
    expect(shareOf('serving-1', routers)).toEqual({ index: 2, count: 3 });
  });

  it('orders replicas by their sequence number, else by a stable hash of the id', () => {
    expect(replicaOrdinal('ns/svc-00001#12')).toBe(12);
    expect(replicaOrdinal('pod-abc')).toBe(replicaOrdinal('pod-abc'));
    expect(replicaOrdinal('pod-abc')).not.toBe(replicaOrdinal('pod-abd'));
  });
});
