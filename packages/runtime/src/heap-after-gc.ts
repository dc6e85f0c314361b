// Used heap right after each major (mark-compact) collection: the closest a running process gets to
// its live heap without a heap snapshot. `nodejs_heap_size_used_bytes` is a GC sawtooth whose height
// can exceed its mean under load; a leak shows as this gauge climbing, garbage does not move it.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { Gauge, type Registry } from 'prom-client';

export const HEAP_AFTER_MAJOR_GC_METRIC = 'eddy_nodejs_heap_used_after_major_gc_bytes';

/** Registers the gauge on `registry`; the returned function stops observing collections. */
export function registerHeapAfterMajorGc(registry: Registry): () => void {
  let latest: number | undefined;
  new Gauge({
    name: HEAP_AFTER_MAJOR_GC_METRIC,
    help: 'Heap used just after the latest major (mark-compact) garbage collection; 0 before the first',
    registers: [registry],
    collect() {
      if (latest !== undefined) this.set(latest);
    },
  });
  // The observer is called shortly after the collection (entries are batched), so the reading
  // includes the little allocated since: an upper bound on the live heap, tight enough for a trend.
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries())
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        latest = getHeapStatistics().used_heap_size;
        return;
      }
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}
