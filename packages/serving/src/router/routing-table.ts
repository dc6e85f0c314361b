// The router's address book: one namespace of labels per Kubernetes namespace, shared by route names,
// `<tag>-<route>` tag names and revision names. When two of them claim the same label the route wins,
// then the tag, then the revision (a warning names the loser), so a Service's address is never
// hijacked by a revision or tag that happens to be spelled like it.

import { namespacedKey } from '@eddy/api';
import type { RouterRevision, RouterRoute } from './router.js';

export interface SplitTarget {
  revision: string;
  percent: number;
}

export type Destination =
  | { kind: 'route'; namespace: string; route: string; targets: SplitTarget[] }
  | { kind: 'tag'; namespace: string; route: string; tag: string; revision: string }
  | { kind: 'revision'; namespace: string; revision: string };

export interface RoutingTable {
  /** namespace -> label -> destination */
  labels: Map<string, Map<string, Destination>>;
  /** Human-readable clash descriptions, for the caller to log. */
  clashes: string[];
}

const PRIORITY: Record<Destination['kind'], number> = { revision: 0, tag: 1, route: 2 };

function describe(destination: Destination): string {
  switch (destination.kind) {
    case 'route':
      return `route ${destination.namespace}/${destination.route}`;
    case 'tag':
      return `tag "${destination.tag}" of route ${destination.namespace}/${destination.route}`;
    case 'revision':
      return `revision ${destination.namespace}/${destination.revision}`;
  }
}

export function buildRoutingTable(revisions: RouterRevision[], routes: RouterRoute[]): RoutingTable {
  const labels = new Map<string, Map<string, Destination>>();
  const clashes: string[] = [];
  const claim = (namespace: string, label: string, destination: Destination): void => {
    let inNamespace = labels.get(namespace);
    if (!inNamespace) {
      inNamespace = new Map();
      labels.set(namespace, inNamespace);
    }
    const existing = inNamespace.get(label);
    if (!existing) {
      inNamespace.set(label, destination);
      return;
    }
    const keepExisting = PRIORITY[existing.kind] >= PRIORITY[destination.kind];
    const [winner, loser] = keepExisting ? [existing, destination] : [destination, existing];
    clashes.push(
      `address "${label}" in namespace "${namespace}" is claimed by ${describe(winner)} and ${describe(loser)}; ${describe(winner)} wins`,
    );
    if (!keepExisting) inNamespace.set(label, destination);
  };

  for (const revision of revisions) {
    claim(revision.namespace, revision.name, {
      kind: 'revision',
      namespace: revision.namespace,
      revision: revision.name,
    });
  }
  for (const route of routes) {
    for (const target of route.traffic) {
      if (!target.tag) continue;
      claim(route.namespace, `${target.tag}-${route.name}`, {
        kind: 'tag',
        namespace: route.namespace,
        route: route.name,
        tag: target.tag,
        revision: target.revisionName,
      });
    }
  }
  for (const route of routes) {
    claim(route.namespace, route.name, {
      kind: 'route',
      namespace: route.namespace,
      route: route.name,
      targets: route.traffic
        .filter((target) => target.percent > 0)
        .map((target) => ({ revision: target.revisionName, percent: target.percent })),
    });
  }
  return { labels, clashes };
}

export interface ResolvedAddress {
  destination: Destination;
  /** The path prefix that named the destination (`/<namespace>/<label>`), '' for Host-based addresses. */
  prefix: string;
  /** What the workload sees: the rest of the path (at least `/`) and the query. */
  forwardPath: string;
}

/** `hello.default.example.com:8080` -> ['hello', 'default']; undefined for IPs, single labels and IPv6 literals. */
function hostLabels(host: string | undefined): [string, string] | undefined {
  if (!host || host.startsWith('[')) return undefined;
  const hostname = host.replace(/:\d*$/, '').toLowerCase();
  const parts = hostname.split('.');
  if (parts.length < 2 || /^\d+$/.test(parts[parts.length - 1] ?? '')) return undefined;
  return [parts[0]!, parts[1]!];
}

/**
 * Resolves a request to a destination: by Host first (`<label>.<namespace>[...]`, only when that
 * label exists), then by path (`/<namespace>/<label>/...`). Undefined when neither names one.
 */
export function resolveAddress(
  table: RoutingTable,
  host: string | undefined,
  rawUrl: string,
): ResolvedAddress | undefined {
  const byHost = hostLabels(host);
  if (byHost) {
    const [label, namespace] = byHost;
    const destination = table.labels.get(namespace)?.get(label);
    if (destination) return { destination, prefix: '', forwardPath: rawUrl.startsWith('/') ? rawUrl : '/' };
  }
  const queryAt = rawUrl.indexOf('?');
  const path = queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt);
  const query = queryAt === -1 ? '' : rawUrl.slice(queryAt);
  const match = /^\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
  if (!match) return undefined;
  const namespace = match[1]!;
  const label = match[2]!;
  const destination = table.labels.get(namespace)?.get(label);
  if (!destination) return undefined;
  return { destination, prefix: `/${namespace}/${label}`, forwardPath: `${match[3] ?? '/'}${query}` };
}

/** The one-line reason of a 404. */
export function describeUnknownAddress(host: string | undefined, rawUrl: string): string {
  const path = rawUrl.split('?')[0] ?? rawUrl;
  const match = /^\/([^/]+)\/([^/]+)/.exec(path);
  const byHost = hostLabels(host);
  const hostPart = byHost ? ` and Host "${host}" names no "${byHost[0]}" in namespace "${byHost[1]}"` : '';
  if (match) {
    return `no route, tag or revision "${match[2]}" in namespace "${match[1]}"${hostPart}`;
  }
  return `path "${path}" is not /<namespace>/<route|tag-route|revision>/...${hostPart}`;
}

/** Throws (naming the revision or route and the field) for a table the router cannot serve. */
export function checkRoutingInput(revisions: RouterRevision[], routes: RouterRoute[]): void {
  const seen = new Set<string>();
  for (const revision of revisions) {
    const where = `router.update: revision ${revision.namespace}/${revision.name}`;
    if (!revision.namespace || !revision.name)
      throw new TypeError(`${where}: namespace and name are required`);
    const key = namespacedKey(revision.namespace, revision.name);
    if (seen.has(key)) throw new TypeError(`${where} is listed twice`);
    seen.add(key);
    if (!Number.isSafeInteger(revision.containerConcurrency) || revision.containerConcurrency < 0) {
      throw new RangeError(
        `${where}: containerConcurrency must be an integer >= 0 (0 = unlimited), got ${revision.containerConcurrency}`,
      );
    }
    for (const field of ['timeoutMs', 'responseStartTimeoutMs', 'idleTimeoutMs'] as const) {
      const value = revision[field];
      if (value === undefined && field !== 'timeoutMs') continue;
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new RangeError(`${where}: ${field} must be a positive number of milliseconds, got ${value}`);
      }
    }
  }
  for (const route of routes) {
    const where = `router.update: route ${route.namespace}/${route.name}`;
    if (!route.namespace || !route.name) throw new TypeError(`${where}: namespace and name are required`);
    route.traffic.forEach((target, index) => {
      if (typeof target.percent !== 'number' || !Number.isFinite(target.percent) || target.percent < 0) {
        throw new RangeError(
          `${where}: traffic[${index}].percent must be a number >= 0, got ${target.percent}`,
        );
      }
      if (!target.revisionName) throw new TypeError(`${where}: traffic[${index}].revisionName is required`);
    });
  }
}
