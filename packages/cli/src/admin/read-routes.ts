// The admin API's read side (GET /v1/resources, /v1/resources/<kind>/<ns>/<name>, /v1/describe/...),
// served by `eddy dev` over its files and by `eddy controller` over the Kubernetes API server, so
// `eddy get` / `eddy describe` (and whatever else reads the admin API) work against either: the
// protocol is protocol.ts, whichever store answers it.

import type { FastifyInstance } from 'fastify';
import type { StoreEntry } from '../dev/resource-store.js';
import type { DescribeChild, DescribeEvent, DescribeResponse } from './protocol.js';
import { registerTopologyRoutes } from './topology-routes.js';
import type { TopologySampler } from './topology-sampler.js';

export interface ReadableStore {
  list(filter?: { kind?: string }): StoreEntry[];
}

/** A serving data plane as far as describe needs it. */
export interface DecisionSource {
  decisions(
    namespace: string,
    revision: string,
  ): { at: string; desired: number; reason: string; detail: string }[];
}

export interface ReadRoutesOptions {
  store: ReadableStore;
  /** Recent things that happened to a resource, oldest first. */
  events(entry: StoreEntry): DescribeEvent[] | Promise<DescribeEvent[]>;
  /** Autoscaler decisions for Revisions, Configurations and Services; none without serving. */
  serving?: DecisionSource | undefined;
  /** More for describe (a Broker's oldest event, ...). */
  describeExtra?(entry: StoreEntry): Promise<Partial<DescribeResponse>>;
  /** GET /v1/topology and its stream (topology-routes.ts), where the server can sample one. */
  topology?: TopologySampler;
}

/** A 404 the routes' owner's error handler turns into `{error}` (fastify uses statusCode). */
class NotFound extends Error {
  readonly statusCode = 404;
}

/** The entry of `kind` `namespace/name`, or a 404 naming it. */
export function findEntry(store: ReadableStore, kind: string, namespace: string, name: string): StoreEntry {
  const entry = store
    .list({ kind })
    .find((e) => e.resource.metadata.name === name && e.resource.metadata.namespace === namespace);
  if (!entry) throw new NotFound(`${kind} ${namespace}/${name} not found`);
  return entry;
}

export function registerReadRoutes(app: FastifyInstance, o: ReadRoutesOptions): void {
  const { store } = o;
  if (o.topology) registerTopologyRoutes(app, o.topology);
  app.get<{ Querystring: { kind?: string; namespace?: string } }>('/v1/resources', async (request) => {
    const { kind, namespace } = request.query;
    return {
      items: store
        .list(kind ? { kind } : {})
        .filter((e) => !namespace || e.resource.metadata.namespace === namespace)
        .map((e) => e.resource),
    };
  });

  app.get<{ Params: { kind: string; ns: string; name: string } }>(
    '/v1/resources/:kind/:ns/:name',
    async (request) => {
      const { kind, ns, name } = request.params;
      return findEntry(store, kind, ns, name).resource;
    },
  );

  app.get<{ Params: { kind: string; ns: string; name: string } }>(
    '/v1/describe/:kind/:ns/:name',
    async (request) => {
      const { kind, ns, name } = request.params;
      const entry = findEntry(store, kind, ns, name);
      const response: DescribeResponse = { resource: entry.resource, events: await o.events(entry) };
      const children = ownedBy(store, entry);
      if (children.length > 0) response.children = children;
      const decisions = o.serving ? servingDecisions(o.serving, store, entry) : undefined;
      if (decisions) response.decisions = decisions;
      if (o.describeExtra) Object.assign(response, await o.describeExtra(entry));
      return response;
    },
  );
}

/** A Revision's decisions, or those of every revision of a Service/Configuration; newest 50, oldest first. */
export function servingDecisions(
  serving: DecisionSource,
  store: ReadableStore,
  entry: StoreEntry,
): DescribeResponse['decisions'] {
  const { kind, metadata } = entry.resource;
  let revisions: string[];
  if (kind === 'Revision') revisions = [metadata.name];
  else if (kind === 'Service' || kind === 'Configuration')
    revisions = store
      .list({ kind: 'Revision' })
      .filter(
        (r) =>
          r.resource.metadata.namespace === metadata.namespace &&
          r.resource.metadata.labels?.[`serving.knative.dev/${kind.toLowerCase()}`] === metadata.name,
      )
      .map((r) => r.resource.metadata.name);
  else return undefined;
  const all = revisions.flatMap((revision) =>
    serving.decisions(metadata.namespace, revision).map((d) => ({
      at: d.at,
      revision,
      desired: d.desired,
      reason: d.reason,
      detail: d.detail,
    })),
  );
  return all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).slice(-50);
}

/**
 * The resources `owner` owns, by the store's origin (eddy dev) or an ownerReference in the same
 * namespace (Kubernetes), sorted by kind then name.
 */
function ownedBy(store: ReadableStore, owner: StoreEntry): DescribeChild[] {
  const { kind, metadata } = owner.resource;
  const children: DescribeChild[] = [];
  for (const e of store.list()) {
    const m = e.resource.metadata;
    const byOrigin = e.origin.type === 'owner' && e.origin.owner === owner.key;
    const byReference =
      m.namespace === metadata.namespace &&
      (m.ownerReferences ?? []).some((r) => r.kind === kind && r.name === metadata.name);
    if (!byOrigin && !byReference) continue;
    const ready = e.resource.status?.conditions?.find((c) => c.type === 'Ready');
    children.push({
      kind: e.resource.kind,
      name: m.name,
      ready: ready?.status ?? 'Unknown',
      ...(ready?.reason ? { reason: ready.reason } : {}),
      ...(ready?.message ? { message: ready.message } : {}),
    });
  }
  return children.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}
