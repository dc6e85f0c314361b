// What kinds of events each broker and channel receives: every distinct (type, source, dataschema) an
// ingress route accepted, with when it was first and last seen, how many and how fast (events/s
// over the last minute). The control plane turns these into EventTypes (Knative's event registry:
// auto-create) and shows them beside the EventTypes that match.
//
// It is on the ingress's hot path, so recording an event allocates nothing once its kind is known:
// nested maps keyed by the attributes themselves (no key string built per event), one Date.now()
// per request. It is bounded: at most `maxEntries` distinct kinds (later new ones are counted in
// eddy_ingress_event_types_dropped_total{reason="limit"}, not kept) and attribute values of at most
// `maxAttributeLength` characters (longer ones count as reason="too_long"), so a sender making up
// types cannot grow the process, nor the status report that carries a snapshot to the control plane.

import type { PlainEvent } from '@eddy/api';
import { countersSignature, type ReportedCounter, readCounters, startStatusReporter } from '@eddy/runtime';
import type { Counter, Gauge, Registry } from 'prom-client';
import { registeredCounter, registeredGauge } from '../metrics/registered-metric.js';
import type { IngressRoute, IngressRouteKind } from './route-table.js';

export const DEFAULT_EVENT_TYPE_LIMIT = 500;
export const DEFAULT_EVENT_TYPE_ATTRIBUTE_LENGTH = 256;
/** The rate's window: events/s over the last minute. */
export const EVENT_TYPE_RATE_WINDOW_MS = 60_000;

/** One kind of event a broker or channel received. Times are epoch milliseconds. */
export interface ObservedEventType {
  kind: IngressRouteKind;
  namespace: string;
  name: string;
  type: string;
  source: string;
  /** The events' `dataschema`, when they carry one. */
  schema?: string;
  /** The `specversion` of the first event seen. */
  specversion: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
  /** Events per second over the last EVENT_TYPE_RATE_WINDOW_MS. */
  rate: number;
}

/**
 * What a broker data-plane process reports to the control plane through the contract feed: an
 * ingress its observed event types, every process its rate counters.
 */
export interface DataPlaneStatusReport {
  eventTypes?: ObservedEventType[];
  counters: ReportedCounter[];
}

/** What an ingress process reports. */
export type IngressStatusReport = DataPlaneStatusReport & { eventTypes: ObservedEventType[] };

export interface EventTypeRecorderOptions {
  /** Distinct (route, type, source, dataschema) kept; default 500. */
  maxEntries?: number;
  /** Longest type, source or dataschema kept; default 256 characters. */
  maxAttributeLength?: number;
  /** Where the dropped counter and the entries gauge register; none = not exported. */
  registry?: Registry;
}

interface Entry {
  kind: IngressRouteKind;
  namespace: string;
  name: string;
  type: string;
  source: string;
  schema: string | undefined;
  specversion: string;
  firstSeen: number;
  lastSeen: number;
  count: number;
  /** Start of the current rate window, and the counts of it and of the window before. */
  windowStart: number;
  windowCount: number;
  previousCount: number;
}

/** type -> source -> dataschema ('' for none) -> entry. */
type TypeMap = Map<string, Map<string, Map<string, Entry>>>;

const NO_SCHEMA = '';

export class EventTypeRecorder {
  readonly #maxEntries: number;
  readonly #maxLength: number;
  /** By route path. */
  readonly #routes = new Map<string, TypeMap>();
  #size = 0;
  readonly #dropped: Counter<'reason'> | undefined;
  readonly #entries: Gauge | undefined;

  constructor(options: EventTypeRecorderOptions = {}) {
    this.#maxEntries = options.maxEntries ?? DEFAULT_EVENT_TYPE_LIMIT;
    this.#maxLength = options.maxAttributeLength ?? DEFAULT_EVENT_TYPE_ATTRIBUTE_LENGTH;
    if (!Number.isSafeInteger(this.#maxEntries) || this.#maxEntries < 0)
      throw new RangeError(
        `event type recorder: maxEntries must be a non-negative integer, got ${this.#maxEntries}`,
      );
    if (options.registry) {
      this.#dropped = registeredCounter(
        options.registry,
        'eddy_ingress_event_types_dropped_total',
        'Accepted events whose (type, source, dataschema) the ingress did not record: reason="limit" (the distinct kinds it keeps are full), "too_long" (an attribute value is longer than it keeps)',
        ['reason'],
      );
      this.#entries = registeredGauge(
        options.registry,
        'eddy_ingress_event_types',
        'Distinct (broker or channel, type, source, dataschema) the ingress recorded',
        [],
      );
    }
  }

  /** Distinct kinds recorded. */
  get size(): number {
    return this.#size;
  }

  /** Records accepted events of `route`, all received at `now`. */
  record(route: IngressRoute, events: readonly PlainEvent[], now: number): void {
    let types = this.#routes.get(route.path);
    for (const event of events) {
      const { type, source } = event;
      const schema = typeof event.dataschema === 'string' ? event.dataschema : NO_SCHEMA;
      let entry = types?.get(type)?.get(source)?.get(schema);
      if (entry === undefined) {
        if (
          type.length > this.#maxLength ||
          source.length > this.#maxLength ||
          schema.length > this.#maxLength
        ) {
          this.#dropped?.inc({ reason: 'too_long' });
          continue;
        }
        if (this.#size >= this.#maxEntries) {
          this.#dropped?.inc({ reason: 'limit' });
          continue;
        }
        if (types === undefined) {
          types = new Map();
          this.#routes.set(route.path, types);
        }
        entry = this.#add(types, route, event, schema, now);
      }
      entry.lastSeen = now;
      entry.count++;
      if (now - entry.windowStart >= EVENT_TYPE_RATE_WINDOW_MS) roll(entry, now);
      entry.windowCount++;
    }
  }

  /** Forgets the routes no longer served (their paths are not in `paths`). */
  retainRoutes(paths: ReadonlySet<string>): void {
    for (const [path, types] of this.#routes) {
      if (paths.has(path)) continue;
      this.#routes.delete(path);
      for (const sources of types.values())
        for (const schemas of sources.values()) this.#size -= schemas.size;
    }
    this.#entries?.set(this.#size);
  }

  /** Every recorded kind, its rate as of `now`. */
  snapshot(now: number): ObservedEventType[] {
    const out: ObservedEventType[] = [];
    for (const types of this.#routes.values())
      for (const sources of types.values())
        for (const schemas of sources.values())
          for (const e of schemas.values())
            out.push({
              kind: e.kind,
              namespace: e.namespace,
              name: e.name,
              type: e.type,
              source: e.source,
              ...(e.schema !== undefined ? { schema: e.schema } : {}),
              specversion: e.specversion,
              firstSeen: e.firstSeen,
              lastSeen: e.lastSeen,
              count: e.count,
              rate: rateOf(e, now),
            });
    return out;
  }

  #add(types: TypeMap, route: IngressRoute, event: PlainEvent, schema: string, now: number): Entry {
    let sources = types.get(event.type);
    if (!sources) {
      sources = new Map();
      types.set(event.type, sources);
    }
    let schemas = sources.get(event.source);
    if (!schemas) {
      schemas = new Map();
      sources.set(event.source, schemas);
    }
    const entry: Entry = {
      kind: route.kind,
      namespace: route.namespace,
      name: route.name,
      type: event.type,
      source: event.source,
      schema: schema === NO_SCHEMA ? undefined : schema,
      specversion: event.specversion,
      firstSeen: now,
      lastSeen: now,
      count: 0,
      windowStart: now,
      windowCount: 0,
      previousCount: 0,
    };
    schemas.set(schema, entry);
    this.#size++;
    this.#entries?.set(this.#size);
    return entry;
  }
}

/** Moves the entry's rate window forward to the one holding `now`. */
function roll(e: Entry, now: number): void {
  const windows = Math.floor((now - e.windowStart) / EVENT_TYPE_RATE_WINDOW_MS);
  e.previousCount = windows === 1 ? e.windowCount : 0;
  e.windowCount = 0;
  e.windowStart += windows * EVENT_TYPE_RATE_WINDOW_MS;
}

/**
 * Events/s over the window ending at `now`: the current window's count plus the part of the previous
 * window's that the sliding window still covers (the previous one's events taken as evenly spread).
 */
export function rateOf(e: Pick<Entry, 'windowStart' | 'windowCount' | 'previousCount'>, now: number): number {
  const elapsed = now - e.windowStart;
  let current = e.windowCount;
  let previous = e.previousCount;
  if (elapsed >= 2 * EVENT_TYPE_RATE_WINDOW_MS) {
    current = 0;
    previous = 0;
  } else if (elapsed >= EVENT_TYPE_RATE_WINDOW_MS) {
    previous = current;
    current = 0;
  }
  const into = (elapsed % EVENT_TYPE_RATE_WINDOW_MS) / EVENT_TYPE_RATE_WINDOW_MS;
  return (previous * (1 - into) + current) / (EVENT_TYPE_RATE_WINDOW_MS / 1000);
}

/** A signature of observations that moves when a count does (not with the rates, which decay alone). */
export function eventTypesSignature(eventTypes: readonly ObservedEventType[]): string {
  let total = 0;
  for (const e of eventTypes) total += e.count;
  return `${eventTypes.length}:${total}`;
}

/**
 * Keeps a data-plane process's contract-feed status current (runtime's status reporter: on change,
 * every 2 s at most, every 30 s anyway): ONE report carrying what the ingress observed (`eventTypes`,
 * absent for a dispatcher) and the rate counters of `registry` (RATE_COUNTERS), so the control plane
 * can show rates of processes it does not share a registry with. Returns the way to stop.
 */
export function reportDataPlaneStatus(options: {
  /** The ingress's observations; absent for a dispatcher. */
  observedEventTypes?: (() => ObservedEventType[]) | undefined;
  registry: Registry;
  report: (status: DataPlaneStatusReport) => void;
  intervalMs?: number;
  refreshMs?: number;
}): () => void {
  const { observedEventTypes } = options;
  const reporter = startStatusReporter<DataPlaneStatusReport>({
    build: async () => ({
      ...(observedEventTypes ? { eventTypes: observedEventTypes() } : {}),
      counters: await readCounters(options.registry),
    }),
    signature: (s) =>
      `${s.eventTypes ? eventTypesSignature(s.eventTypes) : '-'} ${countersSignature(s.counters)}`,
    send: options.report,
    ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
    ...(options.refreshMs !== undefined ? { refreshMs: options.refreshMs } : {}),
  });
  return () => reporter.stop();
}
