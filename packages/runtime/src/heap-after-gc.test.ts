import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HEAP_AFTER_MAJOR_GC_METRIC, registerHeapAfterMajorGc } from './heap-after-gc.js';

// A full collection on demand, without starting the test process with --expose-gc.
setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

async function gaugeValue(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric(HEAP_AFTER_MAJOR_GC_METRIC)?.get();
  return metric?.values[0]?.value ?? Number.NaN;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('registerHeapAfterMajorGc', () => {
  it('reports the heap after a major collection: garbage freed by it is not counted, live objects are', async () => {
    const registry = new Registry();
    const stop = registerHeapAfterMajorGc(registry);
    try {
      expect(await gaugeValue(registry)).toBe(0);
      fullGc();
      await settle();
      const baseline = await gaugeValue(registry);
      expect(baseline).toBeGreaterThan(0);

      // 40 MiB of garbage: the used heap rises, the after-GC reading does not.
      let garbage: number[][] | undefined = Array.from({ length: 40 }, () => new Array(128 * 1024).fill(1.5));
      expect(garbage.length).toBe(40);
      garbage = undefined;
      fullGc();
      await settle();
      expect(await gaugeValue(registry)).toBeLessThan(baseline + 8 * 2 ** 20);

      // 40 MiB kept alive: the after-GC reading grows by about that.
      const kept = Array.from({ length: 40 }, () => new Array(128 * 1024).fill(1.5));
      fullGc();
      await settle();
      expect(await gaugeValue(registry)).toBeGreaterThan(baseline + 30 * 2 ** 20);
      expect(kept.length).toBe(40);
    } finally {
      stop();
    }
  });

  it('leaves out what was allocated between the collection and the reading (the young generation)', async () => {
    const registry = new Registry();
    const stop = registerHeapAfterMajorGc(registry);
    try {
      fullGc();
      await settle();
      const baseline = await gaugeValue(registry);
      fullGc();
      // Allocated after the collection and before the observer runs, and still alive when it does:
      // about 1.5 MiB of small objects, in the young generation (well below a scavenge's trigger).
      const young = Array.from({ length: 40_000 }, (_, i) => ({ i, half: i / 2 }));
      const youngBytes = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_used_size;
      expect(youngBytes).toBeGreaterThan(2 ** 20);
      await settle();
      expect(await gaugeValue(registry)).toBeLessThan(baseline + 2 ** 19);
      expect(young.length).toBe(40_000);
    } finally {
      stop();
    }
  });
});
