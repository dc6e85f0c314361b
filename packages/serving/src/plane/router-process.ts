// `eddy serving --role router`: an extra router/activator beside the serving primary (Knative's
// activators beside its autoscaler). It runs no replicas and no autoscaler: it takes routes and
// revisions from the same serving contract (file or feed) as the primary, each revision's ready
// replicas and the live routers from the primary's endpoints feed (long-polled, scale-out.ts), and
// pushes its per-revision window to the primary every --push-interval-ms, at once when a request
// waits for a revision with no ready replica (the primary scales it up without waiting for its
// tick). It sends each replica at most its share of containerConcurrency (router/capacity-split.ts).
// Ready (/readyz) once it runs a contract and the primary counts it among the live routers.
// The replicas are the primary's children: when a push fails the primary is taken for gone with them,
// so the router forgets their endpoints and holds requests (the activator at zero) instead of
// sending them to dead ports; once a push goes through again it polls the endpoints afresh (a
// restarted primary, or the same one after a blip) and the held requests go out. A broken endpoints
// poll makes it push at once, so it learns within milliseconds.

import { randomUUID } from 'node:crypto';
import { checkServingContract, namespacedKey, type ServingContract } from '@eddy/api';
import {
  describeError,
  type ProbeServer,
  processRegistry,
  requireFileContract,
  servingCertificateFromFlags,
  startProbeServer,
  watchContract,
} from '@eddy/runtime';
import type pino from 'pino';
import { request } from 'undici';
import { shareOf } from '../router/capacity-split.js';
import { createRouter } from '../router/create-router.js';
import type { Router } from '../router/router.js';
import { routerRevision, routerRoute } from './create-serving-plane.js';
import { checkEndpointsDocument, ENDPOINTS_PATH, type RouterStatsPush, STATS_PATH } from './scale-out.js';

export interface ServingRouterOptions {
  contract: string;
  /** The primary's probe URL (`http://host:port`): its endpoints feed and stats. */
  primary: string;
  id: string;
  host: string;
  port: number;
  probePort: number;
  reusePort: boolean;
  pushIntervalMs: number;
  watchIntervalMs: number;
  /** Bearer token of the contract feed and the primary. */
  token?: string;
  /** Serve HTTPS with these files (`--tls-cert`, `--tls-key`). */
  tls?: { cert: string; key: string };
  /**
   * false: take no share of any replica's containerConcurrency (a dispatcher's own router, not on the
   * shared port): it sends only to unlimited revisions and declines the others' in-process requests,
   * and it is ready without the primary counting it among the sharing routers. Default true.
   */
  share?: boolean;
}

export interface RunningServingRouter {
  router: Router;
  probes: ProbeServer;
  reload(): Promise<void>;
  /** Tells the primary it leaves, stops following, drains the router. */
  stop(): Promise<void>;
}

export async function runServingRouter(
  options: ServingRouterOptions,
  logger: pino.Logger,
): Promise<RunningServingRouter> {
  const registry = processRegistry();
  const router = await createRouter({
    host: options.host,
    port: options.port,
    reusePort: options.reusePort,
    logger,
    registry,
    ...(options.tls ? { tls: servingCertificateFromFlags(options.tls, logger) } : {}),
  });
  const shares = options.share !== false;
  let applied: number | undefined;
  let applyError: string | undefined;
  let endpoints: { generation: number; counted: boolean; routers: number } | undefined;
  let pusher: StatsPusher | undefined;
  /** The revisions of the last endpoints applied. */
  let known = new Set<string>();
  /** The last push failed: the primary (and its replicas) taken for gone. */
  let primaryDown = false;
  let probes: ProbeServer;
  try {
    probes = await startProbeServer({
      host: options.host,
      port: options.probePort,
      component: 'serving router probes',
      logger,
      probes: {
        registry,
        // Serving goes on while the primary is away (with the replicas last heard of): healthy, with why.
        health: async () => ({
          ok: true,
          primary: pusher?.lastError === undefined ? 'reachable' : `unreachable: ${pusher.lastError}`,
        }),
        ready: () => ({
          ok: applied !== undefined && (endpoints?.counted === true || !shares) && !primaryDown,
          generation: applied ?? null,
          endpoints: endpoints?.generation ?? null,
          routers: endpoints?.routers ?? null,
          ...(applyError !== undefined ? { error: applyError } : {}),
          ...(endpoints && !endpoints.counted && shares
            ? { waiting: 'the primary does not count this router yet' }
            : {}),
        }),
      },
    });
  } catch (error) {
    await router.close();
    throw error;
  }
  const primary = options.primary.replace(/\/+$/, '');
  logger.info(
    { url: router.url, probes: probes.url, primary, contract: options.contract, role: 'router' },
    `serving router ${options.id} listening on ${router.url} (services at /<namespace>/<name>; primary ${primary}; /healthz, /readyz, /metrics on ${probes.url})`,
  );
  const member = { id: options.id, component: 'router' };
  const token = options.token ? { token: options.token } : {};
  const watch = watchContract<ServingContract>({
    source: options.contract,
    member,
    ...token,
    parse: (value) => {
      checkServingContract(value);
      return value;
    },
    apply: async (contract) => {
      try {
        router.update(contract.revisions.map(routerRevision), contract.routes.map(routerRoute));
        applyError = undefined;
      } catch (error) {
        applyError = (error as Error).message;
        throw error;
      } finally {
        applied = Math.max(applied ?? contract.generation, contract.generation);
      }
      logger.info(
        { generation: contract.generation },
        `applied serving contract generation ${contract.generation}`,
      );
    },
    logger,
    fileIntervalMs: options.watchIntervalMs,
  });
  const followEndpoints = () =>
    watchContract({
      source: `${primary}${ENDPOINTS_PATH}`,
      member,
      ...token,
      // Endpoints change within a second of a replica coming or going; answer the poll sooner than a contract's.
      pollWaitMs: 10_000,
      parse: checkEndpointsDocument,
      // A broken long poll is the first sign the primary is gone: a push now tells (stats.down).
      onPollError: () => stats.pushNow(),
      apply: async (doc) => {
        // The share first: a smaller one must hold before replicas are handed out with it.
        router.setCapacityShare?.(shareOf(options.id, doc.routers));
        const seen = new Set<string>();
        for (const r of doc.revisions) {
          const key = namespacedKey(r.namespace, r.name);
          seen.add(key);
          router.setReplicas(
            r.namespace,
            r.name,
            r.replicas.map((replica) => ({ ...replica, ready: true })),
          );
          router.setFailure?.(r.namespace, r.name, r.failure);
        }
        for (const key of known)
          if (!seen.has(key)) {
            const [namespace = '', name = ''] = key.split('/');
            router.setReplicas(namespace, name, []);
            router.setFailure?.(namespace, name, undefined);
          }
        known = seen;
        const counted = doc.routers.includes(options.id);
        if (shares && (counted !== endpoints?.counted || doc.routers.length !== endpoints?.routers))
          logger.info(
            { routers: doc.routers, counted },
            counted
              ? `${doc.routers.length} live routers share every replica's containerConcurrency`
              : 'the primary does not count this router yet: no replica capacity until it does',
          );
        endpoints = { generation: doc.generation, counted, routers: doc.routers.length };
      },
      logger,
    });
  const stats: StatsPusher = new StatsPusher(`${primary}${STATS_PATH}`, options, router, logger, {
    down: () => {
      primaryDown = true;
      if (known.size === 0) return;
      logger.warn(
        { primary },
        'the serving primary is unreachable (its replicas with it): holding requests until it publishes replicas again',
      );
      for (const key of known) {
        const [namespace = '', name = ''] = key.split('/');
        router.setReplicas(namespace, name, []);
      }
    },
    up: () => {
      if (!primaryDown) return;
      primaryDown = false;
      // A fresh watch asks from generation -1: the current endpoints at once, whatever they are now.
      const stale = endpointsWatch;
      endpointsWatch = followEndpoints();
      void stale.stop();
    },
  });
  pusher = stats;
  let endpointsWatch = followEndpoints();
  router.onDemand((namespace, revision) => stats.demand(namespace, revision));
  stats.start();

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await stats.stop();
      await Promise.all([watch.stop(), endpointsWatch.stop()]);
      await router.close();
      await probes.close();
    })();
    return stopping;
  };
  await requireFileContract(watch, options.contract, stop);
  return { router, probes, reload: () => watch.reload(), stop };
}

/** Pushes the router's window to the primary every interval, and at once on demand. */
class StatsPusher {
  readonly #url: string;
  readonly #o: ServingRouterOptions;
  readonly #router: Router;
  readonly #logger: pino.Logger;
  readonly #demand = new Map<string, { namespace: string; revision: string }>();
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #again = false;
  #failures = 0;
  #lastPushAt = Date.now();
  /** This process among routers of the same id (scale-out.ts RouterStatsPush.instance). */
  readonly #instance = randomUUID();
  /** Why the last push failed; undefined while pushes go through. */
  lastError: string | undefined;
  #stopped = false;

  readonly #events: { down(): void; up(): void };

  /** `events.down`: a push failed after one went through (or the first did); `up`: one went through again. */
  constructor(
    url: string,
    options: ServingRouterOptions,
    router: Router,
    logger: pino.Logger,
    events: { down(): void; up(): void },
  ) {
    this.#events = events;
    this.#url = url;
    this.#o = options;
    this.#router = router;
    this.#logger = logger;
  }

  start(): void {
    this.#timer = setInterval(() => this.#push(), this.#o.pushIntervalMs);
    this.#timer.unref();
    this.#push();
  }

  /** Pushes now (the endpoints poll broke: is the primary gone?). */
  pushNow(): void {
    this.#push();
  }

  /** A request waits for a revision with no ready replica: tell the primary now. */
  demand(namespace: string, revision: string): void {
    this.#demand.set(namespacedKey(namespace, revision), { namespace, revision });
    this.#push();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#sending;
    // Best effort: counted out now rather than after the primary's timeout.
    await this.#send(
      {
        router: this.#o.id,
        instance: this.#instance,
        stats: [],
        leaving: true,
        ...(this.#o.share === false ? { share: false } : {}),
      },
      1_000,
    ).catch(() => undefined);
  }

  #push(): void {
    if (this.#stopped) return;
    if (this.#sending) {
      this.#again = true;
      return;
    }
    this.#sending = this.#pushNow().finally(() => {
      this.#sending = undefined;
      if (this.#again && !this.#stopped) {
        this.#again = false;
        this.#push();
      }
    });
  }

  async #pushNow(): Promise<void> {
    const demand = [...this.#demand.values()];
    this.#demand.clear();
    const now = Date.now();
    const body: RouterStatsPush = {
      router: this.#o.id,
      instance: this.#instance,
      ...(this.#o.share === false ? { share: false } : {}),
      stats: this.#router.takeStats(now),
      windowMs: Math.max(1, now - this.#lastPushAt),
      ...(demand.length > 0 ? { demand } : {}),
    };
    this.#lastPushAt = now;
    try {
      await this.#send(body, Math.max(1_000, this.#o.pushIntervalMs * 2));
      if (this.#failures > 0) {
        this.#logger.info({ primary: this.#o.primary }, 'serving primary takes stats again');
        this.#events.up();
      }
      this.#failures = 0;
      this.lastError = undefined;
    } catch (error) {
      if (this.#stopped) return;
      this.lastError = describeError(error);
      // The demand is asked again (the router renews it while requests wait at zero).
      this.#failures++;
      if (this.#failures === 1) this.#events.down();
      if (this.#failures === 1 || this.#failures % 30 === 0)
        this.#logger.warn(
          { primary: this.#o.primary, failures: this.#failures },
          `cannot push stats to the serving primary ${this.#url} (${describeError(error)}); retrying`,
        );
    }
  }

  async #send(body: RouterStatsPush, timeoutMs: number): Promise<void> {
    const response = await request(this.#url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(this.#o.token ? { authorization: `Bearer ${this.#o.token}` } : {}),
      },
      body: JSON.stringify(body),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const text = await response.body.text();
    if (response.statusCode >= 300) throw new Error(`HTTP ${response.statusCode}: ${text.slice(0, 300)}`);
  }
}
