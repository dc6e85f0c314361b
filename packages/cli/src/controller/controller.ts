// `eddy controller` as a library: the reconcile loop `eddy dev` runs (../dev/reconciler.ts), with the
// Kubernetes API server as its store (kube-resource-store.ts), leader election on a Lease
// (leader-election.ts), and the broker data plane reached through a contract feed this process
// serves (../planes/feed-broker-plane.ts): ingress and dispatcher processes (`eddy ingress` /
// `eddy dispatcher --contract <this>/v1/contract/broker`) long-poll it and report what they run.
//
// Why a feed and not a ConfigMap (Knative's choice): a ConfigMap holds 1 MiB, and 10,000 Triggers
// make a contract several times that; the feed has no size limit (it is gzip-free JSON over HTTP,
// ~5 MB for 10,000 Triggers, sent only when it changes) and it is two-way: each process says which
// generation it runs, which is how the controller knows when a deleted Trigger's consumer group can
// go. A data-plane process keeps running its last contract while the controller is away.
//
// Every replica watches (a warm cache makes failover quick); only the leader writes to the API server,
// runs the reconcile loop, serves the contract (others answer 503) and runs the source adapters.
// Contract generations start at the leader's start time in microseconds, so a new leader's contracts
// are newer than anything a previous one published and the running processes take them.

import { createServer } from 'node:http';
import { type DataPlaneContract, subscriptionGroup, triggerGroup } from '@eddy/api';
import {
  DEFAULT_KAFKA_CLIENT,
  type EventLog,
  type KafkaClientName,
  type KafkaSecurity,
  openKafkaEventLog,
  type SenderAuthOptions,
} from '@eddy/broker';
import {
  bearerMatches,
  boundPort,
  type ContractFeed,
  cleanupStack,
  createIssuer,
  type Generational,
  type IssuerTrust,
  issuerTokens,
  listenUrl,
  processRegistry,
  readSigningKey,
  registerFeedRoutes,
} from '@eddy/runtime';
import { reconcileServing } from '@eddy/serving';
import type { KubeConfig } from '@kubernetes/client-node';
import Fastify from 'fastify';
import type pino from 'pino';
import { Counter, Gauge } from 'prom-client';
import { registerIdentityRoutes } from '../admin/identity-routes.js';
import { registerReadRoutes } from '../admin/read-routes.js';
import { createDevSources } from '../dev/dev-sources.js';
import { EventTypeDiscovery, feedObservations } from '../dev/event-types.js';
import { trustingEddyIssuer } from '../dev/ingress-auth-flags.js';
import { withProgressDeadline } from '../dev/progress-deadline.js';
import { Reconciler } from '../dev/reconciler.js';
import { LogReplayProgressFeed } from '../dev/replay-progress-feed.js';
import { FeedBrokerPlane } from '../planes/feed-broker-plane.js';
import { FeedServingPlane } from '../planes/feed-serving-plane.js';
import {
  type AdmissionWebhook,
  clusterRoleOwner,
  registerAdmissionWebhooks,
  startAdmissionWebhook,
  type WebhookOwner,
  type WebhookTarget,
  webhookConfigurations,
} from './admission/index.js';
import { kubeErrorMessage } from './kube-errors.js';
import { kubernetesEvents } from './kube-events.js';
import { KubernetesResourceStore } from './kube-resource-store.js';
import { LeaderElector } from './leader-election.js';
import { labelOwnPod, type OwnPod } from './leader-label.js';

export const BROKER_FEED_PATH = '/v1/contract/broker';
export const SERVING_FEED_PATH = '/v1/contract/serving';
export const SOURCES_FEED_PATH = '/v1/contract/sources';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  /** The file kubeConfig came from, for the source adapters (ApiServerSource); none: $KUBECONFIG or in-cluster. */
  kubeconfigPath?: string;
  /** Kafka bootstrap servers: the event log the data plane runs on (lag, group deletion, replays). */
  kafka: string[];
  kafkaClient?: KafkaClientName;
  /** TLS and SASL to `kafka` (the command reads them with kafkaSecurityFromEnv). Default plaintext. */
  kafkaSecurity?: KafkaSecurity;
  /** The broker ingress's base URL as senders reach it: Brokers' status.address is `<it>/<ns>/<name>`. */
  ingressUrl: string;
  /**
   * The PEM CA of the ingress' (https) certificate (`--ingress-ca`): Broker/Channel addresses carry it
   * as CACerts, and Triggers to them trust it. Read at every pass (the file may rotate).
   */
  ingressCACerts?: () => string;
  /**
   * The serving router's base URL as clients reach it (Services' status.url is `<it>/<ns>/<name>`):
   * with it, Services run (an `eddy serving --runtime kubernetes` process follows
   * /v1/contract/serving and makes each Revision a Deployment); without it they report
   * ServingUnavailable.
   */
  routerUrl?: string;
  /**
   * Create EventTypes for what the ingresses report they received (`--eventtype-auto-create`); Knative's
   * config-features ConfigMap turns it on too. Default false.
   */
  eventTypeAutoCreate?: boolean;
  /** `--ingress-auth` / `--oidc-issuer`; default: config-features decides (off). */
  senderAuth?: SenderAuthOptions;
  /** Reply hop limit of Brokers without `eddy.dev/broker-ttl` (`--broker-ttl`). Default 255. */
  brokerTtl?: number;
  /** Progress deadline of revisions without `serving.knative.dev/progress-deadline` (`--progress-deadline`). Default 600 000. */
  progressDeadlineMs?: number;
  /**
   * Source adapters run in `eddy sources` processes (a Deployment) following /v1/contract/sources,
   * instead of in the leader; default false.
   */
  externalSources?: boolean;
  /** This process's HTTP server (contract feed, /healthz, /readyz, /metrics); default 127.0.0.1, a free port. */
  host?: string;
  port?: number;
  /**
   * Bearer token the data plane must send to the feeds, and clients to the read-only admin API
   * (`eddy get/describe --server`); default none.
   */
  contractToken?: string;
  /**
   * Eddy's OIDC issuer: the signing key file (the chart's Secret) and the issuer URL receivers reach
   * (default this server's URL). The controller serves discovery and JWKS without a token, mints
   * `eddy send` tokens behind the contract token, and its in-process sources sign with it.
   */
  oidc?: { signingKeyFile: string; issuerUrl?: string };
  /** Reconcile this namespace only; default every namespace. */
  namespace?: string;
  /** Namespace of the leader-election Lease. */
  leaseNamespace: string;
  leaseName?: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: pino.Logger;
  print?(line: string): void;
  /** Leadership lost: the process should exit (a restarted replica starts clean). */
  onLostLeadership?(): void;
  /**
   * The validating and defaulting admission webhook (`eddy validate`'s rules and defaults for `kubectl
   * apply`), served by every replica and registered by the leader: at its own https URL, or behind
   * `service` (in a cluster; give every replica the same `certDir` then). `false`: none.
   */
  webhook?:
    | false
    | {
        host?: string;
        port?: number;
        certDir?: string;
        dnsNames?: string[];
        service?: { namespace: string; name: string; port?: number };
        /** A ClusterRole the webhook configurations are owned by (deleted with it). */
        ownerClusterRole?: string;
      };
  /**
   * This replica's Pod (in a cluster: POD_NAME / POD_NAMESPACE from the downward API): labelled
   * `eddy.dev/leader` "false" at start and "true" while leading, for a Service that selects the leader.
   */
  ownPod?: OwnPod;
  /** How often deleted Triggers' finalizers are looked at besides after each contract; default 2 s. */
  finalizeIntervalMs?: number;
}

export interface Controller {
  readonly url: string;
  /** What `eddy ingress` / `eddy dispatcher` take as `--contract`. */
  readonly feedUrl: string;
  readonly identity: string;
  readonly leading: boolean;
  readonly store: KubernetesResourceStore;
  /** The contract the leader publishes now. */
  readonly contract: DataPlaneContract | undefined;
  /** What a verifier needs to trust Eddy's tokens (`{ issuer, jwks }`), when `oidc` is set. */
  readonly issuerTrust: IssuerTrust | undefined;
  close(): Promise<void>;
}

export async function startController(o: ControllerOptions): Promise<Controller> {
  const { logger } = o;
  const print = o.print ?? (() => {});
  const cleanups = cleanupStack((error) =>
    logger.warn({ err: error }, `eddy controller: shutdown step failed: ${(error as Error).message}`),
  );
  const cleanup = () => cleanups.run();

  try {
    const log: EventLog = openKafkaEventLog({
      client: o.kafkaClient ?? DEFAULT_KAFKA_CLIENT,
      brokers: o.kafka,
      ...(o.kafkaSecurity ? { security: o.kafkaSecurity } : {}),
      logger,
    });
    cleanups.push(() => log.close());

    const elector = new LeaderElector({
      kubeConfig: o.kubeConfig,
      namespace: o.leaseNamespace,
      ...(o.leaseName ? { name: o.leaseName } : {}),
      ...(o.identity ? { identity: o.identity } : {}),
      ...(o.leaseDurationMs !== undefined ? { leaseDurationMs: o.leaseDurationMs } : {}),
      ...(o.renewDeadlineMs !== undefined ? { renewDeadlineMs: o.renewDeadlineMs } : {}),
      ...(o.retryPeriodMs !== undefined ? { retryPeriodMs: o.retryPeriodMs } : {}),
      logger,
      onStartedLeading: () => void lead(),
      onStoppedLeading: () => stepDown(),
    });

    const metrics = processRegistry();
    const leaderGauge = new Gauge({
      name: 'eddy_controller_leader',
      help: '1 while this replica holds the leader Lease',
      registers: [metrics],
    });
    const writes = new Counter({
      name: 'eddy_controller_api_writes_total',
      help: 'Writes this replica sent to the Kubernetes API server (statuses, finalizers, Events, children); only a leader writes',
      labelNames: ['what'],
      registers: [metrics],
    });

    const store = await KubernetesResourceStore.start({
      kubeConfig: o.kubeConfig,
      logger,
      identity: elector.identity,
      ...(o.namespace ? { namespace: o.namespace } : {}),
      onWrite: (what) => writes.inc({ what }),
    });
    cleanups.push(() => store.close());

    let serverUrl = '';
    const issuer = o.oidc
      ? createIssuer({
          key: await readSigningKey(o.oidc.signingKeyFile),
          url: o.oidc.issuerUrl ?? (() => serverUrl),
        })
      : undefined;
    const senderAuth = trustingEddyIssuer(o.senderAuth, issuer);
    const plane = new FeedBrokerPlane({ url: o.ingressUrl, log, logger });
    cleanups.push(() => plane.close());
    const serving = o.routerUrl ? new FeedServingPlane({ url: o.routerUrl, logger }) : undefined;
    if (serving) cleanups.push(() => serving.close());
    const sourcesOptions = {
      values: store.values,
      ...(o.kubeconfigPath ? { kubeconfig: o.kubeconfigPath } : {}),
      metrics,
      logger,
      print,
      host: o.host ?? '127.0.0.1',
      ...(issuer ? { tokens: issuerTokens(issuer) } : {}),
    };
    // Its feed route must exist before the server listens; it publishes only while this replica leads.
    const externalSources = o.externalSources
      ? await createDevSources({ ...sourcesOptions, asProcess: { external: true } })
      : undefined;
    if (externalSources) cleanups.push(() => externalSources.runner.close());

    const app = Fastify({
      logger: false,
      forceCloseConnections: true,
      serverFactory: (h) => createServer(h),
    });
    if (o.contractToken !== undefined) {
      const token = o.contractToken;
      app.addHook('onRequest', async (request, reply) => {
        if (request.url.startsWith('/v1/') && !bearerMatches(request.headers.authorization, token))
          return reply.code(401).send({
            error: `${request.url.startsWith('/v1/contract') ? 'the contract feed' : 'the admin API'} needs its bearer token (EDDY_CONTRACT_TOKEN)`,
          });
      });
    }
    app.addHook('onRequest', async (request, reply) => {
      if (request.url.startsWith('/v1/contract') && !elector.leading)
        return reply.code(503).send({ error: `${elector.identity} is not the leader` });
    });
    registerFeedRoutes(app, BROKER_FEED_PATH, plane.feed as unknown as ContractFeed<Generational>);
    if (serving)
      registerFeedRoutes(app, SERVING_FEED_PATH, serving.feed as unknown as ContractFeed<Generational>);
    if (externalSources?.process)
      registerFeedRoutes(
        app,
        SOURCES_FEED_PATH,
        externalSources.process.feed as unknown as ContractFeed<Generational>,
      );
    app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const code = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
      void reply.code(code).send({ error: error.message.split('\n')[0] ?? 'error' });
    });
    // Every replica answers reads from its own watch; decisions come from the serving process,
    // which reports to the leader only.
    registerReadRoutes(app, {
      store,
      events: (entry) => kubernetesEvents(o.kubeConfig, entry),
      serving,
    });
    if (issuer) registerIdentityRoutes(app, issuer);
    app.get('/healthz', async () => ({ ok: true }));
    app.get('/readyz', async () => ({ ok: true, leading: elector.leading }));
    app.get('/metrics', async (_request, reply) =>
      reply.header('content-type', metrics.contentType).send(await metrics.metrics()),
    );
    const host = o.host ?? '127.0.0.1';
    await app.listen({ host, port: o.port ?? 0 });
    cleanups.push(() => app.close());
    const url = listenUrl(host, boundPort(app.server.address(), o.port ?? 0));
    serverUrl = url;
    logger.info({ url }, `eddy controller ${elector.identity} listening on ${url}`);
    print(
      `eddy controller ${elector.identity}: contract feed ${url}${BROKER_FEED_PATH}${serving ? ` and ${url}${SERVING_FEED_PATH}` : ''}, admin API (read-only) ${url}/v1/resources, metrics ${url}/metrics`,
    );

    let webhook: AdmissionWebhook | undefined;
    if (o.webhook !== false) {
      const w = o.webhook ?? {};
      webhook = await startAdmissionWebhook({
        host: w.host ?? host,
        ...(w.port !== undefined ? { port: w.port } : {}),
        logger,
        ...(w.certDir ? { certDir: w.certDir } : {}),
        ...(w.dnsNames ? { dnsNames: w.dnsNames } : {}),
      });
      const served = webhook;
      cleanups.push(() => served.close());
      logger.info({ url: webhook.url }, `admission webhook listening on ${webhook.url}`);
      print(`eddy controller ${elector.identity}: admission webhook ${webhook.url}`);
    }
    const webhookTarget = (): WebhookTarget | undefined => {
      if (!webhook) return undefined;
      const service = o.webhook ? o.webhook.service : undefined;
      return service
        ? { service, caBundle: webhook.caBundle }
        : { url: webhook.url, caBundle: webhook.caBundle };
    };

    let reconciler: Reconciler | undefined;
    let leadingSince = 0;
    let finalizeTimer: NodeJS.Timeout | undefined;
    let closing = false;

    /**
     * A deleted Trigger/Subscription keeps its finalizer until no dispatcher can consume its group any
     * more: the published contract has no route with it and every dispatcher runs that contract. With
     * no dispatcher connected, the leader waits a member TTL first (one may be about to reconnect with
     * an older contract).
     */
    const finalize = async () => {
      const contract = plane.current;
      if (!contract || !elector.leading) return;
      const pending = store.terminating();
      if (pending.length === 0) return;
      const dispatchers = plane.feed.members('dispatcher');
      const caughtUp =
        dispatchers.length > 0
          ? dispatchers.every((m) => (m.applied ?? -1) >= contract.generation)
          : Date.now() - leadingSince > 60_000;
      if (!caughtUp) return;
      const running = new Set(contract.routes.map((r) => r.group));
      for (const t of pending) {
        const group =
          t.kind === 'Trigger' ? triggerGroup(t.namespace, t.name) : subscriptionGroup(t.namespace, t.name);
        if (running.has(group)) continue;
        const failed = await plane.deleteGroups([{ id: t.key, group }]);
        if (failed.length > 0) continue;
        try {
          await store.removeFinalizer(t.key);
          logger.info({ key: t.key, group }, `${t.key}: consumer group ${group} deleted`);
        } catch (error) {
          logger.warn(
            { err: error },
            `${t.key}: could not remove the finalizer: ${(error as Error).message}`,
          );
        }
      }
    };

    async function lead(): Promise<void> {
      if (closing || reconciler) return;
      leadingSince = Date.now();
      leaderGauge.set(1);
      if (o.ownPod) void labelOwnPod(o.kubeConfig, o.ownPod, true, logger);
      print(`eddy controller ${elector.identity}: leading`);
      store.enableWrites();
      const target = webhookTarget();
      if (target) {
        const ownerName = o.webhook ? o.webhook.ownerClusterRole : undefined;
        let owner: WebhookOwner | undefined;
        if (ownerName)
          owner = await clusterRoleOwner(o.kubeConfig, ownerName).catch((error: unknown) => {
            logger.error(
              `the webhook configurations' owner, ClusterRole ${ownerName}: ${kubeErrorMessage(error)}; registering them without it (they will outlive an uninstall)`,
            );
            return undefined;
          });
        const configs = webhookConfigurations(target, {
          ...(o.namespace ? { namespace: o.namespace } : {}),
          ...(owner ? { owner } : {}),
        });
        writes.inc({ what: 'webhook' }, configs.length);
        try {
          await registerAdmissionWebhooks(o.kubeConfig, configs);
        } catch (error) {
          logger.error(`registering the admission webhooks: ${kubeErrorMessage(error)}`);
        }
      }
      const replays = new LogReplayProgressFeed(log, logger);
      cleanups.push(() => replays.close());
      const { registry: sources, runner } = externalSources ?? (await createDevSources(sourcesOptions));
      if (!externalSources) cleanups.push(() => runner.close());
      // The ingress processes report what they received through the feed, as under `eddy dev --kafka`.
      const eventTypes = new EventTypeDiscovery({
        observations: () => feedObservations(plane.feed.members('ingress')),
        autoCreate: o.eventTypeAutoCreate ?? false,
      });
      cleanups.push(() => eventTypes.close());
      reconciler = new Reconciler({
        store,
        eventTypes,
        ...(o.brokerTtl !== undefined ? { brokerTtl: o.brokerTtl } : {}),
        broker: {
          url: plane.url,
          apply: async (contract, options) => {
            const result = await plane.apply(contract, options);
            await finalize();
            return result;
          },
        },
        runner,
        isSourceKind: (apiVersion, kind) => sources.has(apiVersion, kind),
        logger,
        onStatusLine: print,
        replays,
        firstContractGeneration: Date.now() * 1000,
        ...(senderAuth ? { senderAuth } : {}),
        ...(o.ingressCACerts ? { ingressTls: () => ({ caCerts: o.ingressCACerts?.() ?? '' }) } : {}),
        ...(serving
          ? {
              serving: {
                plane: serving,
                reconcile: (input) =>
                  reconcileServing({
                    ...withProgressDeadline(input, o.progressDeadlineMs),
                    workloadTarget: 'kubernetes',
                  }),
              },
            }
          : {
              servingOffMessage:
                'eddy controller runs Services only when started with --router-url (and an eddy serving --runtime kubernetes following its /v1/contract/serving)',
            }),
      });
      const r = reconciler;
      cleanups.push(() => r.close());
      r.start();
      finalizeTimer = setInterval(() => void finalize().catch(() => {}), o.finalizeIntervalMs ?? 2_000);
      finalizeTimer.unref();
      cleanups.push(() => clearInterval(finalizeTimer));
    }

    function stepDown(): void {
      leaderGauge.set(0);
      if (!reconciler || closing) return;
      logger.error(`eddy controller ${elector.identity}: lost the leader Lease; stopping`);
      print(`eddy controller ${elector.identity}: lost leadership`);
      o.onLostLeadership?.();
    }

    if (o.ownPod) await labelOwnPod(o.kubeConfig, o.ownPod, false, logger);
    elector.start();
    cleanups.push(() => elector.stop());

    return {
      url,
      feedUrl: `${url}${BROKER_FEED_PATH}`,
      identity: elector.identity,
      get leading() {
        return elector.leading;
      },
      store,
      get contract() {
        return plane.current;
      },
      get issuerTrust() {
        return issuer?.trust();
      },
      close: async () => {
        closing = true;
        plane.feed.close();
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
