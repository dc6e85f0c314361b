// The serving primary's router when other routers share its revisions (main.ts `--role primary`,
// the default): a Router decorator the serving data plane drives as if it were alone. It
//   - publishes what the extra routers need (EndpointsDocument: each revision's ready replicas and
//     failure, the live routers) as a ContractFeed, a new generation on every change;
//   - takes the routers' stats pushes, and gives the plane's tick its own router's window plus every
//     fresh push (StatAggregator): the one KPA decider per revision sees the traffic of all routers;
//   - passes a router's demand (a request waiting at zero) to the plane at once, as its own router's;
//   - splits each replica's containerConcurrency among the live routers, its own router included
//     (not those that take no share: a dispatcher's own router, RouterStatsPush.share false).
// With no extra router nothing changes: the sum is its own window, the share is the whole.

import { namespacedKey } from '@eddy/api';
import { ContractFeed, FeedRequestError, registerFeedRoutes } from '@eddy/runtime';
import type { FastifyInstance } from 'fastify';
import type pino from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { shareOf } from '../router/capacity-split.js';
import type { RevisionStats, Router, RouterRevision, RouterRoute } from '../router/router.js';
import type { Replica } from '../runtime/runtime.js';
import {
  checkStatsPush,
  ENDPOINTS_PATH,
  type EndpointsDocument,
  type RevisionEndpoints,
  STATS_PATH,
} from './scale-out.js';
import { StatAggregator } from './stat-aggregator.js';

/** A router silent for longer than this is counted out (Knative's activators push every second). */
export const DEFAULT_ROUTER_TIMEOUT_MS = 3_000;

export interface PrimaryRouterOptions {
  /** This process's router id among the routers (its member id). */
  id: string;
  /** A router whose last push is older is dropped from the sum and the capacity split. */
  routerTimeoutMs?: number;
  logger: pino.Logger;
  registry: Registry;
}

/** A push under a router id another process took over (two routers with one --member-id): HTTP 409. */
export class RouterIdConflict extends Error {
  override readonly name = 'RouterIdConflict';
}

/** Earlier instances remembered per router id (restarts), to tell a duplicate id from a restart. */
const REPLACED_INSTANCES = 16;

export class PrimaryRouter implements Router {
  /** What the extra routers long-poll. */
  readonly endpoints = new ContractFeed<EndpointsDocument>();
  readonly #inner: Router;
  readonly #id: string;
  readonly #logger: pino.Logger;
  readonly #stats: StatAggregator;
  readonly #demandListeners: ((namespace: string, revision: string) => void)[] = [];
  readonly #revisions = new Map<string, RouterRevision>();
  readonly #replicas = new Map<string, { id: string; url: string }[]>();
  readonly #failures = new Map<string, string>();
  readonly #instances = new Map<string, { current: string; replaced: string[] }>();
  /** Routers told that they push less often than the timeout (once each). */
  readonly #slowWarned = new Set<string>();
  readonly #routersGauge: Gauge;
  readonly #timer: NodeJS.Timeout;
  #published = '';
  #publishQueued = false;
  #routers: string[];
  /** Routers whose last push said they take no share of containerConcurrency (RouterStatsPush.share). */
  readonly #unshared = new Set<string>();

  constructor(inner: Router, options: PrimaryRouterOptions) {
    this.#inner = inner;
    this.#id = options.id;
    this.#logger = options.logger;
    const timeoutMs = options.routerTimeoutMs ?? DEFAULT_ROUTER_TIMEOUT_MS;
    this.#stats = new StatAggregator(timeoutMs);
    this.#routers = [this.#id];
    this.#routersGauge =
      (options.registry.getSingleMetric('eddy_serving_routers') as Gauge | undefined) ??
      new Gauge({
        name: 'eddy_serving_routers',
        help: 'Routers whose traffic the autoscaler sums (this one and the extra routers pushing stats).',
        registers: [options.registry],
      });
    this.#routersGauge.set(1);
    // Counting out a silent router must not wait for the next push or tick.
    this.#timer = setInterval(() => this.#expire(Date.now()), Math.max(50, Math.min(500, timeoutMs / 4)));
    this.#timer.unref();
    this.#publish();
  }

  get url(): string {
    return this.#inner.url;
  }

  /** The live routers that share containerConcurrency now, sorted (this one included). */
  routers(): string[] {
    return [...this.#routers];
  }

  routeUrl(namespace: string, name: string): string {
    return this.#inner.routeUrl(namespace, name);
  }

  tagUrl(namespace: string, name: string, tag: string): string {
    return this.#inner.tagUrl(namespace, name, tag);
  }

  revisionUrl(namespace: string, revision: string): string {
    return this.#inner.revisionUrl(namespace, revision);
  }

  update(revisions: RouterRevision[], routes: RouterRoute[]): void {
    this.#inner.update(revisions, routes);
    const wanted = new Set(revisions.map((r) => namespacedKey(r.namespace, r.name)));
    this.#revisions.clear();
    for (const r of revisions) this.#revisions.set(namespacedKey(r.namespace, r.name), r);
    for (const map of [this.#replicas, this.#failures])
      for (const key of map.keys()) if (!wanted.has(key)) map.delete(key);
    this.#schedulePublish();
  }

  setReplicas(namespace: string, revision: string, replicas: readonly Replica[]): void {
    this.#inner.setReplicas(namespace, revision, replicas);
    this.#replicas.set(
      namespacedKey(namespace, revision),
      replicas.filter((r) => r.ready).map((r) => ({ id: r.id, url: r.url })),
    );
    this.#schedulePublish();
  }

  setFailure(namespace: string, revision: string, reason: string | undefined): void {
    this.#inner.setFailure?.(namespace, revision, reason);
    const key = namespacedKey(namespace, revision);
    if (reason === undefined) this.#failures.delete(key);
    else this.#failures.set(key, reason);
    this.#schedulePublish();
  }

  onDemand(listener: (namespace: string, revision: string) => void): void {
    this.#inner.onDemand(listener);
    this.#demandListeners.push(listener);
  }

  /** Its own router's window plus the fresh pushes of the others, summed per revision. */
  takeStats(now: number = Date.now()): RevisionStats[] {
    this.#expire(now);
    return this.#stats.sum(this.#inner.takeStats(now), now);
  }

  /** A router's push (the POST body): throws FeedRequestError naming a bad field. */
  acceptStats(body: unknown, now: number = Date.now()): void {
    const push = checkStatsPush(body);
    if (push.router === this.#id)
      throw new FeedRequestError(`stats push: router "${push.router}" is the primary's own id`);
    if (!this.#sameInstance(push.router, push.instance)) {
      if (push.leaving) return;
      throw new RouterIdConflict(
        `another router process pushes stats as "${push.router}": give each router its own --member-id`,
      );
    }
    if (push.leaving) {
      if (this.#stats.forget(push.router, now)) {
        this.#logger.info({ router: push.router }, `router ${push.router} left; its stats no longer count`);
        this.#liveChanged(now);
      }
      return;
    }
    if (
      push.windowMs !== undefined &&
      push.windowMs > this.#stats.staleMs &&
      !this.#slowWarned.has(push.router)
    ) {
      this.#slowWarned.add(push.router);
      this.#logger.warn(
        { router: push.router, windowMs: push.windowMs, routerTimeoutMs: this.#stats.staleMs },
        `router ${push.router} pushed after ${push.windowMs} ms, longer than --router-timeout-ms ${this.#stats.staleMs}: it drops out between pushes (lower its --push-interval-ms or raise the timeout)`,
      );
    }
    const shares = push.share !== false;
    const shareChanged = shares === this.#unshared.has(push.router);
    if (shares) this.#unshared.delete(push.router);
    else this.#unshared.add(push.router);
    if (this.#stats.push(push.router, push.stats, now, push.windowMs)) {
      this.#logger.info(
        { router: push.router, share: shares },
        `router ${push.router} joined; its stats count${shares ? '' : ' (it takes no share of containerConcurrency)'}`,
      );
      this.#liveChanged(now);
    } else if (shareChanged) this.#liveChanged(now);
    for (const { namespace, revision } of push.demand ?? [])
      for (const listener of this.#demandListeners) {
        try {
          listener(namespace, revision);
        } catch (error) {
          this.#logger.error({ err: error, namespace, revision }, 'demand listener threw');
        }
      }
  }

  /**
   * False for a push of an instance that was replaced under this id (the id is taken by another
   * process); a new instance replaces the current one (a restarted router).
   */
  #sameInstance(router: string, instance: string | undefined): boolean {
    if (instance === undefined) return true;
    const known = this.#instances.get(router);
    if (!known) {
      this.#instances.set(router, { current: instance, replaced: [] });
      return true;
    }
    if (known.current === instance) return true;
    if (known.replaced.includes(instance)) {
      this.#logger.warn(
        { router, instances: [known.current, instance] },
        `two router processes push stats as "${router}"; the older one is refused: give each its own --member-id`,
      );
      return false;
    }
    known.replaced.push(known.current);
    if (known.replaced.length > REPLACED_INSTANCES) known.replaced.shift();
    known.current = instance;
    return true;
  }

  /**
   * The routes the extra routers use, on `app` (the primary's probe server): the endpoints feed and
   * the stats pushes; with `token`, both want `authorization: Bearer <token>`.
   */
  registerRoutes(app: FastifyInstance, token?: string): void {
    void app.register(async (scope) => {
      if (token !== undefined) {
        const expected = `Bearer ${token}`;
        scope.addHook('onRequest', async (request, reply) => {
          if (request.headers.authorization !== expected)
            return reply.code(401).send({ error: 'the serving primary needs its bearer token' });
        });
      }
      registerFeedRoutes(
        scope,
        ENDPOINTS_PATH,
        this.endpoints as unknown as ContractFeed<{ generation: number }>,
      );
      scope.post(STATS_PATH, async (request, reply) => {
        try {
          this.acceptStats(request.body);
        } catch (error) {
          if (error instanceof FeedRequestError) return reply.code(400).send({ error: error.message });
          if (error instanceof RouterIdConflict) return reply.code(409).send({ error: error.message });
          throw error;
        }
        return reply.code(204).send();
      });
    });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.endpoints.close();
    await this.#inner.close();
  }

  #expire(now: number): void {
    const dropped = this.#stats.expire(now);
    for (const { router, silentMs } of dropped)
      this.#logger.warn(
        { router, silentMs },
        `router ${router} pushed no stats for ${silentMs} ms; its stats no longer count`,
      );
    if (dropped.length > 0) this.#liveChanged(now);
  }

  #liveChanged(now: number): void {
    const live = this.#stats.live(now);
    // Every live router's traffic counts; containerConcurrency is split among those that take a share.
    this.#routers = [...new Set([this.#id, ...live.filter((r) => !this.#unshared.has(r))])].sort();
    this.#routersGauge.set(new Set([this.#id, ...live]).size);
    this.#inner.setCapacityShare?.(shareOf(this.#id, this.#routers));
    this.#schedulePublish();
  }

  /** Several changes of one apply or tick make one generation. */
  #schedulePublish(): void {
    if (this.#publishQueued) return;
    this.#publishQueued = true;
    queueMicrotask(() => {
      this.#publishQueued = false;
      this.#publish();
    });
  }

  #publish(): void {
    const revisions: RevisionEndpoints[] = [...this.#revisions].map(([key, r]) => {
      const failure = this.#failures.get(key);
      return {
        namespace: r.namespace,
        name: r.name,
        containerConcurrency: r.containerConcurrency,
        replicas: this.#replicas.get(key) ?? [],
        ...(failure !== undefined ? { failure } : {}),
      };
    });
    const content = JSON.stringify({ routers: this.#routers, revisions });
    if (content === this.#published) return;
    this.#published = content;
    // From the clock, so a restarted primary's generations are newer than what routers last saw.
    const generation = Math.max((this.endpoints.current?.generation ?? 0) + 1, Date.now());
    this.endpoints.publish({ generation, routers: [...this.#routers], revisions });
  }
}
