// `eddy dev` as a library: the local control plane (resource store, file watcher, admin API, reconcile
// loop) and every data-plane component (event log, broker ingress + dispatcher, serving router +
// autoscaler + process runtime, source adapters) in one process. commands/dev.ts adds the CLI,
// signals and printing; tests start it in-process.

import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import {
  type BrokerDataPlane,
  createBrokerDataPlane,
  DEFAULT_KAFKA_CLIENT,
  type EventLog,
  type IngressLimits,
  type KafkaClientName,
  type KafkaSecurity,
  openEmbeddedEventLog,
  openKafkaEventLog,
  type SenderAuthOptions,
} from '@eddy/broker';
import {
  cleanupStack,
  createIssuer,
  InProcessOrigins,
  issuerTokens,
  loadOrCreateSigningKey,
  type MemberState,
  OIDC_ISSUER_ENV,
  OIDC_SIGNING_KEY_ENV,
  processRegistry,
  reportedCounters,
  type ServingCertificate,
  sleep,
} from '@eddy/runtime';
import type { ReplicaOutputLine, ServingDataPlane } from '@eddy/serving';
import type { SourceRegistry } from '@eddy/sources';
import pino from 'pino';
import {
  ADMIN_FILE,
  OIDC_SIGNING_KEY_FILE,
  type SourcesProcessInfo,
  type StatusResponse,
} from '../admin/protocol.js';
import type { ReportedProcessCounters } from '../admin/topology-sampler.js';
import { CLI_VERSION as VERSION } from '../version.js';
import { newToken, removeAdminFile, runningServer, writeAdminFile } from './admin-file.js';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { BrokerProcesses } from './broker-processes.js';
import { createDevSources } from './dev-sources.js';
import { EventTypeDiscovery, feedObservations } from './event-types.js';
import { FileResourceStore } from './file-resource-store.js';
import { trustingEddyIssuer } from './ingress-auth-flags.js';
import { coveredBy, type ManifestWatcher, watchManifests } from './manifest-watcher.js';
import { loadManifest } from './manifests.js';
import { withProgressDeadline } from './progress-deadline.js';
import { Reconciler } from './reconciler.js';
import { LogReplayProgressFeed } from './replay-progress-feed.js';
import { defaultServing, type ServingModule } from './serving.js';
import { RemoteServingPlane } from './serving-process.js';

export interface DevServerOptions {
  /** Manifest files and directories to apply and watch. */
  files?: string[];
  dataDir: string;
  /** Kafka bootstrap servers; default the embedded log in the data dir. */
  kafka?: string[];
  /**
   * With `kafka`: run the broker data plane as this many ingress and dispatcher processes (see
   * broker-processes.ts) instead of in this process. Default in-process.
   */
  brokerProcesses?: { ingresses: number; dispatchers: number; extraArgs?: string[] };
  /**
   * With `kafka`: run the source adapters in `eddy sources` processes (sources-process.ts) instead
   * of in this process: `true` for one, or `members` of them sharing the sources (`--shard i/N`;
   * `extraArgs` for each). They run the built-ins and `sourceAdapters` (not a `sources` registry).
   */
  sourcesProcess?: boolean | { members?: number; extraArgs?: string[] };
  /**
   * With `kafka`: run serving (router/activator, autoscaler, the services' replicas) as an `eddy
   * serving` process (see serving-process.ts) instead of in this process (ignored with `serving: false`).
   */
  servingProcess?: boolean;
  /**
   * With `servingProcess`: routers on the one router port, the serving process's own included; the
   * others are `eddy serving --role router` processes (see serving-process.ts). Default 1.
   */
  servingRouters?: number;
  /**
   * With `brokerProcesses` and `servingProcess`: each dispatcher process runs a serving router of its
   * own and hands it its deliveries to Services without a socket (`eddy dispatcher --router-*`): one
   * proxied hop per delivery instead of two, and no single router process in the way of every
   * delivery (revisions with a containerConcurrency limit still go through the router port). Default true.
   */
  dispatcherRouters?: boolean;
  /** With `kafka`: the Kafka client library of the event log (and of the broker processes). Default DEFAULT_KAFKA_CLIENT. */
  kafkaClient?: KafkaClientName;
  /**
   * With `kafka`: TLS and SASL of this process's event log. The broker and serving processes read
   * theirs from the EDDY_KAFKA_* variables they inherit, so pass kafkaSecurityFromEnv(process.env).
   */
  kafkaSecurity?: KafkaSecurity;
  /** Broker ingress port; default 8080, 0 = any free port. The router takes the next free one. */
  port?: number;
  /** Default 127.0.0.1 for every listener. */
  host?: string;
  /** Admin API port; default 0 (a free port, written to admin.json). */
  adminPort?: number;
  logger?: pino.Logger;
  /** Where the addresses and status lines go; default nowhere. */
  print?(line: string): void;
  /** Every line the services' replicas (and ContainerSources, as `revision` = the source name) print; default: only to the logger (at info). */
  serviceOutput?(line: ReplicaOutputLine): void;
  /** Adapters for source kinds; default the built-ins. */
  sources?: SourceRegistry;
  /** Third-party adapter packages (names resolved from the cwd, or paths) loaded into the registry. */
  sourceAdapters?: string[];
  /** Kubeconfig file of the cluster ApiServerSources watch (`--kubeconfig`). */
  kubeconfig?: string;
  /** Serving pieces; default @eddy/serving's, `false` to run without serving. */
  serving?: ServingModule | false;
  /** File rescan period; default 1000 ms. */
  watchIntervalMs?: number;
  /** Grace for a tail/apply/delete response to reflect the change; default 5000 ms. */
  settleTimeoutMs?: number;
  /** Environment for EDDY_SECRET_<NAME>_<KEY> lookups (they win over Secret manifests); default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Create EventTypes for the kinds of events the ingress sees (`--eventtype-auto-create`). Default false. */
  eventTypeAutoCreate?: boolean;
  /** `--ingress-auth` / `--oidc-issuer` (ingress-auth-flags.ts); default: config-features decides (off). */
  senderAuth?: SenderAuthOptions;
  /** Reply hop limit of Brokers without `eddy.dev/broker-ttl` (`--broker-ttl`). Default 255. */
  brokerTtl?: number;
  /** Progress deadline of revisions without `serving.knative.dev/progress-deadline` (`--progress-deadline`). Default 600 000. */
  progressDeadlineMs?: number;
  /** Serve the ingress and the router over HTTPS (`--tls-cert`/`--tls-key`); default plain HTTP. */
  tls?: DevTls;
  /** The broker ingress's request limits that differ from the defaults (in process or in its processes). */
  ingressLimits?: IngressLimits;
}

/** Knative's transport-encryption, once a certificate is given: `permissive` keeps plain HTTP too. */
export interface DevTls {
  certificate: ServingCertificate;
  mode: 'strict' | 'permissive';
  /** Absolute paths of the certificate's files, for the component processes (`--kafka`); absent for a Secret's. */
  files?: { cert: string; key: string };
}

export interface DevServer {
  readonly dataDir: string;
  readonly ingressUrl: string;
  readonly routerUrl: string | undefined;
  readonly adminUrl: string;
  readonly token: string;
  readonly store: FileResourceStore;
  readonly log: EventLog;
  readonly reconciler: Reconciler;
  /** Resolves once file changes found so far are applied and reconciled. */
  settled(): Promise<void>;
  /** Stops sources, drains the broker, stops serving, closes the log, removes admin.json. */
  close(): Promise<void>;
}

/** The rate counters each process following a feed reported, named `<feed>/<member>`. */
function feedCounters(feed: string, members: readonly MemberState[] | undefined): ReportedProcessCounters[] {
  return (members ?? []).map((m) => ({ member: `${feed}/${m.id}`, counters: reportedCounters(m.status) }));
}

/** The first port from `from` up that nothing listens on (0 stays 0). */
async function nextFreePort(host: string, from: number): Promise<number> {
  if (from === 0) return 0;
  for (let port = from; port < Math.min(from + 50, 65536); port++) {
    const free = await new Promise<boolean>((done) => {
      const srv = createServer();
      srv.once('error', () => done(false));
      srv.listen(port, host, () => srv.close(() => done(true)));
    });
    if (free) return port;
  }
  return 0;
}

function listenError(error: unknown, what: string, port: number): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new Error(
      `${what}: port ${port} is already in use; pass --port <n> (or --port 0 for any free port)`,
    );
  return error as Error;
}

/** A path as a user reads it: relative to the cwd when it is below it, else absolute. */
/** `/v1/status`'s sources processes, and the first alone as before `--sources N`. */
function sourcesInfo(
  members: SourcesProcessInfo[],
): Pick<StatusResponse, 'sourcesProcesses' | 'sourcesProcess'> {
  return { sourcesProcesses: members, ...(members[0] ? { sourcesProcess: members[0] } : {}) };
}

function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const dataDir = resolve(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const print = options.print ?? (() => {});
  const logger = options.logger ?? pino({ level: 'warn' }, pino.destination(2));
  const files = options.files ?? [];
  mkdirSync(dataDir, { recursive: true });
  const other = runningServer(dataDir);
  if (other)
    throw new Error(
      `another eddy dev (pid ${other.pid}) is running on ${dataDir}; stop it or pass another --data-dir`,
    );

  const store = FileResourceStore.open(dataDir);
  // Eddy's OIDC identity: the key survives restarts (tokens stay verifiable); the issuer is the admin
  // API's URL, known once it listens, before anything is delivered.
  const signingKeyFile = join(dataDir, OIDC_SIGNING_KEY_FILE);
  let issuerUrl = '';
  const issuer = createIssuer({ key: await loadOrCreateSigningKey(signingKeyFile), url: () => issuerUrl });
  const tokens = issuerTokens(issuer);
  const cleanups = cleanupStack((error) =>
    logger.warn({ err: error }, `eddy dev: shutdown step failed: ${(error as Error).message}`),
  );
  const cleanup = () => cleanups.run();

  try {
    const log: EventLog = options.kafka
      ? openKafkaEventLog({
          client: options.kafkaClient ?? DEFAULT_KAFKA_CLIENT,
          brokers: options.kafka,
          ...(options.kafkaSecurity ? { security: options.kafkaSecurity } : {}),
          logger,
        })
      : await openEmbeddedEventLog({ dataDir });
    cleanups.push(() => log.close());
    const replayProgress = new LogReplayProgressFeed(log, logger);
    cleanups.push(() => replayProgress.close());

    // With Node's process metrics (heap, event-loop lag), as each component process has under --kafka.
    const metrics = processRegistry();
    const port = options.port ?? 8080;
    const tlsCertificate = options.tls?.certificate;
    if (tlsCertificate) cleanups.push(() => tlsCertificate.close());
    let broker: Pick<BrokerDataPlane, 'url' | 'apply' | 'lag' | 'close'>;
    let inProcessBroker: BrokerDataPlane | undefined;
    // The router, once it runs in this process too, serves the deliverer's requests without a socket.
    const inProcessOrigins = new InProcessOrigins();
    let processes: BrokerProcesses | undefined;
    if (options.kafka && options.brokerProcesses) {
      processes = await BrokerProcesses.create({
        kafka: options.kafka,
        host,
        port,
        ...options.brokerProcesses,
        extraArgs: [
          ...(options.kafkaClient ? ['--kafka-client', options.kafkaClient] : []),
          ...(options.brokerProcesses.extraArgs ?? []),
        ],
        log,
        logger,
        print,
        ...(options.tls?.files ? { tlsFiles: options.tls.files } : {}),
        ...(options.ingressLimits ? { ingressLimits: options.ingressLimits } : {}),
      });
      broker = processes;
    } else {
      try {
        inProcessBroker = await createBrokerDataPlane({
          log,
          registry: metrics,
          logger,
          deliverer: { tokens, inProcess: inProcessOrigins },
          ingress: {
            host,
            port,
            ...(options.kafkaClient ? { kafkaSinkClient: options.kafkaClient } : {}),
            ...options.ingressLimits,
            ...(options.tls
              ? {
                  tls: options.tls.certificate,
                  ...(options.tls.mode === 'permissive' ? { httpPort: 0 } : {}),
                }
              : {}),
          },
        });
        broker = inProcessBroker;
      } catch (error) {
        throw listenError(error, 'broker ingress', port);
      }
    }
    // Idempotent, so it can be queued again to run before serving stops (drain into live services).
    const closeBroker = () => broker.close();
    cleanups.push(closeBroker);

    const servingModule = options.serving === false ? undefined : (options.serving ?? defaultServing);
    let servingPlane: ServingDataPlane | undefined;
    let servingProcess: RemoteServingPlane | undefined;
    const dispatchersRoute =
      processes !== undefined && options.servingProcess === true && options.dispatcherRouters !== false;
    if (options.servingProcess && !options.kafka)
      throw new Error('servingProcess needs kafka: the serving process reads the backlog from Kafka');
    if (servingModule) {
      const routerPort = await nextFreePort(host, port === 0 ? 0 : port + 1);
      if (options.kafka && options.servingProcess) {
        servingProcess = await RemoteServingPlane.create({
          host,
          port: routerPort,
          kafka: options.kafka,
          ...(options.kafkaClient ? { kafkaClient: options.kafkaClient } : {}),
          ...(options.servingRouters !== undefined ? { routers: options.servingRouters } : {}),
          ...(dispatchersRoute && processes
            ? {
                otherRouters: {
                  running: () => processes?.runningDispatchers ?? 0,
                  pid: (id: string) => processes?.pid(id),
                },
              }
            : {}),
          ...(options.tls?.files ? { tlsFiles: options.tls.files } : {}),
          logger,
          print,
          ...(options.serviceOutput ? { serviceOutput: options.serviceOutput } : {}),
        });
        servingPlane = servingProcess;
      } else {
        try {
          servingPlane = await servingModule.createServingDataPlane({
            backlog: broker,
            registry: metrics,
            logger,
            host,
            port: routerPort,
            ...(options.tls ? { tls: options.tls.certificate } : {}),
            ...(options.serviceOutput ? { onReplicaOutput: options.serviceOutput } : {}),
          });
        } catch (error) {
          throw listenError(error, 'serving router', routerPort);
        }
      }
      const plane = servingPlane;
      const handler = plane.inProcessHandler;
      if (handler) cleanups.push(inProcessOrigins.register(plane.url, handler));
      cleanups.push(() => plane.close());
      cleanups.push(closeBroker);
    }

    if (options.sourcesProcess && !options.kafka) throw new Error('sourcesProcess needs kafka');
    const {
      registry: sources,
      runner,
      process: sourcesProcess,
    } = await createDevSources({
      ...(options.sources ? { sources: options.sources } : {}),
      ...(options.sourceAdapters ? { sourceAdapters: options.sourceAdapters } : {}),
      ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
      ...(options.tls ? { tls: options.tls.certificate } : {}),
      ...(options.tls?.files ? { tlsFiles: options.tls.files } : {}),
      ...(options.sourcesProcess
        ? { asProcess: options.sourcesProcess === true ? {} : options.sourcesProcess }
        : {}),
      ...(options.serviceOutput ? { serviceOutput: options.serviceOutput } : {}),
      values: store.values,
      ...(options.env ? { env: options.env } : {}),
      metrics,
      logger,
      print,
      host,
      tokens,
    });
    cleanups.push(() => runner.close());

    const eventTypes = new EventTypeDiscovery({
      observations: () =>
        processes
          ? feedObservations(processes.feed.members('ingress'))
          : [inProcessBroker?.observedEventTypes() ?? []],
      autoCreate: options.eventTypeAutoCreate ?? false,
    });
    cleanups.push(() => eventTypes.close());
    const reconciler = new Reconciler({
      store,
      broker,
      ...(options.brokerTtl !== undefined ? { brokerTtl: options.brokerTtl } : {}),
      eventTypes,
      ...(servingModule && servingPlane
        ? {
            serving: {
              plane: servingPlane,
              reconcile: (i) =>
                servingModule.reconcileServing(withProgressDeadline(i, options.progressDeadlineMs)),
            },
          }
        : {}),
      runner,
      isSourceKind: (apiVersion, kind) => sources.has(apiVersion, kind),
      ...(options.env ? { env: options.env } : {}),
      logger,
      onStatusLine: print,
      replays: replayProgress,
      senderAuth: trustingEddyIssuer(options.senderAuth, issuer) ?? {},
      ...(options.tls
        ? {
            ingressTls: () => ({
              caCerts: options.tls?.certificate.caCerts ?? '',
              ...(inProcessBroker?.httpUrl ? { httpOrigin: inProcessBroker.httpUrl } : {}),
            }),
          }
        : {}),
    });
    cleanups.push(() => reconciler.close());
    // Runs first on shutdown: a reconcile pass waiting for a component process to take its contract
    // (up to its apply timeout) gives up now, so Ctrl-C early in a start does not wait those out.
    cleanups.push(() => {
      for (const feed of [processes?.feed, servingProcess?.feed, sourcesProcess?.feed]) feed?.close();
    });

    const isThirdPartyKind = (apiVersion: string, kind: string) => sources.has(apiVersion, kind);
    const settleTimeoutMs = options.settleTimeoutMs ?? 5000;
    const settle = () =>
      Promise.race([reconciler.idle(), sleep(settleTimeoutMs, undefined, { unref: true })]);
    let watcher: ManifestWatcher | undefined;
    const status = (): StatusResponse => ({
      version: VERSION,
      dataDir,
      eventLog: log.kind,
      brokerIngressUrl: broker.url,
      routerUrl: servingPlane?.url ?? '',
      watching: watcher?.files() ?? files.map((f) => resolve(f)),
      resources: store.size,
      ...(processes ? { brokerProcesses: processes.members() } : {}),
      ...(sourcesProcess ? sourcesInfo(sourcesProcess.info()) : {}),
      ...(servingProcess ? { servingProcesses: servingProcess.members() } : {}),
    });
    const token = newToken();
    let admin: AdminServer;
    try {
      admin = await startAdminServer({
        store,
        token,
        status,
        settle,
        isThirdPartyKind,
        serving: servingPlane,
        log,
        brokerTopic: (ns, name) =>
          reconciler.eventingContract?.brokers.find((b) => b.namespace === ns && b.name === name)?.topic,
        topology: {
          resources: () => store.list().map((e) => e.resource),
          // The broker and sources processes report their counters in their feed status; what runs
          // here counts into `metrics`.
          metrics,
          ...(processes || sourcesProcess
            ? {
                reported: () => [
                  ...feedCounters('broker', processes?.feed.members()),
                  ...feedCounters('sources', sourcesProcess?.feed.members()),
                ],
              }
            : {}),
          lag: (routeId) => broker.lag(routeId),
          revisions: () => servingPlane?.statuses() ?? [],
        },
        feeds: {
          ...(processes ? { broker: processes.feed } : {}),
          ...(sourcesProcess ? { sources: sourcesProcess.feed } : {}),
          ...(servingProcess ? { serving: servingProcess.feed } : {}),
        },
        issuer,
        metrics,
        host,
        port: options.adminPort ?? 0,
      });
    } catch (error) {
      throw listenError(error, 'admin API', options.adminPort ?? 0);
    }
    cleanups.push(() => admin.close());
    issuerUrl = admin.url;
    const oidcEnv = { [OIDC_SIGNING_KEY_ENV]: signingKeyFile, [OIDC_ISSUER_ENV]: issuer.url };
    const primary = dispatchersRoute ? servingProcess?.primaryUrl : undefined;
    processes?.start(
      `${admin.url}/v1/contract/broker`,
      token,
      oidcEnv,
      primary && servingProcess
        ? { primary, contract: `${admin.url}/v1/contract/serving`, origin: servingProcess.url }
        : undefined,
    );
    sourcesProcess?.start(`${admin.url}/v1/contract/sources`, token, oidcEnv);
    servingProcess?.start(`${admin.url}/v1/contract/serving`, token);
    writeAdminFile(dataDir, { url: admin.url, token, pid: process.pid, startedAt: new Date().toISOString() });
    cleanups.push(() => removeAdminFile(dataDir, token));

    print(
      `eddy dev ${VERSION}: event log ${log.kind === 'kafka' ? `kafka ${options.kafka?.join(',')}` : 'embedded'}, data dir ${dataDir}`,
    );
    print(
      `  ingress  ${broker.url}  (brokers at /<namespace>/<name>${processes ? `; ${processes.summary()}` : ''})`,
    );
    if (inProcessBroker?.httpUrl)
      print(`  ingress  ${inProcessBroker.httpUrl}  (plain HTTP too: transport-encryption permissive)`);
    if (servingPlane)
      print(
        `  router   ${servingPlane.url}  (services at /<namespace>/<name>${servingProcess ? `; serving runs as a process: ${servingProcess.summary()}` : ''})`,
      );
    else print('  router   (serving is off)');
    if (sourcesProcess)
      print(
        `  sources  as ${sourcesProcess.members === 1 ? 'a process' : 'processes'} (eddy sources; ${sourcesProcess.summary()})`,
      );
    print(`  admin    ${admin.url}  (token in ${join(shownPath(dataDir), ADMIN_FILE)})`);
    print(`  dashboard ${admin.dashboardLoginUrl()}  (one-time login link)`);

    store.onChange((changes) => {
      for (const c of changes) if (c.action === 'deleted') print(`${c.key.replace(/\//, ' ')}  deleted`);
    });

    const shown = shownPath;
    const explicit = new Set(files.map((f) => resolve(f)));
    let pendingFiles: Promise<void> = Promise.resolve();
    const onFile = async (file: string, text: string | undefined) => {
      if (text === undefined) {
        const changes = store.syncFile(file, []);
        print(
          `${shown(file)}: removed${changes.length > 0 ? `, ${changes.length} resource(s) deleted` : ''}`,
        );
        return;
      }
      // A directory may hold other JSON (package.json, tsconfig.json): only manifests count there.
      if (/\.json$/i.test(file) && !explicit.has(file) && !/"apiVersion"\s*:/.test(text)) return;
      const loaded = loadManifest(text, shown(file), { isThirdPartyKind, baseDir: dirname(file) });
      for (const w of loaded.warnings) print(w);
      if (!loaded.ok) {
        for (const e of loaded.errors) print(e);
        print(
          `${shown(file)}: not applied (${loaded.errors.length} error${loaded.errors.length === 1 ? '' : 's'}); the previous version stays`,
        );
        return;
      }
      const changes = store.syncFile(file, loaded.resources);
      for (const c of changes)
        if (c.action === 'created' || c.action === 'configured')
          store.recordEvent(c.key, {
            type: 'Normal',
            reason: c.action === 'created' ? 'Created' : 'Updated',
            message: `${c.action} from ${shown(file)}`,
          });
    };
    if (files.length > 0) {
      watcher = await watchManifests(files, {
        onFile: (file, text) => {
          pendingFiles = pendingFiles.then(() => onFile(file, text));
          return pendingFiles;
        },
        onError: (path, message) => print(`${shown(path)}: ${message}`),
        ...(options.watchIntervalMs ? { intervalMs: options.watchIntervalMs } : {}),
      });
      const w = watcher;
      cleanups.push(() => w.close());
      // Files that went away while eddy dev was not running take their resources with them.
      const present = new Set(watcher.files());
      for (const file of store.files())
        if (coveredBy(files, file) && !present.has(file)) await onFile(file, undefined);
    }
    reconciler.start();

    let closing: Promise<void> | undefined;
    return {
      dataDir,
      ingressUrl: broker.url,
      routerUrl: servingPlane?.url,
      adminUrl: admin.url,
      token,
      store,
      log,
      reconciler,
      async settled() {
        await watcher?.scan();
        await pendingFiles;
        await reconciler.idle();
      },
      close() {
        closing ??= (async () => {
          await cleanup();
          store.flush();
        })();
        return closing;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
