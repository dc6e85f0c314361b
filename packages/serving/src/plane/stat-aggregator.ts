// The primary's sum of what every router measured (Knative's autoscaler collecting the activators'
// and queue-proxies' stats): each extra router pushes its per-revision window (RevisionStats, with
// how long the window was) about every second; at a tick the primary adds what each router still
// fresh measured since the previous tick to its own router's window. Several pushes between two ticks
// are merged weighted by their windows (concurrency and rps are averages over them; in flight and
// queued are the newest push's); no push since the previous tick repeats the router's last value. A
// router whose last push is older than `staleMs` has stopped (SIGKILL, partition): it drops out of
// the sum and of the live routers, so its last window does not hold a revision up.
// Clock-free (time is an argument): unit-tested in stat-aggregator.test.ts.

import { namespacedKey } from '@eddy/api';
import type { RevisionStats } from '../router/router.js';

interface Window {
  stats: readonly RevisionStats[];
  windowMs: number;
}

interface RouterState {
  at: number;
  /** What sum() last used for this router. */
  latest: readonly RevisionStats[];
  /** Pushes since the last sum(), oldest first. */
  pending: Window[];
}

/** Pushes kept between two sums at most (a primary whose tick stalls must not grow without bound). */
const MAX_PENDING = 120;

export class StatAggregator {
  readonly #routers = new Map<string, RouterState>();
  readonly staleMs: number;

  constructor(staleMs: number) {
    if (!(staleMs > 0)) throw new RangeError(`StatAggregator: staleMs must be > 0, got ${staleMs}`);
    this.staleMs = staleMs;
  }

  /**
   * Takes a router's window of `windowMs` (how long it measured; default 1 s); true when the router
   * was not live before (it joined).
   */
  push(router: string, stats: readonly RevisionStats[], now: number, windowMs = 1_000): boolean {
    const before = this.#routers.get(router);
    const joined = before === undefined || now - before.at > this.staleMs;
    const state: RouterState = joined ? { at: now, latest: [], pending: [] } : before;
    state.at = now;
    state.pending.push({ stats, windowMs: Math.max(1, windowMs) });
    if (state.pending.length > MAX_PENDING) state.pending.shift();
    this.#routers.set(router, state);
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
    for (const [router, state] of this.#routers)
      if (now - state.at > this.staleMs) {
        this.#routers.delete(router);
        dropped.push({ router, silentMs: now - state.at });
      }
    return dropped;
  }

  /** The routers with a fresh push, sorted. */
  live(now: number): string[] {
    return [...this.#routers]
      .filter(([, state]) => now - state.at <= this.staleMs)
      .map(([router]) => router)
      .sort();
  }

  /**
   * `own` (the primary's router) plus what every fresh router measured since the previous sum,
   * summed per revision: concurrency, rps, in flight and queued add up across routers. A revision
   * only other routers measured is included. Takes the pushes: call it once per tick.
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
    for (const state of this.#routers.values()) {
      if (now - state.at > this.staleMs) continue;
      if (state.pending.length > 0) {
        state.latest = merge(state.pending);
        state.pending = [];
      }
      for (const s of state.latest) add(s);
    }
    return [...total.values()];
  }
}

/** Windows of one router as one: averages weighted by window length, levels from the newest. */
function merge(windows: readonly Window[]): RevisionStats[] {
  if (windows.length === 1) return [...(windows[0]?.stats ?? [])];
  const totalMs = windows.reduce((n, w) => n + w.windowMs, 0);
  const merged = new Map<string, RevisionStats>();
  windows.forEach((w, i) => {
    const newest = i === windows.length - 1;
    for (const s of w.stats) {
      const key = namespacedKey(s.namespace, s.revision);
      const m = merged.get(key) ?? {
        namespace: s.namespace,
        revision: s.revision,
        concurrency: 0,
        rps: 0,
        inFlight: 0,
        queued: 0,
      };
      m.concurrency += (s.concurrency * w.windowMs) / totalMs;
      m.rps += (s.rps * w.windowMs) / totalMs;
      if (newest) {
        m.inFlight = s.inFlight;
        m.queued = s.queued;
      }
      merged.set(key, m);
    }
  });
  return [...merged.values()];
}
