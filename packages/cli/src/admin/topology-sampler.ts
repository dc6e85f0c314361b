// Samples what the topology shows beside the resources: counters of the data plane (prom-client:
// ingress accepted, dispatch outcomes, source deliveries), of the part that runs in this process and
// of the processes that report theirs in their contract-feed status, turned into per-second rates over
// a sliding window (per process, so one that restarts and counts from 0 again costs no negative rate), each route's lag, and the revisions' replicas and last decision. It
// calls its listeners with a new Topology whenever the picture changed, so GET /v1/topology answers
// from the last sample and the SSE stream pushes only changes. It samples only while someone looks (a
// stream is open, or GET /v1/topology was asked within IDLE_MS): a closed dashboard costs nothing.

import { RATE_COUNTERS, type ReportedCounter, readCounters } from '@eddy/runtime';
import type { Registry } from 'prom-client';
import type { StoredResource, Topology } from './protocol.js';
import {
  buildTopology,
  type RevisionStats,
  type RouteStats,
  routeId,
  type TopologyStats,
} from './topology.js';

/** Where the numbers come from; every part optional, so a data source that lacks one still draws. */
export interface TopologySources {
  resources(): StoredResource[];
  /** The registry the in-process data plane counts into; absent when it runs elsewhere. */
  metrics?: Registry | undefined;
  /**
   * The counters data-plane processes reported (their feed status, RATE_COUNTERS), one entry per
   * process; with `metrics` absent too, no rates are shown.
   */
  reported?(): readonly ReportedProcessCounters[];
  /** A dispatch route's lag (DispatchRoute.id); rejects when it cannot be read. */
  lag?(routeId: string): Promise<number>;
  revisions?(): {
    namespace: string;
    name: string;
    actualReplicas: number;
    desiredReplicas: number;
    readyReplicas: number;
    rps: number;
    lastDecision?: { at: string; desired: number; reason: string; detail: string };
  }[];
  /** What this data source cannot measure, shown by the dashboard. */
  notes?: string[];
}

export interface ReportedProcessCounters {
  /** Which process: a restarted one that keeps its name counts from 0 again. */
  member: string;
  counters: readonly ReportedCounter[];
}

export interface TopologySamplerOptions {
  intervalMs?: number;
  /** Rates are averaged over this window; default 10 s (a single event shows for that long). */
  windowMs?: number;
  /** A lag read that takes longer is shown as unknown for this sample. */
  lagTimeoutMs?: number;
}

/** With no stream open and no GET for this long, sampling stops until the next one. */
const IDLE_MS = 30_000;

/** Counter sums by `<origin>\0<key>`: origin '' is this process's registry, else a reporting process. */
type Counters = Map<string, number>;
interface Sample {
  at: number;
  ingress: Counters;
  read: Counters;
  delivered: Counters;
  sources: Counters;
}

type Labels = Record<string, string>;
interface OriginCounters {
  origin: string;
  counters: readonly ReportedCounter[];
}

/** The rate counters of this process's registry (all of them: no bound here) and of every reporting process. */
async function allCounters(s: TopologySources): Promise<OriginCounters[]> {
  const out: OriginCounters[] = [];
  if (s.metrics) out.push({ origin: '', counters: await readCounters(s.metrics, RATE_COUNTERS, Infinity) });
  for (const r of s.reported?.() ?? []) out.push({ origin: r.member, counters: r.counters });
  return out;
}

/** A counter's values summed by origin and `key(labels)`; labels `keep` rejects are skipped. */
function counters(
  all: readonly OriginCounters[],
  name: string,
  key: (labels: Labels) => string,
  keep: (labels: Labels) => boolean = () => true,
): Counters {
  const out: Counters = new Map();
  for (const { origin, counters } of all)
    for (const c of counters) {
      if (c.name !== name || !keep(c.labels)) continue;
      const k = `${origin}\0${key(c.labels)}`;
      out.set(k, (out.get(k) ?? 0) + c.value);
    }
  return out;
}

/**
 * Per-second increase of each counter from `first` to `last`, summed over origins. A counter absent
 * at first was 0; one that went down was reset (its process restarted), so it counts from 0: never a
 * negative rate.
 */
export function counterRates(first: Counters, last: Counters, seconds: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of last) {
    const before = first.get(k) ?? 0;
    const increase = v >= before ? v - before : v;
    const key = k.slice(k.indexOf('\0') + 1);
    out.set(key, (out.get(key) ?? 0) + (seconds > 0 ? Math.max(0, increase) / seconds : 0));
  }
  return out;
}

export class TopologySampler {
  readonly #sources: TopologySources;
  readonly #intervalMs: number;
  readonly #windowMs: number;
  readonly #lagTimeoutMs: number;
  readonly #samples: Sample[] = [];
  readonly #listeners = new Set<(topology: Topology) => void>();
  #timer: NodeJS.Timeout | undefined;
  #current: Topology | undefined;
  #currentKey = '';
  #sampling: Promise<Topology> | undefined;
  #lastAsked = 0;
  #stopped = false;

  constructor(sources: TopologySources, options: TopologySamplerOptions = {}) {
    this.#sources = sources;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#windowMs = options.windowMs ?? 10_000;
    this.#lagTimeoutMs = options.lagTimeoutMs ?? 2000;
  }

  /** Samples every interval while it is asked for (see IDLE_MS). */
  #run(): void {
    this.#lastAsked = Date.now();
    if (this.#timer || this.#stopped) return;
    const tick = () => {
      const again = () => {
        this.#timer = undefined;
        if (this.#stopped) return;
        if (this.#listeners.size === 0 && Date.now() - this.#lastAsked > IDLE_MS) {
          // Rates restart from the next sample when someone looks again.
          this.#samples.length = 0;
          this.#current = undefined;
          return;
        }
        this.#timer = setTimeout(tick, this.#intervalMs).unref();
      };
      this.sample().then(again, again);
    };
    this.#timer = setTimeout(tick, this.#intervalMs).unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  /** The last sample, or a fresh one when there is none. */
  async current(): Promise<Topology> {
    this.#run();
    return this.#current ?? (await this.sample());
  }

  /** Calls `listener` with every changed topology; returns the unsubscribe. */
  subscribe(listener: (topology: Topology) => void): () => void {
    this.#listeners.add(listener);
    this.#run();
    return () => this.#listeners.delete(listener);
  }

  /** Takes one sample (concurrent callers share it) and tells the listeners when the picture changed. */
  sample(): Promise<Topology> {
    this.#sampling ??= this.#take().finally(() => {
      this.#sampling = undefined;
    });
    return this.#sampling;
  }

  async #take(): Promise<Topology> {
    const s = this.#sources;
    const resources = s.resources();
    const now = Date.now();
    const all = await allCounters(s);
    const sample: Sample = {
      at: now,
      ingress: counters(
        all,
        'eddy_ingress_events_total',
        (l) => `${l.kind}/${l.namespace}/${l.name}`,
        (l) => l.outcome === 'accepted',
      ),
      read: counters(all, 'eddy_dispatch_events_total', (l) => String(l.route)),
      delivered: counters(
        all,
        'eddy_dispatch_events_total',
        (l) => String(l.route),
        (l) => l.outcome === 'delivered',
      ),
      sources: counters(
        all,
        'eddy_source_events_delivered_total',
        (l) => `${l.kind}/${l.namespace}/${l.name}`,
      ),
    };
    this.#samples.push(sample);
    while (this.#samples.length > 2 && now - (this.#samples[1]?.at ?? now) >= this.#windowMs)
      this.#samples.shift();
    const first = this.#samples[0] ?? sample;
    const seconds = (now - first.at) / 1000;

    const routes = new Map<string, RouteStats>();
    // Without counters from anywhere there is no rate to show, rather than a misleading zero.
    const measured = s.metrics !== undefined || s.reported !== undefined;
    const read = counterRates(first.read, sample.read, seconds);
    const delivered = counterRates(first.delivered, sample.delivered, seconds);
    const ids = resources
      .filter((r) => r.kind === 'Trigger' || r.kind === 'Subscription')
      .map((r) => routeId(r.kind, r.metadata.namespace, r.metadata.name));
    const lags = await Promise.all(ids.map((id) => this.#lag(id)));
    ids.forEach((id, i) => {
      const stats: RouteStats = { read: read.get(id) ?? 0, delivered: delivered.get(id) ?? 0 };
      const lag = lags[i];
      if (lag !== undefined) stats.lag = lag;
      if (!measured) {
        delete stats.read;
        delete stats.delivered;
      }
      routes.set(id, stats);
    });
    const revisions = new Map<string, RevisionStats>();
    for (const r of s.revisions?.() ?? []) {
      const stats: RevisionStats = {
        actual: r.actualReplicas,
        desired: r.desiredReplicas,
        ready: r.readyReplicas,
        rps: r.rps,
      };
      if (r.lastDecision) {
        const { at, desired, reason, detail } = r.lastDecision;
        stats.decision = { at, desired, reason, detail };
      }
      revisions.set(`${r.namespace}/${r.name}`, stats);
    }
    const stats: TopologyStats = {
      windowSeconds: Math.round(this.#windowMs / 1000),
      ingress: measured ? counterRates(first.ingress, sample.ingress, seconds) : new Map(),
      routes,
      sources: measured ? counterRates(first.sources, sample.sources, seconds) : new Map(),
      revisions,
      ...(s.notes ? { notes: s.notes } : {}),
    };
    const topology = buildTopology(resources, stats, new Date(now));
    const { at: _at, ...rest } = topology;
    const key = JSON.stringify(rest);
    this.#current = topology;
    if (key !== this.#currentKey) {
      this.#currentKey = key;
      for (const listener of this.#listeners) listener(topology);
    }
    return topology;
  }

  async #lag(id: string): Promise<number | undefined> {
    if (!this.#sources.lag) return undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.#sources.lag(id),
        new Promise<undefined>((done) => {
          timer = setTimeout(() => done(undefined), this.#lagTimeoutMs).unref();
        }),
      ]);
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
