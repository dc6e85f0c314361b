// The serving contract: what the serving data plane (router/activator, autoscaler, runtime) runs, as
// plain resolved data computed by the serving reconciler from Service / Configuration / Route /
// Revision resources. Like the eventing contract, nothing here refers to YAML: annotations are parsed
// into numbers, durations into milliseconds, traffic into revision names with percents.
//
// It also declares the backlog interface the autoscaler reads and the broker data plane implements
// (DESIGN.md section 1: serving and broker never import each other; the CLI wires them).

import type { DataPlaneContract, DispatchRoute } from './data-plane-contract.js';
import { namespacedKey } from './namespaced-name.js';

/** Knative KPA settings of one revision, from `autoscaling.knative.dev/*` and `autoscaling.eddy.dev/*`. */
export interface ScalingSettings {
  /** `autoscaling.knative.dev/metric`; default concurrency. */
  metric: 'concurrency' | 'rps';
  /**
   * `autoscaling.knative.dev/target`: per replica, concurrent requests or requests/s. Default: the
   * revision's containerConcurrency when > 0, else 100 (concurrency) or 200 (rps), Knative's defaults.
   */
  target: number;
  /** `target-utilization-percentage` / 100; default 0.7. */
  targetUtilization: number;
  /** `window`; default 60 000. */
  stableWindowMs: number;
  /** `panic-window-percentage`; default 10 (6 s of a 60 s window). */
  panicWindowPercentage: number;
  /** `panic-threshold-percentage`; default 200. */
  panicThresholdPercentage: number;
  /** Knative config `max-scale-up-rate`; default 1000. */
  maxScaleUpRate: number;
  /** Knative config `max-scale-down-rate`; default 2. */
  maxScaleDownRate: number;
  /** `min-scale`; default 0. */
  minScale: number;
  /** `max-scale`; 0 = unbounded (Knative). The embedded runtime may still cap it (documented there). */
  maxScale: number;
  /** `initial-scale`; default 1. 0 only counts when the platform allows zero initial scale. */
  initialScale: number;
  /** `activation-scale`: replicas when scaling up from zero; default 1. */
  activationScale: number;
  /** `scale-down-delay`; default 0. */
  scaleDownDelayMs: number;
  /** `scale-to-zero-pod-retention-period`; default 0. */
  scaleToZeroRetentionMs: number;
  /** Knative config `scale-to-zero-grace-period`; default 30 000. Platform setting, not an annotation. */
  scaleToZeroGraceMs: number;
  /** `autoscaling.eddy.dev/lag-target`: unprocessed events one replica is expected to own; default see DEFAULT_LAG_TARGET. */
  lagTarget: number;
  /** `autoscaling.eddy.dev/backlog`: "false" turns the backlog signal off for this revision. Default true. */
  backlog: boolean;
}

/** Events of backlog one replica is sized for when `autoscaling.eddy.dev/lag-target` is absent. */
export const DEFAULT_LAG_TARGET = 100;

/** Readiness probe of a replica, resolved (Kubernetes defaults applied). */
export interface ResolvedProbe {
  /** http: GET `path` on the replica's port (2xx/3xx = ready); tcp: connect to the port. */
  kind: 'http' | 'tcp';
  /** For http; default `/`. */
  path?: string;
  /** Extra request headers for http probes. */
  headers?: Record<string, string>;
  /** Port to probe; undefined = the replica's $PORT (the usual case). */
  port?: number;
  initialDelayMs: number;
  /** Knative probes aggressively until first ready; this is the period after that. Default 10 000. */
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
}

/** One immutable revision and how to run, route to and scale it. */
export interface ServingRevision {
  namespace: string;
  /** `<configuration>-00001`, ... or the template's explicit name. */
  name: string;
  /** Owning Configuration (== the Service name for a Service's revisions). */
  configuration: string;
  /** Owning Service, when the Configuration belongs to one. */
  service?: string;
  /** The Configuration generation this revision was stamped from. */
  configurationGeneration: number;
  /** containers[0]: `command` + `args` as given (the runtime needs command[0] to be non-empty). */
  command: string[];
  args: string[];
  /** Literal env values (valueFrom resolved or rejected by the reconciler). PORT/K_* are added by the runtime. */
  env: Record<string, string>;
  workingDir?: string;
  readiness: ResolvedProbe;
  /**
   * Kubernetes mode: the revision's pod spec as written (Knative's own fields taken out), which the
   * Kubernetes runtime puts in the Deployment's pod template; Kubernetes pulls the image and resolves
   * env `valueFrom` itself. Absent in embedded mode.
   */
  podSpec?: Record<string, unknown>;
  /** 0 = unlimited. */
  containerConcurrency: number;
  /** `timeoutSeconds` in ms (default 300 000): a request's total time at the router. */
  timeoutMs: number;
  /** `responseStartTimeoutSeconds` in ms, when set. */
  responseStartTimeoutMs?: number;
  /** `idleTimeoutSeconds` in ms, when set. */
  idleTimeoutMs?: number;
  /** `terminationGracePeriodSeconds` in ms; default 30 000 (Kubernetes). */
  terminationGraceMs: number;
  /**
   * `serving.knative.dev/progress-deadline` (or the platform default) in ms: with no replica ready for
   * this long while some are wanted, the revision fails with ProgressDeadlineExceeded and is no longer
   * scaled up (README "Crash loops"). Absent = 600 000.
   */
  progressDeadlineMs?: number;
  scaling: ScalingSettings;
  /**
   * True when some route sends it traffic (percent > 0) or a tag points at it. A revision that is
   * not routed is scaled to zero whatever its min-scale (as Knative does for unreachable revisions).
   */
  routed: boolean;
  /**
   * Dispatch route ids (DispatchRoute.id) whose subscriber is this revision's Service, with the share
   * of their lag this revision owns (its traffic percent / 100 of the Service's route). Filled by the
   * composer from the eventing contract (see `backlogRoutesFor`); empty when nothing feeds it.
   */
  backlog: BacklogRoute[];
}

/**
 * A dispatch route feeding a revision, and how much of it the revision owns. It names the route's
 * consumer group and topic too, so a serving process with an event-log client reads the lag itself,
 * without the eventing contract.
 */
export interface BacklogRoute extends BacklogConsumer {
  routeId: string;
  /** The revision's traffic percent / 100 on the Service's route. */
  share: number;
  /**
   * Events the route's dispatcher keeps in flight at most (DispatchRoute.maxInFlight of an unordered
   * route); undefined when unbounded by that setting (ordered routes: one per partition).
   */
  maxInFlight?: number;
}

/** One traffic target, resolved to a revision. */
export interface ServingTrafficTarget {
  revisionName: string;
  percent: number;
  tag?: string;
  /** True when it came from `latestRevision: true`. */
  latestRevision: boolean;
}

/** A Route (a Service's, or a standalone one) with its traffic resolved. */
export interface ServingRoute {
  namespace: string;
  name: string;
  /** Targets with percent > 0 split the route's own address; tagged ones also get a tag address. */
  traffic: ServingTrafficTarget[];
}

export interface ServingContract {
  /** Increases with every change; the serving data plane ignores an older one. */
  generation: number;
  revisions: ServingRevision[];
  routes: ServingRoute[];
}

/** Where a dispatch route's backlog is: its consumer group on its topic (DispatchRoute's). */
export interface BacklogConsumer {
  group: string;
  topic: string;
}

/**
 * Unprocessed events of dispatch routes (Trigger/Subscription consumer groups), as the autoscaler
 * reads them. The broker data plane implements it by route id; a reader over an event-log client
 * (the serving process's) by `consumer`. Lag counts events not committed yet, i.e. queued plus in
 * flight, so a revision never scales to zero while any of them remains.
 */
export interface BacklogReader {
  /** Lag of the route's consumer group; rejects for a route the reader cannot read. */
  lag(routeId: string, consumer: BacklogConsumer): Promise<number>;
}

/**
 * Events of a revision's backlog its dispatchers can have in flight at once (sum of maxInFlight x
 * share), or undefined when a route is not bounded that way. The autoscaler sizes backlog replicas no
 * larger than what that many in-flight events keep busy.
 */
export function backlogInFlightLimit(backlog: readonly BacklogRoute[]): number | undefined {
  if (backlog.length === 0) return undefined;
  let limit = 0;
  for (const route of backlog) {
    if (route.maxInFlight === undefined) return undefined;
    limit += route.maxInFlight * route.share;
  }
  return limit;
}

/** Dispatch routes whose subscriber is the Service `<namespace>/<name>` (resolved from a `ref`). */
export function routesFeedingService(
  contract: Pick<DataPlaneContract, 'routes'>,
  namespace: string,
  name: string,
): DispatchRoute[] {
  return contract.routes.filter(
    (r) =>
      r.subscriberRef !== undefined &&
      r.subscriberRef.kind === 'Service' &&
      r.subscriberRef.apiVersion.startsWith('serving.knative.dev/') &&
      r.subscriberRef.namespace === namespace &&
      r.subscriberRef.name === name,
  );
}

/**
 * Fills every revision's `backlog` from the eventing contract: a Service's routes' lag is shared among
 * the revisions of its route by traffic percent (tag-only targets get none).
 */
export function withBacklogRoutes(
  serving: ServingContract,
  eventing: Pick<DataPlaneContract, 'routes'>,
): ServingContract {
  const shares = new Map<string, BacklogRoute[]>();
  for (const route of serving.routes) {
    const feeding = routesFeedingService(eventing, route.namespace, route.name);
    if (feeding.length === 0) continue;
    for (const target of route.traffic) {
      if (target.percent <= 0) continue;
      const key = namespacedKey(route.namespace, target.revisionName);
      const list = shares.get(key) ?? [];
      for (const r of feeding) {
        const entry = { routeId: r.id, group: r.group, topic: r.topic, share: target.percent / 100 };
        list.push(r.ordering === 'unordered' ? { ...entry, maxInFlight: r.maxInFlight } : entry);
      }
      shares.set(key, list);
    }
  }
  return {
    ...serving,
    revisions: serving.revisions.map((rev) => ({
      ...rev,
      backlog: shares.get(namespacedKey(rev.namespace, rev.name)) ?? [],
    })),
  };
}

/**
 * Checks the shape of a serving contract a process received (a file, a feed): what the serving data
 * plane indexes by. Throws a TypeError naming the first bad field by its path, e.g.
 * `serving contract: revisions[0].backlog[1].group must be a non-empty string`.
 */
export function checkServingContract(value: unknown): asserts value is ServingContract {
  const fail = (path: string, expected: string, got: unknown): never => {
    throw new TypeError(
      `serving contract: ${path} must be ${expected}, got ${JSON.stringify(got) ?? 'nothing'}`,
    );
  };
  const object = (v: unknown, path: string): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : fail(path, 'an object', v);
  const array = (v: unknown, path: string): unknown[] => (Array.isArray(v) ? v : fail(path, 'an array', v));
  const name = (o: Record<string, unknown>, field: string, path: string) => {
    if (typeof o[field] !== 'string' || o[field] === '')
      fail(`${path}.${field}`, 'a non-empty string', o[field]);
  };
  const number = (o: Record<string, unknown>, field: string, path: string) => {
    if (typeof o[field] !== 'number' || !Number.isFinite(o[field]))
      fail(`${path}.${field}`, 'a number', o[field]);
  };
  const c = object(value, 'the contract');
  if (typeof c.generation !== 'number' || !Number.isFinite(c.generation))
    fail('generation', 'a number', c.generation);
  array(c.revisions, 'revisions').forEach((item, i) => {
    const path = `revisions[${i}]`;
    const r = object(item, path);
    for (const field of ['namespace', 'name', 'configuration']) name(r, field, path);
    array(r.command, `${path}.command`);
    array(r.args, `${path}.args`);
    object(r.env, `${path}.env`);
    object(r.readiness, `${path}.readiness`);
    object(r.scaling, `${path}.scaling`);
    for (const field of ['containerConcurrency', 'timeoutMs', 'terminationGraceMs']) number(r, field, path);
    array(r.backlog, `${path}.backlog`).forEach((b, j) => {
      const at = `${path}.backlog[${j}]`;
      const entry = object(b, at);
      for (const field of ['routeId', 'group', 'topic']) name(entry, field, at);
      number(entry, 'share', at);
    });
  });
  array(c.routes, 'routes').forEach((item, i) => {
    const path = `routes[${i}]`;
    const r = object(item, path);
    for (const field of ['namespace', 'name']) name(r, field, path);
    array(r.traffic, `${path}.traffic`).forEach((t, j) => {
      const at = `${path}.traffic[${j}]`;
      name(object(t, at), 'revisionName', at);
      number(object(t, at), 'percent', at);
    });
  });
}
