#!/usr/bin/env node

// The broker data plane as a process: the entry point a deployment runs, as a whole (`--component
// all`) or as one of its halves (`ingress`, `dispatcher`: on Kafka, run as many of each as the load
// needs; `eddy ingress` and `eddy dispatcher` are this), driven by the control plane's contract.
//
//   node packages/broker/dist/data-plane/main.js --contract contract.json --log embedded --data-dir ./data
//   node packages/broker/dist/data-plane/main.js --component dispatcher --contract http://control:9000/v1/contract/broker --log kafka --brokers kafka:9092
//   ... --log kafka --brokers kafka:9092 --kafka-client platformatic   (the @platformatic/kafka client)
//
// Contract: every option is a flag or its environment variable (OPTIONS below; the flag wins). One
// HTTP port serves the ingress (brokers /<ns>/<name>, channels /channels/<ns>/<name>) and GET
// /healthz, /readyz, /metrics (a dispatcher serves only those). Logs are pino JSON lines on stdout;
// the first one says where it listens (`url`). The contract is a file (re-read on SIGHUP and when it
// changes, polled so atomic renames count) or the control plane's feed URL (long-polled; the token,
// if any, in EDDY_CONTRACT_TOKEN). A contract whose generation is not newer is ignored, a broken one
// is logged and the running one stays.
// SIGTERM/SIGINT drain: the ingress stops, finished deliveries are committed, deliveries in flight are
// left for the next run, the log is closed, exit 0. Exit 1: could not start; exit 2: bad options.

import { fileURLToPath } from 'node:url';
import type { DataPlaneContract } from '@eddy/api';
import {
  type FlagSpec,
  type InProcessOrigins,
  isEntryPoint,
  issuerFromEnv,
  issuerTokens,
  isUrlSource,
  parseFlags,
  processRegistry,
  readContractFile as readCheckedContractFile,
  runProcessMain,
  servingCertificateFromFlags,
  TLS_FLAGS,
  tlsFlagFiles,
  UsageError,
  usageText,
  watchContract,
} from '@eddy/runtime';
import pino from 'pino';
import { openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import {
  DEFAULT_KAFKA_CLIENT,
  KAFKA_CLIENTS,
  type KafkaClientName,
  openKafkaEventLog,
} from '../eventlog/kafka-client.js';
import { kafkaSecurityFromEnv } from '../eventlog/kafka-common/kafka-security.js';
import { reportDataPlaneStatus } from '../ingress/event-type-recorder.js';
import {
  INGRESS_LIMIT_FLAG_SPECS,
  type IngressLimits,
  ingressLimitsFrom,
} from '../ingress/ingress-limits.js';
import {
  type BrokerDataPlane,
  checkContract,
  createBrokerDataPlane,
  type DataPlaneComponent,
} from './data-plane.js';

export { UsageError };

/** The command line, each flag with its environment variable (`--data-dir` = EDDY_BROKER_DATA_DIR). */
const OPTIONS = {
  contract: {
    value: '<file|url>',
    help: 'the DataPlaneContract: a file, or the control plane feed URL (required)',
  },
  component: { value: 'all|ingress|dispatcher', help: 'what this process runs (default all)' },
  'member-id': {
    value: '<id>',
    help: 'how this process names itself to the feed (default <component>-<pid>)',
  },
  'reuse-port': {
    value: 'true|false',
    help: 'share the port with other processes (SO_REUSEPORT; default false)',
  },
  log: { value: 'embedded|kafka', help: 'the event log (default embedded)' },
  'data-dir': { value: '<dir>', help: "the embedded log's directory (required with --log embedded)" },
  brokers: { value: '<host:port,...>', help: 'Kafka bootstrap brokers (required with --log kafka)' },
  'kafka-client': {
    value: KAFKA_CLIENTS.join('|'),
    help: `the Kafka client of --log kafka (default ${DEFAULT_KAFKA_CLIENT})`,
  },
  'kafka-shared-readers': {
    value: 'true|false',
    help: "the dispatcher's Triggers read through one shared reader per broker topic, each keeping its own consumer group's offsets (platformatic client only; for thousands of Triggers; default false)",
  },
  host: { value: '<address>', help: 'listen address (default 127.0.0.1)' },
  port: { value: '<port>', help: 'listen port (default 0: a free one, logged)' },
  'log-level': { value: '<level>', help: 'pino level (default info)' },
  'retry-state-topic': { value: '<name>', help: "the dispatcher's retry-state topic" },
  'kafka-session-timeout-ms': { value: '<ms>', help: 'Kafka consumer session (heartbeat = 1/5 of it)' },
  'watch-interval-ms': { value: '<ms>', help: 'how often the contract file is polled (default 500)' },
  ...INGRESS_LIMIT_FLAG_SPECS,
  ...TLS_FLAGS,
} as const satisfies Record<string, FlagSpec>;

/** `--data-dir` -> `EDDY_BROKER_DATA_DIR`. */
export const envName = (option: string): string => `EDDY_BROKER_${option.toUpperCase().replaceAll('-', '_')}`;

/** The usage text; `program` is how the user ran it (`main.js`, `eddy dispatcher`). */
export function usage(program = 'main.js'): string {
  return usageText(
    `${program} --contract <file|url> [--component all|ingress|dispatcher] (--log embedded --data-dir <dir> | --log kafka --brokers <host:port,...>) [options]`,
    OPTIONS,
    envName,
  );
}

export interface MainOptions {
  contract: string;
  component: DataPlaneComponent;
  memberId: string | undefined;
  reusePort: boolean;
  log: 'embedded' | 'kafka';
  dataDir?: string;
  brokers?: string[];
  kafkaClient: KafkaClientName;
  kafkaSharedReaders: boolean;
  host: string;
  port: number;
  logLevel: string;
  retryStateTopic?: string;
  kafkaSessionTimeoutMs?: number;
  watchIntervalMs: number;
  /** The ingress's request limits given (`--ingress-max-body-bytes`...); the others keep their defaults. */
  limits: IngressLimits;
  /** The ingress serves HTTPS with these files (`--tls-cert`, `--tls-key`). */
  tls?: { cert: string; key: string };
}

/**
 * Parses the command line, taking an option the flags leave out from its environment variable
 * (`env`, e.g. process.env; default none). Throws UsageError naming the bad flag or variable.
 */
export function parseMainArgs(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = {},
): MainOptions {
  const flags = parseFlags(argv, OPTIONS, env, envName);
  const contract = flags.read('contract');
  if (!contract) throw new UsageError(`--contract <file|url> (or ${envName('contract')}) is required`);
  const component = flags.choice('component', ['all', 'ingress', 'dispatcher'] as const) ?? 'all';
  const reusePort = flags.choice('reuse-port', ['true', 'false'] as const) === 'true';
  const log = flags.choice('log', ['embedded', 'kafka'] as const) ?? 'embedded';
  const dataDir = flags.text('data-dir');
  if (log === 'embedded' && !dataDir)
    throw new UsageError(`--log embedded needs --data-dir <dir> (or ${envName('data-dir')})`);
  const brokers = flags.hostPorts('brokers');
  if (log === 'kafka' && !brokers)
    throw new UsageError(`--log kafka needs --brokers <host:port,...> (or ${envName('brokers')})`);
  const kafkaClient: KafkaClientName = flags.choice('kafka-client', KAFKA_CLIENTS) ?? DEFAULT_KAFKA_CLIENT;
  const kafkaSharedReaders = flags.choice('kafka-shared-readers', ['true', 'false'] as const) === 'true';
  if (kafkaSharedReaders && kafkaClient !== 'platformatic')
    throw new UsageError('--kafka-shared-readers needs --kafka-client platformatic');
  return {
    contract: contract.text,
    component,
    memberId: flags.text('member-id'),
    reusePort,
    log,
    dataDir,
    brokers,
    kafkaClient,
    kafkaSharedReaders,
    host: flags.text('host') ?? '127.0.0.1',
    port: flags.int('port', 0, 65535) ?? 0,
    logLevel: flags.text('log-level') ?? 'info',
    retryStateTopic: flags.text('retry-state-topic'),
    kafkaSessionTimeoutMs: flags.int('kafka-session-timeout-ms', 1000, 3_600_000),
    watchIntervalMs: flags.int('watch-interval-ms', 50, 60_000) ?? 500,
    limits: ingressLimitsFrom((spec) => flags.int(spec.flag, spec.min, spec.max)),
    ...tlsFlagFiles(flags.text('tls-cert'), flags.text('tls-key')),
  };
}

/** Reads and shape-checks a contract file; errors name the file. */
export async function readContractFile(file: string): Promise<DataPlaneContract> {
  return (await readCheckedContractFile(file, checkContract)) as DataPlaneContract;
}

export interface RunningDataPlane {
  dataPlane: BrokerDataPlane;
  /** Re-reads a contract file and applies it if newer (a feed URL is always current). Never rejects. */
  reload(): Promise<void>;
  /** Stops following the contract, drains the data plane and closes the log. */
  stop(): Promise<void>;
}

/** packages/broker/dist/data-plane/main.js, from the sources too: what a supervisor spawns. */
export const DATA_PLANE_MAIN = fileURLToPath(new URL('../../dist/data-plane/main.js', import.meta.url));

/** What a process that composes the data plane with other components gives it. */
export interface DataPlaneExtras {
  /** Origins served in this process (a serving router beside the dispatcher): deliveries skip the socket. */
  inProcess?: InProcessOrigins;
}

/** Starts the data plane and follows its contract: what this entry point runs, as a function. */
export async function runDataPlane(
  options: MainOptions,
  logger: pino.Logger,
  env: Readonly<Record<string, string | undefined>> = {},
  extras: DataPlaneExtras = {},
): Promise<RunningDataPlane> {
  // A file must be readable at start (a typo should not give a process that waits forever); a feed
  // may come up after its processes, which wait (not ready) until it answers.
  if (!isUrlSource(options.contract)) await readContractFile(options.contract);
  const log: EventLog =
    options.log === 'kafka'
      ? openKafkaEventLog({
          client: options.kafkaClient,
          sharedReaders: options.kafkaSharedReaders,
          brokers: options.brokers ?? [],
          security: kafkaSecurityFromEnv(env),
          logger,
          ...(options.kafkaSessionTimeoutMs !== undefined
            ? {
                sessionTimeoutMs: options.kafkaSessionTimeoutMs,
                heartbeatIntervalMs: Math.max(100, Math.floor(options.kafkaSessionTimeoutMs / 5)),
              }
            : {}),
        })
      : await openEmbeddedEventLog({ dataDir: options.dataDir ?? '' });
  const registry = processRegistry();
  let dataPlane: BrokerDataPlane;
  try {
    // The parent's signing key and issuer URL (EDDY_OIDC_*): deliveries with an audience carry its tokens.
    const issuer = await issuerFromEnv(env);
    dataPlane = await createBrokerDataPlane({
      component: options.component,
      log,
      logger,
      registry,
      ingress: {
        host: options.host,
        port: options.port,
        reusePort: options.reusePort,
        kafkaSinkClient: options.kafkaClient,
        ...options.limits,
        ...(options.tls ? { tls: servingCertificateFromFlags(options.tls, logger) } : {}),
      },
      dispatcher: { retryStateTopic: options.retryStateTopic },
      deliverer: {
        ...(issuer ? { tokens: issuerTokens(issuer) } : {}),
        ...(extras.inProcess ? { inProcess: extras.inProcess } : {}),
      },
    });
  } catch (error) {
    await log.close();
    throw error;
  }
  const serves =
    options.component === 'dispatcher'
      ? '/healthz, /readyz, /metrics'
      : 'brokers /<ns>/<name>, channels /channels/<ns>/<name>, KafkaSinks /kafkasinks/<ns>/<name>, /healthz, /readyz, /metrics';
  logger.info(
    {
      url: dataPlane.url,
      component: options.component,
      healthz: `${dataPlane.url}/healthz`,
      metrics: `${dataPlane.url}/metrics`,
      log: options.log === 'kafka' ? `kafka (${options.kafkaClient})` : options.log,
      contract: options.contract,
    },
    `${options.component === 'all' ? 'data plane' : options.component} listening on ${dataPlane.url} (${serves})`,
  );
  const watch = watchContract<DataPlaneContract>({
    source: options.contract,
    member: { id: options.memberId ?? `${options.component}-${process.pid}`, component: options.component },
    ...(env.EDDY_CONTRACT_TOKEN ? { token: env.EDDY_CONTRACT_TOKEN } : {}),
    parse: (value) => {
      checkContract(value);
      return value;
    },
    apply: async (contract) => {
      await dataPlane.apply(contract);
    },
    logger,
    fileIntervalMs: options.watchIntervalMs,
  });
  if (!isUrlSource(options.contract)) await watch.first;
  // The kinds of events this ingress accepted, and the counters a control plane shows as rates,
  // travel to the control plane in its feed status (one report: each replaces the last).
  const stopReports = reportDataPlaneStatus({
    ...(options.component === 'dispatcher'
      ? {}
      : { observedEventTypes: () => dataPlane.observedEventTypes() }),
    registry,
    report: (status) => watch.report(status),
  });
  let stopping: Promise<void> | undefined;
  return {
    dataPlane,
    reload: () => watch.reload(),
    stop() {
      stopping ??= (async () => {
        stopReports();
        await watch.stop();
        await dataPlane.close();
        await log.close();
      })();
      return stopping;
    },
  };
}

/**
 * The process: parses `argv`, runs until SIGTERM/SIGINT (drain, exit 0), exits 1 when it cannot
 * start and 2 on a bad command line. `program` names it in the usage text.
 */
export function dataPlaneMain(argv: string[], program = 'main.js'): Promise<void> {
  return runProcessMain({
    argv,
    program,
    usage,
    parse: parseMainArgs,
    logger: (options) => pino({ level: options.logLevel, base: { pid: process.pid } }),
    name: 'data plane',
    start: (options, logger) => runDataPlane(options, logger, process.env),
  });
}

// Run only as the entry point, so runDataPlane can be imported.
if (isEntryPoint(import.meta.url)) void dataPlaneMain(process.argv.slice(2));
