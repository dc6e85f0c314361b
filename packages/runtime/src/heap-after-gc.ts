// The old generation right after each major (mark-compact) collection: the closest a running process
// gets to its live heap without a heap snapshot. `nodejs_heap_size_used_bytes` is a GC sawtooth whose
// height can exceed its mean under load; a leak shows as this gauge climbing, garbage does not move it.
// The young generation is left out: a major collection empties it, and what it holds when the
// observer runs (entries are batched, later) is what was allocated since. Counted, that made the
// reading jump by whatever had just been allocated, and a process with few major collections (eddy
// dev's control plane: a few in half an hour) kept the jump until the next one.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { Gauge, type Registry } from 'prom-client';

export const HEAP_AFTER_MAJOR_GC_METRIC = 'eddy_nodejs_heap_used_after_major_gc_bytes';

/** Registers the gauge on `registry`; the returned function stops observing collections. */
export function registerHeapAfterMajorGc(registry: Registry): () => void {
  let latest: number | undefined;
  new Gauge({
    name: HEAP_AFTER_MAJOR_GC_METRIC,
    help: 'Heap used just after the latest major (mark-compact) garbage collection, young generation excluded; 0 before the first',
    registers: [registry],
    collect() {
      if (latest !== undefined) this.set(latest);
    },
  });
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        latest = oldGenerationUsed();
        return;
      }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

/** V8's young generation: what a scavenge collects, empty after a major collection. */
const YOUNG_SPACES = new Set(['new_space', 'new_large_object_space']);

/** Bytes used in every heap space but the young generation's. */
function oldGenerationUsed(): number {
  let used = 0;
  for (const space of getHeapSpaceStatistics())
    if (!YOUNG_SPACES.has(space.space_name)) used += space.space_used_size;
  return used;
}
