import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_KAFKA_CLIENT, isKafkaClientName, KAFKA_CLIENTS, kafkaSecurityFromEnv } from '@eddy/broker';
import type { Command } from 'commander';
import pino from 'pino';
import { DATA_DIR_ENV, DEFAULT_DATA_DIR } from '../admin/protocol.js';
import { type DevServer, startDevServer } from '../dev/dev-server.js';
import { INGRESS_AUTH_HELP, OIDC_ISSUER_HELP, senderAuthFromFlags } from '../dev/ingress-auth-flags.js';
import type { Output } from '../output.js';
import { EXIT_OK, EXIT_PROBLEMS, UsageError } from '../usage-error.js';
import { collect } from '../verb.js';
import {
  BROKER_TTL_HELP,
  LOG_LEVELS,
  PROGRESS_DEADLINE_HELP,
  parseBrokers,
  parseBrokerTtl,
  parseIntFlag,
  parseLogLevel,
  parsePort,
  parseProgressDeadlineFlag,
} from './flags.js';
import { addIngressLimitFlags, ingressLimitsFromFlags } from './ingress-limit-flags.js';
import { devTlsFromFlags, TRANSPORT_ENCRYPTION } from './tls-flags.js';

export interface DevCommandOptions {
  file: string[];
  kafka?: string;
  dataDir?: string;
  port?: string;
  logLevel?: string;
  sourceAdapter: string[];
  ingresses?: string;
  dispatchers?: string;
  sources?: string;
  routers?: string;
  /** commander's negation of --no-dispatcher-routers. */
  dispatcherRouters?: boolean;
  inProcess?: boolean;
  kafkaClient?: string;
  kubeconfig?: string;
  /** commander's negation of --no-service-output. */
  serviceOutput?: boolean;
  eventtypeAutoCreate?: boolean;
  ingressAuth?: string;
  oidcIssuer?: string[];
  brokerTtl?: string;
  progressDeadline?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  tlsSecret?: string;
  transportEncryption?: string;
}

/**
 * The default ingress and dispatcher processes: half the cores, at least one of each. Kafka and the
 * services' replicas share the machine under `eddy dev`; one of each per core oversubscribed a 2-core
 * host (the Kafka soak: 2+2 saturated both cores at 1,691 ev/s over 30 minutes, 1+1 carried 1,854 ev/s
 * with the machine 172% of 200% busy; bench/RESULTS.md "soak, 2026-12-07 20:53Z").
 */
const HALF_THE_CORES = Math.max(1, Math.floor(availableParallelism() / 2));

/** `--ingresses`/`--dispatchers`/`--sources`/`--routers`: a count from 1 to 64. */
function parseCount(flag: string, text: string | undefined, fallback = HALF_THE_CORES): number {
  return parseIntFlag(flag, text, 1, 64) ?? fallback;
}

/**
 * With Kafka, the broker runs as ingress and dispatcher processes (and serving as an `eddy serving`
 * process) unless --in-process says otherwise.
 */
function brokerProcesses(options: DevCommandOptions, kafka: string[] | undefined) {
  const counts =
    options.ingresses !== undefined || options.dispatchers !== undefined || options.sources !== undefined;
  if (!kafka) {
    if (counts || options.inProcess || options.routers !== undefined || options.dispatcherRouters === false)
      throw new UsageError(
        '--ingresses, --dispatchers, --sources, --routers, --no-dispatcher-routers and --in-process need --kafka (the embedded log has one writer: the eddy dev process)',
      );
    return undefined;
  }
  if (options.inProcess) {
    if (counts)
      throw new UsageError(
        '--in-process runs no broker or sources processes: drop --ingresses/--dispatchers/--sources',
      );
    if (options.routers !== undefined)
      throw new UsageError('--in-process runs serving inside eddy dev, with one router: drop --routers');
    if (options.dispatcherRouters === false)
      throw new UsageError('--in-process runs no dispatcher processes: drop --no-dispatcher-routers');
    return undefined;
  }
  return {
    ingresses: parseCount('--ingresses', options.ingresses),
    dispatchers: parseCount('--dispatchers', options.dispatchers),
    // One by default: a once-placed source (PingSource...) runs on one of them anyway.
    sources: parseCount('--sources', options.sources, 1),
  };
}

/** Resolves once the server stopped after SIGINT/SIGTERM; a second signal exits at once. */
function untilSignal(server: DevServer, output: Output): Promise<void> {
  return new Promise((done) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        output.err(`eddy dev: ${signal} again, exiting without a clean shutdown`);
        process.exit(130);
      }
      stopping = true;
      output.out(
        `eddy dev: ${signal}, shutting down (stopping sources, draining the broker, stopping services; ${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to force)`,
      );
      server.close().then(
        () => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          output.out('eddy dev: stopped');
          done();
        },
        (error: unknown) => {
          output.err(`eddy dev: shutdown failed: ${(error as Error).message}`);
          done();
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function runDev(options: DevCommandOptions, output: Output): Promise<number> {
  const port = parsePort(options.port);
  const kafka = parseBrokers(options.kafka);
  const processes = brokerProcesses(options, kafka);
  // Routers on the router port: the serving process's own and --routers - 1 `eddy serving --role router`.
  const routers = processes ? parseCount('--routers', options.routers, 1) : undefined;
  const kafkaClient = options.kafkaClient;
  if (kafkaClient !== undefined) {
    if (!kafka) throw new UsageError('--kafka-client needs --kafka');
    if (!isKafkaClientName(kafkaClient))
      throw new UsageError(
        `--kafka-client must be ${KAFKA_CLIENTS.map((c) => `"${c}"`).join(' or ')}, got "${kafkaClient}"`,
      );
  }
  const level = parseLogLevel(options.logLevel, 'error');
  const brokerTtl = parseBrokerTtl(options.brokerTtl);
  const progressDeadlineMs = parseProgressDeadlineFlag(options.progressDeadline);
  // A typo in -f would otherwise start an empty mesh; a path that goes away later is handled live.
  for (const f of options.file) if (!existsSync(f)) throw new UsageError(`no such file or directory: ${f}`);
  // Absolute, so `eddy sources` processes find it whatever their working directory.
  const kubeconfig = options.kubeconfig === undefined ? undefined : resolve(options.kubeconfig);
  if (kubeconfig !== undefined && !existsSync(kubeconfig))
    throw new UsageError(`--kubeconfig: no such file: ${options.kubeconfig}`);
  const dataDir = options.dataDir ?? process.env[DATA_DIR_ENV] ?? DEFAULT_DATA_DIR;
  const senderAuth = senderAuthFromFlags(options);
  const ingressLimits = ingressLimitsFromFlags(options);
  const tls = await devTlsFromFlags(options, options.file);
  if (tls && processes && (!tls.files || tls.mode === 'permissive'))
    throw new UsageError(
      '--kafka without --in-process runs the ingress, serving and sources as processes: they take --tls-cert/--tls-key files in strict mode (not --tls-secret, not permissive)',
    );
  let server: DevServer;
  try {
    server = await startDevServer({
      files: options.file,
      dataDir,
      // The broker and serving processes it starts inherit the same EDDY_KAFKA_* variables.
      ...(kafka ? { kafka, kafkaSecurity: kafkaSecurityFromEnv(process.env) } : {}),
      // Serving and the sources run as processes whenever the broker does (each dispatcher runs a
      // router of its own for its deliveries); --in-process keeps all of them here.
      ...(processes
        ? {
            brokerProcesses: { ingresses: processes.ingresses, dispatchers: processes.dispatchers },
            servingProcess: true,
            servingRouters: routers,
            dispatcherRouters: options.dispatcherRouters !== false,
            sourcesProcess: { members: processes.sources },
          }
        : {}),
      ...(kafkaClient !== undefined && isKafkaClientName(kafkaClient) ? { kafkaClient } : {}),
      port,
      sourceAdapters: options.sourceAdapter,
      ...(kubeconfig !== undefined ? { kubeconfig } : {}),
      ...(options.eventtypeAutoCreate ? { eventTypeAutoCreate: true } : {}),
      ...(senderAuth ? { senderAuth } : {}),
      ...(brokerTtl !== undefined ? { brokerTtl } : {}),
      ...(progressDeadlineMs !== undefined ? { progressDeadlineMs } : {}),
      ...(tls ? { tls } : {}),
      ingressLimits,
      logger: pino({ level, base: { pid: process.pid } }, pino.destination(2)),
      print: (line) => output.out(line),
      // Like `docker compose up`: what the services print is what a newcomer wants to watch.
      ...(options.serviceOutput === false
        ? {}
        : { serviceOutput: ({ revision, line }) => output.out(`${revision} | ${line}`) }),
    });
  } catch (error) {
    output.err(`eddy dev: ${(error as Error).message}`);
    return EXIT_PROBLEMS;
  }
  await untilSignal(server, output);
  // Anything a library left open (sockets in TIME_WAIT, timers) must not keep a stopped server alive.
  setTimeout(() => process.exit(process.exitCode ?? EXIT_OK), 3000).unref();
  return EXIT_OK;
}

export function registerDev(program: Command, output: Output, setExit: (code: number) => void): void {
  const command = program
    .command('dev')
    .description(
      'run Eddy locally: control plane, broker, sources and services in one process, applying the watched manifests live',
    )
    .option(
      '-f, --file <file|dir>',
      'manifests to apply and watch: a file or a directory (repeatable)',
      collect,
      [],
    )
    .option('--kafka <brokers>', 'use this Kafka cluster (host:port,...) instead of the embedded event log')
    .option(
      '--ingresses <n>',
      'with --kafka: broker ingress processes sharing the port (default half the cores, at least 1)',
    )
    .option(
      '--dispatchers <n>',
      "with --kafka: dispatcher processes sharing the Triggers' consumer groups (default half the cores, at least 1)",
    )
    .option(
      '--sources <n>',
      'with --kafka: `eddy sources` processes sharing the sources (SQS, Kafka, Pub/Sub sources run in each, every other source in one of them; default 1)',
    )
    .option(
      '--routers <n>',
      'with --kafka: serving routers sharing the router port, the serving process and n-1 `eddy serving --role router` (default 1)',
    )
    .option(
      '--no-dispatcher-routers',
      "with --kafka: dispatchers send to Services through the router port's routers instead of a router of their own (by default each dispatcher process runs one and hands it its deliveries in process)",
    )
    .option(
      '--in-process',
      'with --kafka: run the broker, serving and the sources inside the eddy dev process instead of as processes',
    )
    .option(
      '--kafka-client <name>',
      `with --kafka: the Kafka client library, ${KAFKA_CLIENTS.join(' or ')} (default ${DEFAULT_KAFKA_CLIENT})`,
    )
    .option(
      '--data-dir <dir>',
      `state, embedded event log and admin.json (default $${DATA_DIR_ENV} or ${DEFAULT_DATA_DIR}/)`,
    )
    .option(
      '--port <n>',
      'broker ingress port (0 = any free port); the router takes the next free one',
      '8080',
    )
    .option(
      '--source-adapter <package|path>',
      'load a third-party source adapter package (repeatable); its kinds then run like the built-ins',
      collect,
      [],
    )
    .option(
      '--kubeconfig <file>',
      'the Kubernetes cluster ApiServerSources watch (default $KUBECONFIG; without either they are not Ready)',
    )
    .option(
      '--eventtype-auto-create',
      "create an EventType for every new (type, source) a Broker or channel receives, as Knative's eventtype-auto-create feature (also on with `eventtype-auto-create: enabled` in ConfigMap knative-eventing/config-features)",
    )
    .option('--ingress-auth <mode>', INGRESS_AUTH_HELP)
    .option('--oidc-issuer <url>', OIDC_ISSUER_HELP, collect, [])
    .option('--progress-deadline <duration>', PROGRESS_DEADLINE_HELP)
    .option('--broker-ttl <n>', BROKER_TTL_HELP);
  addIngressLimitFlags(command)
    .option(
      '--tls-cert <file>',
      'serve the ingress and the router over HTTPS with this PEM certificate (reloaded when it changes)',
    )
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--tls-ca <file>',
      "the PEM CA that signed --tls-cert: the https addresses' CACerts (default the certificate itself)",
    )
    .option(
      '--tls-secret <namespace/name>',
      'instead of --tls-cert/--tls-key: a kubernetes.io/tls Secret (tls.crt, tls.key, ca.crt) in the -f manifests',
    )
    .option(
      '--transport-encryption <mode>',
      `Knative's transport-encryption: ${TRANSPORT_ENCRYPTION.join(', ')} (default strict with a certificate: HTTPS only; permissive adds a plain-HTTP ingress port)`,
    )
    .option('--no-service-output', "do not print the services' output (`<revision> | <line>`) on stdout")
    .option('--log-level <level>', `component logs (pino JSON) on stderr: ${LOG_LEVELS.join(', ')}`, 'error')
    .action(async (opts: DevCommandOptions) => {
      setExit(await runDev(opts, output));
    });
}
