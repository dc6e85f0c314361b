// The primary's sum of what every router measured (Knative's autoscaler collecting the activators'
// and queue-proxies' stats): each extra router pushes its per-revision window (RevisionStats) about
// every second; at a tick the primary adds the latest push of every router still fresh to its own
// router's window. A router whose last push is older than `staleMs` has stopped (SIGKILL, partition):
// it drops out of the sum and of the live routers, so its last window does not hold a revision up.
// Pure and clock-free (time is an argument): unit-tested in stat-aggregator.test.ts.

import { namespacedKey } from '@eddy/api';
import type { RevisionStats } from '../router/router.js';

interface Pushed {
  at: number;
  stats: readonly RevisionStats[];
}

export class StatAggregator {
  readonly #routers = new Map<string, Pushed>();
  readonly staleMs: number;

  constructor(staleMs: number) {
    if (!(staleMs > 0)) throw new RangeError(`StatAggregator: staleMs must be > 0, got ${staleMs}`);
    this.staleMs = staleMs;
  }

  /** Takes a router's latest window; true when the router was not live before (it joined). */
  push(router: string, stats: readonly RevisionStats[], now: number): boolean {
    const before = this.#routers.get(router);
    const joined = before === undefined || now - before.at > this.staleMs;
    this.#routers.set(router, { at: now, stats });
    return joined;
  }

  /** Forgets a router at once (it said it leaves); true when it was live. */
  forget(router: string, now: number): boolean {
    const before = this.#routers.get(router);
    this.#routers.delete(router);
    return before !== undefined && now - before.at <= this.staleMs;
  }

  /** Drops the routers not heard from within staleMs; returns their ids with how long they were silent. */
  expire(now: number): { router: string; silentMs: number }[] {
    const dropped: { router: string; silentMs: number }[] = [];
    for (const [router, pushed] of this.#routers)
      if (now - pushed.at > this.staleMs) {
        this.#routers.delete(router);
        dropped.push({ router, silentMs: now - pushed.at });
      }
    return dropped;
  }

  /** The routers with a fresh push, sorted. */
  live(now: number): string[] {
    return [...this.#routers]
      .filter(([, pushed]) => now - pushed.at <= this.staleMs)
      .map(([router]) => router)
      .sort();
  }

  /**
   * `own` (the primary's router) plus the fresh pushes, summed per revision: concurrency, rps,
   * in flight and queued add up across routers. A revision only other routers measured is included.
   */
  sum(own: readonly RevisionStats[], now: number): RevisionStats[] {
    const total = new Map<string, RevisionStats>();
    const add = (s: RevisionStats) => {
      const key = namespacedKey(s.namespace, s.revision);
      const t = total.get(key);
      if (!t) {
        total.set(key, { ...s });
        return;
      }
      t.concurrency += s.concurrency;
      t.rps += s.rps;
      t.inFlight += s.inFlight;
      t.queued += s.queued;
    };
    for (const s of own) add(s);
    for (const pushed of this.#routers.values())
      if (now - pushed.at <= this.staleMs) for (const s of pushed.stats) add(s);
    return [...total.values()];
  }
}
