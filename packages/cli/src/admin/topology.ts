// The topology the dashboard draws, as a pure function of the stored resources and the sampled
// numbers (topology-sampler.ts): nodes for resources, edges for the paths events take (source -> sink,
// broker/channel -> trigger/subscription -> subscriber, replies, dead letters, service -> revisions).
// It knows the kinds that carry events; any other kind (EventType, KafkaSink, ...) still shows as a
// node, so a kind added later appears before anyone teaches this module about it.

import type {
  Condition,
  StoredResource,
  Topology,
  TopologyEdge,
  TopologyEdgeKind,
  TopologyNode,
  TopologyRole,
} from './protocol.js';

/** Numbers of one dispatch route (a Trigger's or Subscription's consumer group). */
export interface RouteStats {
  /** Events/s the route read (any outcome: filtered, delivered, dead-lettered, dropped). */
  read?: number;
  /** Events/s delivered to the subscriber. */
  delivered?: number;
  lag?: number;
}

export interface RevisionStats {
  actual: number;
  desired: number;
  ready: number;
  /** Requests/s the router measured. */
  rps?: number;
  decision?: TopologyNode['decision'];
}

export interface TopologyStats {
  windowSeconds: number;
  /** Events/s the ingress accepted, by `broker/<ns>/<name>` or `channel/<ns>/<name>` (its metric labels). */
  ingress: ReadonlyMap<string, number>;
  /** By dispatch route id: `<ns>/<name>` for a Trigger, `subscriptions/<ns>/<name>` for a Subscription. */
  routes: ReadonlyMap<string, RouteStats>;
  /** Events/s a source delivered to its sink, by `<Kind>/<ns>/<name>`. */
  sources: ReadonlyMap<string, number>;
  /** By `<ns>/<name>` of the Revision. */
  revisions: ReadonlyMap<string, RevisionStats>;
  notes?: string[];
}

export const EMPTY_STATS: TopologyStats = {
  windowSeconds: 0,
  ingress: new Map(),
  routes: new Map(),
  sources: new Map(),
  revisions: new Map(),
};

const CHANNEL_KINDS = new Set(['Channel', 'InMemoryChannel', 'KafkaChannel']);
/** Not part of the event paths (Secrets, ConfigMaps), or a Service's plumbing drawn as service -> revision. */
const HIDDEN_KINDS = new Set(['Secret', 'ConfigMap', 'Configuration', 'Route']);
/** Sources whose own process posts to the sink: Eddy counts nothing for them (the ingress does). */
const SELF_SENDING_KINDS = new Set(['ContainerSource', 'SinkBinding']);

interface Ref {
  kind?: string;
  name?: string;
  namespace?: string;
}
interface Destination {
  ref?: Ref;
  uri?: string;
}

export function nodeId(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

/** The id of a Trigger's or Subscription's dispatch route (DispatchRoute.id). */
export function routeId(kind: string, namespace: string, name: string): string {
  return kind === 'Subscription' ? `subscriptions/${namespace}/${name}` : `${namespace}/${name}`;
}

function roleOf(resource: StoredResource): TopologyRole {
  const { kind } = resource;
  if (kind === 'Broker' || CHANNEL_KINDS.has(kind)) return 'mesh';
  if (kind === 'Trigger' || kind === 'Subscription') return 'route';
  if (kind === 'Service') return 'service';
  if (kind === 'Revision') return 'revision';
  if (kind === 'Sequence' || kind === 'Parallel') return 'flow';
  if (destination(spec(resource).sink)) return 'source';
  return 'other';
}

function spec(resource: StoredResource): Record<string, unknown> {
  return resource.spec && typeof resource.spec === 'object' ? (resource.spec as Record<string, unknown>) : {};
}

function destination(value: unknown): Destination | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const d = value as Destination;
  if (
    (d.ref && typeof d.ref.name === 'string' && typeof d.ref.kind === 'string') ||
    typeof d.uri === 'string'
  )
    return d;
  return undefined;
}

function readyOf(conditions: readonly Condition[] | undefined): Condition | undefined {
  return conditions?.find((c) => c.type === 'Ready');
}

/** A Trigger's filter as one line: the `filters` (CESQL, exact, prefix, ...) or the `filter` attributes. */
export function filterText(triggerSpec: Record<string, unknown>): string | undefined {
  const filters = triggerSpec.filters;
  if (Array.isArray(filters) && filters.length > 0) return filters.map(dialect).join(' AND ');
  const attributes = (triggerSpec.filter as { attributes?: Record<string, unknown> } | undefined)?.attributes;
  if (attributes && Object.keys(attributes).length > 0)
    return Object.entries(attributes)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ');
  return undefined;
}

function dialect(filter: unknown): string {
  if (!filter || typeof filter !== 'object') return String(filter);
  const parts = Object.entries(filter as Record<string, unknown>).map(([op, value]) => {
    if (op === 'cesql') return String(value);
    if (op === 'all' || op === 'any')
      return Array.isArray(value) ? `${op}(${value.map(dialect).join(', ')})` : op;
    if (op === 'not') return `not(${dialect(value)})`;
    if (value && typeof value === 'object')
      return Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${op} ${k}=${String(v)}`)
        .join(', ');
    return `${op} ${String(value)}`;
  });
  return parts.join(', ');
}

/** The mesh's picture: nodes and edges sorted by id, so equal inputs give equal JSON. */
export function buildTopology(
  resources: readonly StoredResource[],
  stats: TopologyStats,
  at: Date,
): Topology {
  const nodes = new Map<string, TopologyNode>();
  const edges = new Map<string, TopologyEdge>();
  const shown = resources.filter((r) => !HIDDEN_KINDS.has(r.kind));

  for (const r of shown) {
    const { name, namespace } = r.metadata;
    const node: TopologyNode = {
      id: nodeId(r.kind, namespace, name),
      kind: r.kind,
      namespace,
      name,
      role: roleOf(r),
    };
    const ready = readyOf(r.status?.conditions);
    if (ready) {
      node.ready = ready.status;
      if (ready.status !== 'True' && (ready.reason || ready.message))
        node.reason = [ready.reason, ready.message].filter(Boolean).join(': ');
    } else node.ready = 'Unknown';
    if (r.kind === 'Broker') setNumber(node, 'rate', stats.ingress.get(`broker/${namespace}/${name}`));
    else if (CHANNEL_KINDS.has(r.kind))
      setNumber(node, 'rate', stats.ingress.get(`channel/${namespace}/${name}`));
    else if (node.role === 'source' && !SELF_SENDING_KINDS.has(r.kind))
      setNumber(node, 'rate', stats.sources.get(node.id));
    if (r.kind === 'Trigger') {
      const filter = filterText(spec(r));
      if (filter) node.filter = filter;
    }
    if (r.kind === 'Trigger' || r.kind === 'Subscription')
      setNumber(node, 'lag', stats.routes.get(routeId(r.kind, namespace, name))?.lag);
    if (r.kind === 'Revision') {
      const s = stats.revisions.get(`${namespace}/${name}`);
      if (s) {
        node.replicas = { actual: s.actual, desired: s.desired, ready: s.ready };
        if (s.decision) node.decision = s.decision;
      }
    }
    nodes.set(node.id, node);
  }

  /** The node a Destination points at, created when it does not exist (so a dangling ref shows). */
  const target = (d: Destination, namespace: string): string => {
    if (d.ref?.kind && d.ref.name) {
      const ns = d.ref.namespace ?? namespace;
      const id = nodeId(d.ref.kind, ns, d.ref.name);
      if (!nodes.has(id))
        nodes.set(id, {
          id,
          kind: d.ref.kind,
          namespace: ns,
          name: d.ref.name,
          role: 'other',
          ready: 'False',
          reason: 'NotFound: no such resource',
        });
      return id;
    }
    const id = `url:${d.uri}`;
    if (!nodes.has(id)) nodes.set(id, { id, kind: 'URL', namespace: '', name: d.uri ?? '', role: 'other' });
    return id;
  };
  const edge = (from: string, to: string, kind: TopologyEdgeKind, extra: Partial<TopologyEdge> = {}) => {
    const id = `${from}->${to}:${kind}`;
    const e: TopologyEdge = { id, from, to, kind };
    if (extra.rate !== undefined) e.rate = round(extra.rate);
    if (extra.percent !== undefined) e.percent = extra.percent;
    edges.set(id, e);
  };
  const deadLetters = (from: string, s: Record<string, unknown>, namespace: string) => {
    const dls = destination((s.delivery as { deadLetterSink?: unknown } | undefined)?.deadLetterSink);
    if (dls) edge(from, target(dls, namespace), 'dead-letter');
  };

  for (const r of shown) {
    const { name, namespace } = r.metadata;
    const id = nodeId(r.kind, namespace, name);
    const s = spec(r);
    const sink = destination(s.sink);
    if (sink)
      edge(id, target(sink, namespace), 'sink', {
        ...rate(SELF_SENDING_KINDS.has(r.kind) ? undefined : stats.sources.get(id)),
      });
    if (r.kind === 'Broker') deadLetters(id, s, namespace);
    if (r.kind === 'Trigger' || r.kind === 'Subscription') {
      const route = stats.routes.get(routeId(r.kind, namespace, name));
      const from =
        r.kind === 'Trigger'
          ? typeof s.broker === 'string'
            ? target({ ref: { kind: 'Broker', name: s.broker } }, namespace)
            : undefined
          : destination({ ref: s.channel }) && target({ ref: s.channel as Ref }, namespace);
      if (from) edge(from, id, 'route', { ...rate(route?.read) });
      const subscriber = destination(s.subscriber);
      if (subscriber) edge(id, target(subscriber, namespace), 'subscriber', { ...rate(route?.delivered) });
      const reply = destination(s.reply);
      if (reply) edge(id, target(reply, namespace), 'reply');
      deadLetters(id, s, namespace);
    }
    if (r.kind === 'Revision') {
      const service = r.metadata.labels?.['serving.knative.dev/service'];
      if (service) {
        const from = nodeId('Service', namespace, service);
        const traffic = (
          resources.find(
            (x) => x.kind === 'Service' && x.metadata.namespace === namespace && x.metadata.name === service,
          )?.status?.traffic as { revisionName?: string; percent?: number }[] | undefined
        )?.find((t) => t.revisionName === name);
        edge(from, id, 'traffic', {
          ...rate(stats.revisions.get(`${namespace}/${name}`)?.rps),
          ...(traffic?.percent !== undefined ? { percent: traffic.percent } : {}),
        });
      }
    }
    for (const owner of r.metadata.ownerReferences ?? [])
      if (owner.kind === 'Sequence' || owner.kind === 'Parallel')
        edge(nodeId(owner.kind, namespace, owner.name), id, 'owns');
  }

  const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const topology: Topology = {
    at: at.toISOString(),
    windowSeconds: stats.windowSeconds,
    nodes: [...nodes.values()].sort(byId),
    edges: [...edges.values()].sort(byId),
  };
  if (stats.notes && stats.notes.length > 0) topology.notes = stats.notes;
  return topology;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function rate(n: number | undefined): { rate?: number } {
  return n === undefined ? {} : { rate: n };
}

function setNumber(node: TopologyNode, field: 'rate' | 'lag', value: number | undefined): void {
  if (value !== undefined) node[field] = field === 'rate' ? round(value) : value;
}
