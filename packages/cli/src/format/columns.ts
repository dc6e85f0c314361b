// `eddy get` columns, kubectl-like: NAME, what matters for the kind (URLs, revisions, the broker and
// subscriber, the sink), READY and REASON from the Ready condition, AGE. `-o wide` adds a few more.
// A Replay has its own: STATUS from Succeeded, PROGRESS and counters.

import { namespacedKey } from '@eddy/api';
import type { Condition, StoredResource } from '../admin/protocol.js';
import { age } from './age.js';
import { dataKeyCount } from './data-keys.js';
import { type ReplayStatusView, replayProgress, replayState, succeededCondition } from './replay-progress.js';

export interface Column {
  header: string;
  value(r: StoredResource, ctx: ColumnContext): string;
  /** Only with `-o wide`. */
  wide?: boolean;
  /** Only when this holds for at least one of the rows listed. */
  ifAny?: (r: StoredResource) => boolean;
}

export interface ColumnContext {
  now: number;
  /** For Services: replicas of their revisions, `<actual>/<desired>` (filled in by `get`). */
  replicas?: ReadonlyMap<string, string>;
}

const text = (v: unknown): string =>
  v === undefined || v === null
    ? ''
    : typeof v === 'string'
      ? v
      : typeof v === 'number'
        ? String(v)
        : JSON.stringify(v);

const rec = (v: unknown): Record<string, unknown> =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

const spec = (r: StoredResource) => rec(r.spec);
const status = (r: StoredResource) => rec(r.status);

export function readyCondition(r: StoredResource): Condition | undefined {
  const conditions = r.status?.conditions;
  if (!Array.isArray(conditions)) return undefined;
  // Knative uses Ready for long-running kinds and Succeeded for run-to-completion ones.
  return conditions.find((c) => c.type === 'Ready') ?? conditions.find((c) => c.type === 'Succeeded');
}

const col = (header: string, value: Column['value'], wide = false): Column => ({ header, value, wide });

const addressUrl = col('URL', (r) => text(rec(status(r).address).url));
/** A source's address: only adapters that listen for HTTP publish one, so the column shows when one did. */
const sourceUrl: Column = { ...addressUrl, ifAny: (r) => typeof rec(status(r).address).url === 'string' };
const statusUrl = col('URL', (r) => text(status(r).url));
const latestCreated = col('LATESTCREATED', (r) => text(status(r).latestCreatedRevisionName));
const latestReady = col('LATESTREADY', (r) => text(status(r).latestReadyRevisionName));
const sink = col('SINK', (r) => text(status(r).sinkUri));

function describeFilter(r: StoredResource): string {
  const s = spec(r);
  if (Array.isArray(s.filters) && s.filters.length > 0) {
    return s.filters
      .map((f) => {
        const [op, arg] = Object.entries(rec(f))[0] ?? ['', ''];
        return op === 'cesql' ? `cesql(${text(arg)})` : `${op}(${text(arg)})`;
      })
      .join(' AND ');
  }
  const attributes = rec(rec(s.filter).attributes);
  const pairs = Object.entries(attributes).map(([k, v]) => `${k}=${text(v)}`);
  return pairs.length > 0 ? pairs.join(',') : '<all>';
}

const replayStatus = (r: StoredResource) => r.status as ReplayStatusView | undefined;

/** `triggers a,b`, `uri http://...`, `ref Service/display`: where a Replay delivers. */
function replayTarget(r: StoredResource): string {
  const target = rec(spec(r).target);
  if (Array.isArray(target.triggers)) return `triggers ${target.triggers.join(',')}`;
  if (Array.isArray(target.subscriptions)) return `subscriptions ${target.subscriptions.join(',')}`;
  const d = rec(target.destination);
  const ref = rec(d.ref);
  if (typeof ref.kind === 'string')
    return `ref ${ref.kind}/${text(ref.name)}${d.uri ? ` ${text(d.uri)}` : ''}`;
  return d.uri !== undefined ? `uri ${text(d.uri)}` : '';
}

const REPLAY_COLUMNS: Column[] = [
  col('BROKER', (r) => text(spec(r).broker ?? rec(spec(r).channel).name)),
  col('STATUS', (r) => {
    const state = replayState(replayStatus(r)) ?? '';
    return state && spec(r).dryRun === true ? `${state} (dry run)` : state;
  }),
  col('PROGRESS', (r) => {
    const p = replayProgress(replayStatus(r));
    return p ? `${p.done}/${p.total}` : '';
  }),
  col('DELIVERED', (r) => text(replayStatus(r)?.delivered)),
  col('FAILED', (r) => text(replayStatus(r)?.failed)),
  col('DEAD-LETTERED', (r) => text(replayStatus(r)?.deadLettered), true),
  col('TARGET', replayTarget, true),
  col('AGE', (r, ctx) => age(r.metadata.creationTimestamp, ctx.now)),
  // Why it waits is often the Ready condition's (its broker is not ready); why it ended, Succeeded's.
  col(
    'MESSAGE',
    (r) => succeededCondition(replayStatus(r))?.message ?? readyCondition(r)?.message ?? '',
    true,
  ),
];

function revisionConfiguration(r: StoredResource): string {
  const labels = r.metadata.labels ?? {};
  return (
    labels['serving.knative.dev/configuration'] ??
    r.metadata.ownerReferences?.find((o) => o.kind === 'Configuration')?.name ??
    ''
  );
}

/** An EventType attribute's value (Knative's Type and Source columns). */
const attributeValue = (r: StoredResource, name: string) => {
  const attributes = spec(r).attributes;
  const found = Array.isArray(attributes) ? attributes.map(rec).find((a) => a.name === name) : undefined;
  return text(found?.value);
};
/** The discovery data the reconcile loop keeps in an EventType's status annotations (eddy.dev/...). */
const seen = (r: StoredResource, what: string) => text(rec(status(r).annotations)[`eddy.dev/${what}`]);
const seenAge = (what: string) => (r: StoredResource, ctx: ColumnContext) => {
  const at = seen(r, what);
  return at ? age(at, ctx.now) : '';
};

const EVENT_TYPE_COLUMNS: Column[] = [
  col('TYPE', (r) => attributeValue(r, 'type')),
  col('SOURCE', (r) => attributeValue(r, 'source')),
  col('REFERENCE', (r) => {
    const ref = rec(spec(r).reference);
    return typeof ref.kind === 'string' ? `${ref.kind}/${text(ref.name)}` : '';
  }),
  col('FIRST SEEN', seenAge('first-seen')),
  col('LAST SEEN', seenAge('last-seen')),
  col('RATE', (r) => (seen(r, 'rate') ? `${seen(r, 'rate')}/s` : '')),
  col('EVENTS', (r) => seen(r, 'events'), true),
  col('DESCRIPTION', (r) => text(spec(r).description), true),
];

const KIND_COLUMNS: Record<string, Column[]> = {
  EventType: EVENT_TYPE_COLUMNS,
  Broker: [
    addressUrl,
    col('CLASS', (r) => r.metadata.annotations?.['eventing.knative.dev/broker.class'] ?? '', true),
  ],
  Trigger: [
    col('BROKER', (r) => text(spec(r).broker)),
    col('SUBSCRIBER_URI', (r) => text(status(r).subscriberUri)),
    col('FILTER', describeFilter, true),
  ],
  Service: [
    statusUrl,
    latestCreated,
    latestReady,
    col(
      'REPLICAS',
      (r, ctx) => ctx.replicas?.get(namespacedKey(r.metadata.namespace, r.metadata.name)) ?? '',
    ),
  ],
  Configuration: [latestCreated, latestReady],
  Revision: [
    col('CONFIG NAME', revisionConfiguration),
    col('GENERATION', (r) => r.metadata.labels?.['serving.knative.dev/configurationGeneration'] ?? ''),
    col('ACTUAL REPLICAS', (r) => text(status(r).actualReplicas)),
    col('DESIRED REPLICAS', (r) => text(status(r).desiredReplicas)),
  ],
  Route: [statusUrl],
  Channel: [addressUrl],
  InMemoryChannel: [addressUrl],
  KafkaChannel: [addressUrl],
  Subscription: [
    col('CHANNEL', (r) => text(rec(spec(r).channel).name)),
    col('SUBSCRIBER_URI', (r) => text(rec(status(r).physicalSubscription).subscriberUri)),
  ],
  PingSource: [col('SCHEDULE', (r) => text(spec(r).schedule)), sink],
  GitHubSource: [addressUrl, sink],
  Secret: [col('TYPE', (r) => text(r.type ?? 'Opaque')), col('DATA', (r) => String(dataKeyCount(r)))],
  ConfigMap: [col('DATA', (r) => String(dataKeyCount(r)))],
};

/** Kinds without a status (Secret, ConfigMap): no READY, REASON or MESSAGE columns, as kubectl shows them. */
const STATUSLESS = new Set(['Secret', 'ConfigMap']);

/**
 * Kinds whose columns after NAME are all their own: a run-to-completion kind's Succeeded reason and
 * counters say more than READY and REASON would.
 */
const OWN_COLUMNS: Record<string, Column[]> = { Replay: REPLAY_COLUMNS };

/** The kind's columns, then READY, REASON, AGE (and MESSAGE with -o wide) where the kind has a status. */
function standardColumns(kind: string): Column[] {
  const specific =
    KIND_COLUMNS[kind] ?? (kind.endsWith('Source') || kind === 'SinkBinding' ? [sourceUrl, sink] : []);
  const statusless = STATUSLESS.has(kind);
  return [
    ...specific,
    ...(statusless
      ? []
      : [
          col('READY', (r) => readyCondition(r)?.status ?? ''),
          col('REASON', (r) => {
            const c = readyCondition(r);
            return c && c.status !== 'True' ? (c.reason ?? '') : '';
          }),
        ]),
    col('AGE', (r, ctx) => age(r.metadata.creationTimestamp, ctx.now)),
    ...(statusless ? [] : [col('MESSAGE', (r) => readyCondition(r)?.message ?? '', true)]),
  ];
}

/**
 * The columns for `kind`, in order, with or without the wide ones and the NAMESPACE column; columns
 * that depend on the data (a source's URL) only when one of `rows` has a value for them.
 */
export function columnsFor(
  kind: string,
  options: { wide: boolean; allNamespaces: boolean; rows?: readonly StoredResource[] },
): Column[] {
  const columns: Column[] = [
    ...(options.allNamespaces ? [col('NAMESPACE', (r) => r.metadata.namespace)] : []),
    col('NAME', (r) => r.metadata.name),
    ...(OWN_COLUMNS[kind] ?? standardColumns(kind)),
  ];
  return columns.filter(
    (c) => (options.wide || !c.wide) && (!c.ifAny || (options.rows ?? []).some((r) => c.ifAny?.(r))),
  );
}

/** Sum of actual/desired replicas of each Service's revisions, keyed `<ns>/<service>`. */
export function serviceReplicas(revisions: readonly StoredResource[]): Map<string, string> {
  const sums = new Map<string, { actual: number; desired: number }>();
  for (const r of revisions) {
    const service =
      r.metadata.labels?.['serving.knative.dev/service'] ??
      r.metadata.labels?.['serving.knative.dev/configuration'];
    if (!service) continue;
    const s = status(r);
    const actual = typeof s.actualReplicas === 'number' ? s.actualReplicas : undefined;
    const desired = typeof s.desiredReplicas === 'number' ? s.desiredReplicas : undefined;
    if (actual === undefined && desired === undefined) continue;
    const key = namespacedKey(r.metadata.namespace, service);
    const sum = sums.get(key) ?? { actual: 0, desired: 0 };
    sum.actual += actual ?? 0;
    sum.desired += desired ?? 0;
    sums.set(key, sum);
  }
  return new Map([...sums].map(([k, v]) => [k, `${v.actual}/${v.desired}`]));
}
