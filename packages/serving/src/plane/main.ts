// The serving data plane as a process: the router/activator, the autoscaler and the process runtime
// (replicas are this process's children), driven by the control plane's serving contract. `eddy
// serving` is this, with the event-log client the backlog is read with (the CLI composes it: serving
// never imports the broker).
//
//   eddy serving --contract contract.json --log none
//   eddy serving --contract http://control:9000/v1/contract/serving --log kafka --brokers kafka:9092
//   eddy serving --role router --primary http://127.0.0.1:9091 --contract <same> --port <same> --reuse-port true
//
// Scale-out (Knative's activators beside one autoscaler): the default `--role primary` runs the
// replicas, the one KPA decider per revision and its own router; any number of `--role router`
// processes are extra routers (router-process.ts) that follow the same contract, get the ready
// replicas from the primary (its probe port serves /v1/endpoints, a long-poll feed) and push their
// per-revision concurrency to it (/v1/stats) every second, at once when a request waits at zero. The
// primary sums its own window with the fresh pushes (a router silent for --router-timeout-ms drops
// out) and every router takes its share of each replica's containerConcurrency. With --reuse-port
// true they all listen on one port.
//
// Every option is a flag or its EDDY_SERVING_* variable (OPTIONS below; the flag wins). The router
// listens on --port; /healthz, /readyz and /metrics are on a port of their own (--probe-port): on
// the router's port they would shadow a service's own /healthz reached by Host header. Logs are pino
// JSON lines on stdout; the first says where the router listens (`url`) and the probes (`probes`).
// What replicas print comes out as JSON lines too (replica-output-log.ts). With a feed URL the
// process reports its revisions' status and recent autoscaler decisions to the feed whenever they
// change. SIGTERM/SIGINT: in-flight requests finish, replicas get SIGTERM, exit 0. Exit 1: could not
// start; exit 2: bad options.

import type { BacklogReader, ServingContract } from '@eddy/api';
import { checkServingContract } from '@eddy/api';
import {
  type FlagSpec,
  loadKubeConfig,
  type ProbeServer,
  parseFlags,
  processRegistry,
  requireFileContract,
  runProcessMain,
  servingCertificateFromFlags,
  startProbeServer,
  TLS_FLAGS,
  tlsFlagFiles,
  UsageError,
  usageText,
  watchContract,
} from '@eddy/runtime';
import pino from 'pino';
import { createRouter } from '../router/create-router.js';
import type { WorkloadRuntime } from '../runtime/runtime.js';
import { createServingDataPlane, DEFAULT_MAX_REPLICAS_CAP, DEFAULT_TICK_MS } from './create-serving-plane.js';
import { DEFAULT_ROUTER_TIMEOUT_MS, PrimaryRouter } from './primary-router.js';
import { servingProcessReport } from './process-report.js';
import { replicaOutputLogLine } from './replica-output-log.js';
import { type RunningServingRouter, runServingRouter } from './router-process.js';
import type { ServingDataPlane } from './serving-plane.js';

/** A BacklogReader over an event-log connection that must be closed. */
export interface ClosableBacklogReader extends BacklogReader {
  close(): Promise<void>;
}

/**
 * Opens the event-log client `--log kafka` reads lag with; the CLI provides it (@eddy/broker's Kafka
 * event log), so this package stays free of the broker.
 */
export interface BacklogReaderFactory {
  /** The `--kafka-client` values it takes; the first is the default. */
  kafkaClients: readonly string[];
  open(options: {
    brokers: string[];
    kafkaClient: string;
    logger: pino.Logger;
    /** The process environment: the reader's Kafka connection settings (EDDY_KAFKA_*) are there. */
    env: Readonly<Record<string, string | undefined>>;
  }): ClosableBacklogReader;
}

const LOGS = ['none', 'kafka'] as const;
const RUNTIMES = ['process', 'kubernetes'] as const;
/** With `--runtime kubernetes` replicas are Pods, not this machine's processes: Knative has no cap. */
const KUBERNETES_MAX_REPLICAS_CAP = 1000;
const ROLES = ['primary', 'router'] as const;
const DEFAULT_PUSH_INTERVAL_MS = 1_000;

const OPTIONS = {
  contract: {
    value: '<file|url>',
    help: 'the ServingContract: a file, or the control plane feed URL (required)',
  },
  role: {
    value: ROLES.join('|'),
    help: 'primary: replicas, autoscaler and a router (default); router: an extra router of a primary',
  },
  primary: {
    value: '<url>',
    help: "--role router: the primary's probe URL http://host:port (its /v1/endpoints and /v1/stats)",
  },
  'member-id': {
    value: '<id>',
    help: 'how this process names itself to the feed and the primary (default serving-<pid> or router-<pid>)',
  },
  host: { value: '<address>', help: 'listen address of the router and the probes (default 127.0.0.1)' },
  port: { value: '<port>', help: "the router's port (default 0: a free one, logged)" },
  'reuse-port': {
    value: 'true|false',
    help: "share the router's port with the other routers (SO_REUSEPORT; default true with --role router, else false)",
  },
  'probe-port': {
    value: '<port>',
    help: '/healthz, /readyz, /metrics; the primary also serves its routers there (default 0: a free one, logged)',
  },
  'push-interval-ms': {
    value: '<ms>',
    help: `--role router: how often its stats go to the primary (default ${DEFAULT_PUSH_INTERVAL_MS})`,
  },
  'router-timeout-ms': {
    value: '<ms>',
    help: `the primary: a router that pushed no stats for this long no longer counts (default ${DEFAULT_ROUTER_TIMEOUT_MS})`,
  },
  log: {
    value: LOGS.join('|'),
    help: 'where the backlog (consumer lag) is read (default none: no backlog signal)',
  },
  brokers: { value: '<host:port,...>', help: 'Kafka bootstrap brokers (required with --log kafka)' },
  'kafka-client': { value: '<name>', help: 'the Kafka client of --log kafka (see `eddy serving --help`)' },
  'log-level': { value: '<level>', help: 'pino level (default info)' },
  'tick-ms': { value: '<ms>', help: `autoscaler tick (default ${DEFAULT_TICK_MS})` },
  'max-replicas-cap': {
    value: '<n>',
    help: `replicas per revision at most, whatever max-scale says (default ${DEFAULT_MAX_REPLICAS_CAP})`,
  },
  'watch-interval-ms': { value: '<ms>', help: 'how often the contract file is polled (default 500)' },
  runtime: {
    value: RUNTIMES.join('|'),
    help: "where revisions run: process = this process's children (default); kubernetes = a Deployment + Service per revision, scaled through the scale subresource",
  },
  kubeconfig: {
    value: '<file>',
    help: 'with --runtime kubernetes: the kubeconfig (default $KUBECONFIG, ~/.kube/config, else the in-cluster ServiceAccount)',
  },
  ...TLS_FLAGS,
} as const satisfies Record<string, FlagSpec>;
type OptionName = keyof typeof OPTIONS;

/** `--tick-ms` -> `EDDY_SERVING_TICK_MS`. */
export const servingEnvName = (option: string) => `EDDY_SERVING_${option.toUpperCase().replaceAll('-', '_')}`;

/** The usage text; `program` is how the user ran it (`eddy serving`). */
export function servingUsage(program = 'eddy serving', backlog?: BacklogReaderFactory): string {
  const clients = backlog ? ` (${backlog.kafkaClients.join('|')}; default ${backlog.kafkaClients[0]})` : '';
  return usageText(
    `${program} --contract <file|url> [--log none | --log kafka --brokers <host:port,...>] [options]\n       ${program} --role router --primary <url> --contract <file|url> [options]`,
    {
      ...OPTIONS,
      'kafka-client': { ...OPTIONS['kafka-client'], help: `the Kafka client of --log kafka${clients}` },
    },
    servingEnvName,
  );
}

export interface ServingMainOptions {
  contract: string;
  role: (typeof ROLES)[number];
  /** --role router: the primary's probe URL. */
  primary?: string;
  memberId: string | undefined;
  host: string;
  port: number;
  reusePort: boolean;
  probePort: number;
  pushIntervalMs: number;
  routerTimeoutMs: number;
  log: (typeof LOGS)[number];
  brokers?: string[];
  kafkaClient?: string;
  logLevel: string;
  tickMs: number;
  maxReplicasCap: number;
  watchIntervalMs: number;
  runtime: (typeof RUNTIMES)[number];
  /** The router serves HTTPS with these files (`--tls-cert`, `--tls-key`). */
  tls?: { cert: string; key: string };
  kubeconfig?: string;
}

/**
 * Parses the command line, an option the flags leave out from its EDDY_SERVING_* variable in `env`.
 * `backlog` is the event-log client factory `--log kafka` needs. Throws UsageError naming the flag.
 */
export function parseServingArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
  backlog?: BacklogReaderFactory,
): ServingMainOptions {
  const o = parseFlags<OptionName>(argv, OPTIONS, env, servingEnvName);
  const contract = o.read('contract');
  if (!contract) throw new UsageError(`--contract <file|url> (or ${servingEnvName('contract')}) is required`);
  const role = o.choice('role', ROLES) ?? 'primary';
  let primary: string | undefined;
  if (role === 'router') {
    const given = o.read('primary');
    if (!given) throw new UsageError(`--role router needs --primary <url> (or ${servingEnvName('primary')})`);
    let url: URL | undefined;
    try {
      url = new URL(given.text);
    } catch {}
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new UsageError(
        `${given.source} must be the primary's probe URL (http://host:port), got "${given.text}"`,
      );
    primary = given.text;
    // What only the primary does (replicas, autoscaling, the backlog) is not a router's flag.
    for (const name of [
      'tick-ms',
      'max-replicas-cap',
      'router-timeout-ms',
      'brokers',
      'kafka-client',
      'runtime',
      'kubeconfig',
    ] as const) {
      const flag = o.read(name);
      if (flag)
        throw new UsageError(`${flag.source} is the primary's: a --role router process takes no ${name}`);
    }
    const log = o.read('log');
    if (log && log.text !== 'none')
      throw new UsageError(
        `${log.source} ${log.text}: a --role router process reads no backlog (the primary does)`,
      );
  } else {
    for (const name of ['primary', 'push-interval-ms'] as const) {
      const flag = o.read(name);
      if (flag) throw new UsageError(`${flag.source} needs --role router`);
    }
  }
  const log = o.choice('log', LOGS) ?? 'none';
  const brokers = o.hostPorts('brokers');
  let kafkaClient: string | undefined;
  if (log === 'kafka') {
    if (!brokers)
      throw new UsageError(`--log kafka needs --brokers <host:port,...> (or ${servingEnvName('brokers')})`);
    if (!backlog)
      throw new UsageError('--log kafka needs a Kafka client: run this as `eddy serving`, which has one');
    kafkaClient = o.choice('kafka-client', backlog.kafkaClients) ?? backlog.kafkaClients[0] ?? '';
  } else {
    for (const name of ['brokers', 'kafka-client'] as const) {
      const given = o.read(name);
      if (given) throw new UsageError(`${given.source} needs --log kafka`);
    }
  }
  const runtime = o.choice('runtime', RUNTIMES) ?? 'process';
  const kubeconfig = o.read('kubeconfig');
  if (kubeconfig && runtime !== 'kubernetes')
    throw new UsageError(`${kubeconfig.source} needs --runtime kubernetes`);
  return {
    contract: contract.text,
    role,
    runtime,
    ...(kubeconfig ? { kubeconfig: kubeconfig.text } : {}),
    ...(primary !== undefined ? { primary } : {}),
    memberId: o.read('member-id')?.text,
    host: o.read('host')?.text ?? '127.0.0.1',
    port: o.int('port', 0, 65535) ?? 0,
    reusePort: (o.choice('reuse-port', ['true', 'false'] as const) ?? String(role === 'router')) === 'true',
    probePort: o.int('probe-port', 0, 65535) ?? 0,
    pushIntervalMs: o.int('push-interval-ms', 50, 60_000) ?? DEFAULT_PUSH_INTERVAL_MS,
    routerTimeoutMs: o.int('router-timeout-ms', 100, 600_000) ?? DEFAULT_ROUTER_TIMEOUT_MS,
    log,
    ...(brokers ? { brokers } : {}),
    ...(kafkaClient !== undefined ? { kafkaClient } : {}),
    logLevel: o.read('log-level')?.text ?? 'info',
    tickMs: o.int('tick-ms', 10, 60_000) ?? DEFAULT_TICK_MS,
    maxReplicasCap:
      o.int('max-replicas-cap', 1, 1000) ??
      (runtime === 'kubernetes' ? KUBERNETES_MAX_REPLICAS_CAP : DEFAULT_MAX_REPLICAS_CAP),
    watchIntervalMs: o.int('watch-interval-ms', 50, 60_000) ?? 500,
    ...tlsFlagFiles(o.read('tls-cert')?.text, o.read('tls-key')?.text),
  };
}

export interface RunningServing {
  plane: ServingDataPlane;
  probes: ProbeServer;
  /** Re-reads a contract file (a feed URL is always current). Never rejects. */
  reload(): Promise<void>;
  /** Stops following the contract, drains the router, stops the replicas, closes the log client. */
  stop(): Promise<void>;
}

/**
 * The Kubernetes runtime, loaded only when asked for (the client is large). With no --kubeconfig:
 * $KUBECONFIG, ~/.kube/config, else the Pod's ServiceAccount.
 */
async function kubernetesRuntime(file: string | undefined, logger: pino.Logger): Promise<WorkloadRuntime> {
  const { createKubernetesRuntime } = await import('../runtime/kubernetes-runtime.js');
  const kubeConfig = await loadKubeConfig(file).catch((error: Error) => {
    throw new UsageError(`--runtime kubernetes: ${error.message}`);
  });
  const server = kubeConfig.getCurrentCluster()?.server;
  logger.info({ server }, `revisions run as Deployments on ${server}`);
  return createKubernetesRuntime({ kubeConfig, logger });
}

/** Pushes of the status to the feed are coalesced over this long (a tick changes many revisions). */
const REPORT_DELAY_MS = 100;

/** Starts the serving data plane and follows its contract: what `eddy serving` runs, as a function. */
export async function runServing(
  options: ServingMainOptions,
  logger: pino.Logger,
  deps: { env?: Readonly<Record<string, string | undefined>>; backlog?: BacklogReaderFactory } = {},
): Promise<RunningServing> {
  const reader =
    options.log === 'kafka' && deps.backlog
      ? deps.backlog.open({
          brokers: options.brokers ?? [],
          kafkaClient: options.kafkaClient ?? '',
          logger,
          env: deps.env ?? {},
        })
      : undefined;
  const registry = processRegistry();
  // Replica output is the services' output: printed whatever the log level, for the supervisor.
  const onReplicaOutput = (line: Parameters<typeof replicaOutputLogLine>[0]) =>
    process.stdout.write(replicaOutputLogLine(line));
  const memberId = options.memberId ?? `serving-${process.pid}`;
  let plane: ServingDataPlane;
  let router: PrimaryRouter | undefined;
  let runtime: WorkloadRuntime | undefined;
  try {
    if (options.runtime === 'kubernetes') runtime = await kubernetesRuntime(options.kubeconfig, logger);
    router = new PrimaryRouter(
      await createRouter({
        host: options.host,
        port: options.port,
        reusePort: options.reusePort,
        logger,
        registry,
        ...(options.tls ? { tls: servingCertificateFromFlags(options.tls, logger) } : {}),
      }),
      { id: memberId, routerTimeoutMs: options.routerTimeoutMs, logger, registry },
    );
    plane = await createServingDataPlane({
      ...(reader ? { backlog: reader } : {}),
      router,
      registry,
      logger,
      tickMs: options.tickMs,
      maxReplicasCap: options.maxReplicasCap,
      onReplicaOutput,
      ...(runtime ? { runtime } : {}),
    });
  } catch (error) {
    await runtime?.close();
    await router?.close();
    await reader?.close();
    throw error;
  }
  const primaryRouter = router;
  let applied: number | undefined;
  let applyError: string | undefined;
  let probes: ProbeServer;
  try {
    probes = await startProbeServer({
      host: options.host,
      port: options.probePort,
      component: 'serving probes',
      logger,
      routes: (app) => primaryRouter.registerRoutes(app, deps.env?.EDDY_CONTRACT_TOKEN || undefined),
      probes: {
        registry,
        health: async () => ({
          ok: true,
          revisions: plane.statuses().length,
          routers: primaryRouter.routers(),
        }),
        ready: () => ({
          ok: applied !== undefined,
          generation: applied ?? null,
          ...(applyError !== undefined ? { error: applyError } : {}),
        }),
      },
    });
  } catch (error) {
    await plane.close();
    await reader?.close();
    throw error;
  }
  logger.info(
    { url: plane.url, probes: probes.url, log: options.log, contract: options.contract },
    `serving listening on ${plane.url} (services at /<namespace>/<name>; /healthz, /readyz, /metrics on ${probes.url}; extra routers: --role router --primary ${probes.url})`,
  );
  const watch = watchContract<ServingContract>({
    source: options.contract,
    member: { id: memberId, component: 'serving' },
    ...(deps.env?.EDDY_CONTRACT_TOKEN ? { token: deps.env.EDDY_CONTRACT_TOKEN } : {}),
    parse: (value) => {
      checkServingContract(value);
      return value;
    },
    apply: async (contract) => {
      try {
        await plane.apply(contract);
        applyError = undefined;
      } catch (error) {
        applyError = (error as Error).message;
        throw error;
      } finally {
        applied = Math.max(applied ?? contract.generation, contract.generation);
        report();
      }
      logger.info(
        { generation: contract.generation },
        `applied serving contract generation ${contract.generation}`,
      );
    },
    logger,
    fileIntervalMs: options.watchIntervalMs,
  });
  let reportTimer: NodeJS.Timeout | undefined;
  function report(): void {
    reportTimer ??= setTimeout(() => {
      reportTimer = undefined;
      watch.report(servingProcessReport(plane));
    }, REPORT_DELAY_MS);
  }
  const unsubscribe = plane.subscribe(report);
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      unsubscribe();
      clearTimeout(reportTimer);
      await watch.stop();
      await plane.close();
      await runtime?.close();
      await reader?.close();
      await probes.close();
    })();
    return stopping;
  };
  await requireFileContract(watch, options.contract, stop);
  return { plane, probes, reload: () => watch.reload(), stop };
}

/**
 * The process: parses `argv`, runs until SIGTERM/SIGINT (drain, exit 0), exits 1 when it cannot
 * start and 2 on a bad command line. `program` names it in the usage text.
 */
export function servingMain(
  argv: string[],
  program = 'eddy serving',
  deps: { backlog?: BacklogReaderFactory } = {},
): Promise<void> {
  return runProcessMain({
    argv,
    program,
    usage: (p) => servingUsage(p, deps.backlog),
    parse: (args, env) => parseServingArgs(args, env, deps.backlog),
    logger: (options) => pino({ level: options.logLevel, base: { pid: process.pid } }),
    name: 'serving',
    start: (options, logger): Promise<RunningServing | RunningServingRouter> =>
      options.role === 'router'
        ? runServingRouter(
            {
              contract: options.contract,
              primary: options.primary ?? '',
              id: options.memberId ?? `router-${process.pid}`,
              host: options.host,
              port: options.port,
              probePort: options.probePort,
              reusePort: options.reusePort,
              pushIntervalMs: options.pushIntervalMs,
              watchIntervalMs: options.watchIntervalMs,
              ...(options.tls ? { tls: options.tls } : {}),
              ...(process.env.EDDY_CONTRACT_TOKEN ? { token: process.env.EDDY_CONTRACT_TOKEN } : {}),
            },
            logger,
          )
        : runServing(options, logger, { env: process.env, ...deps }),
  });
}
