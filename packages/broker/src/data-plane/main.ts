#!/usr/bin/env node

// The broker data plane as a process: the entry point a deployment runs (one per broker data plane),
// driven by a contract file the control plane writes.
//
//   node packages/broker/dist/data-plane/main.js --contract contract.json --log embedded --data-dir ./data
//   node packages/broker/dist/data-plane/main.js --contract contract.json --log kafka --brokers kafka:9092 --port 8080
//   ... --log kafka --brokers kafka:9092 --kafka-client platformatic   (the @platformatic/kafka client)
//
// Contract: every option is a flag or its environment variable (OPTIONS below; the flag wins). One
// HTTP port serves the ingress (brokers /<ns>/<name>, channels /channels/<ns>/<name>), GET /healthz
// and GET /metrics. Logs are pino JSON lines on stdout; the first one says where it listens (`url`).
// The contract file is re-read on SIGHUP and when it changes (polled, so atomic renames count); a
// contract whose generation is not newer is ignored, a broken one is logged and the running one stays.
// SIGTERM/SIGINT drain: the ingress stops, finished deliveries are committed, deliveries in flight are
// left for the next run, the log is closed, exit 0. Exit 1: could not start; exit 2: bad options.

import { realpathSync, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import {
  DEFAULT_KAFKA_CLIENT,
  isKafkaClientName,
  KAFKA_CLIENTS,
  type KafkaClientName,
  openKafkaEventLog,
} from '../eventlog/kafka-client.js';
import { type BrokerDataPlane, checkContract, createBrokerDataPlane } from './data-plane.js';

/** The command line, each flag with its environment variable (`--data-dir` = EDDY_BROKER_DATA_DIR). */
const OPTIONS = {
  contract: { value: '<file.json>', help: 'the DataPlaneContract to run (required)' },
  log: { value: 'embedded|kafka', help: 'the event log (default embedded)' },
  'data-dir': { value: '<dir>', help: "the embedded log's directory (required with --log embedded)" },
  brokers: { value: '<host:port,...>', help: 'Kafka bootstrap brokers (required with --log kafka)' },
  'kafka-client': {
    value: KAFKA_CLIENTS.join('|'),
    help: `the Kafka client of --log kafka (default ${DEFAULT_KAFKA_CLIENT})`,
  },
  host: { value: '<address>', help: 'listen address (default 127.0.0.1)' },
  port: { value: '<port>', help: 'listen port (default 0: a free one, logged)' },
  'log-level': { value: '<level>', help: 'pino level (default info)' },
  'retry-state-topic': { value: '<name>', help: "the dispatcher's retry-state topic" },
  'kafka-session-timeout-ms': { value: '<ms>', help: 'Kafka consumer session (heartbeat = 1/5 of it)' },
  'watch-interval-ms': { value: '<ms>', help: 'how often the contract file is polled (default 500)' },
} as const;
type OptionName = keyof typeof OPTIONS;

/** `--data-dir` -> `EDDY_BROKER_DATA_DIR`. */
export const envName = (option: string) => `EDDY_BROKER_${option.toUpperCase().replaceAll('-', '_')}`;

export const USAGE = [
  'usage: main.js --contract <file.json> (--log embedded --data-dir <dir> | --log kafka --brokers <host:port,...>) [options]',
  ...Object.entries(OPTIONS).map(
    ([name, o]) => `  ${`--${name} ${o.value}`.padEnd(34)} ${envName(name).padEnd(38)} ${o.help}`,
  ),
  `  ${'--help'.padEnd(34)} ${''.padEnd(38)} this text`,
].join('\n');

export interface MainOptions {
  contract: string;
  log: 'embedded' | 'kafka';
  dataDir?: string;
  brokers?: string[];
  kafkaClient: KafkaClientName;
  host: string;
  port: number;
  logLevel: string;
  retryStateTopic?: string;
  kafkaSessionTimeoutMs?: number;
  watchIntervalMs: number;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Parses the command line, taking an option the flags leave out from its environment variable
 * (`env`, e.g. process.env; default none). Throws UsageError naming the bad flag or variable.
 */
export function parseMainArgs(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = {},
): MainOptions {
  let flags: Record<string, string | undefined>;
  try {
    ({ values: flags } = parseArgs({
      args: argv,
      options: Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: 'string' }])),
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  /** The value and how to name it in a message. */
  const read = (name: OptionName): { text: string; source: string } | undefined => {
    const flag = flags[name];
    if (flag !== undefined) return { text: flag, source: `--${name}` };
    const fromEnv = env[envName(name)];
    return fromEnv === undefined || fromEnv === '' ? undefined : { text: fromEnv, source: envName(name) };
  };
  const contract = read('contract');
  if (!contract) throw new UsageError(`--contract <file.json> (or ${envName('contract')}) is required`);
  const logOption = read('log');
  const log = logOption?.text ?? 'embedded';
  if (log !== 'embedded' && log !== 'kafka') {
    throw new UsageError(`${logOption?.source} must be "embedded" or "kafka", got "${log}"`);
  }
  const dataDir = read('data-dir')?.text;
  if (log === 'embedded' && !dataDir)
    throw new UsageError(`--log embedded needs --data-dir <dir> (or ${envName('data-dir')})`);
  const brokersOption = read('brokers');
  const brokers = brokersOption?.text
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (log === 'kafka') {
    if (!brokers?.length)
      throw new UsageError(`--log kafka needs --brokers <host:port,...> (or ${envName('brokers')})`);
    for (const b of brokers)
      if (!/^[^:\s]+:\d+$/.test(b)) throw new UsageError(`${brokersOption?.source}: "${b}" is not host:port`);
  }
  const clientOption = read('kafka-client');
  const kafkaClient = clientOption?.text ?? DEFAULT_KAFKA_CLIENT;
  if (!isKafkaClientName(kafkaClient)) {
    throw new UsageError(
      `${clientOption?.source} must be ${KAFKA_CLIENTS.map((c) => `"${c}"`).join(' or ')}, got "${kafkaClient}"`,
    );
  }
  const int = (name: OptionName, min: number, max: number): number | undefined => {
    const option = read(name);
    if (option === undefined) return undefined;
    const n = Number(option.text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`${option.source} must be an integer from ${min} to ${max}, got "${option.text}"`);
    }
    return n;
  };
  return {
    contract: contract.text,
    log,
    dataDir,
    brokers,
    kafkaClient,
    host: read('host')?.text ?? '127.0.0.1',
    port: int('port', 0, 65535) ?? 0,
    logLevel: read('log-level')?.text ?? 'info',
    retryStateTopic: read('retry-state-topic')?.text,
    kafkaSessionTimeoutMs: int('kafka-session-timeout-ms', 1000, 3_600_000),
    watchIntervalMs: int('watch-interval-ms', 50, 60_000) ?? 500,
  };
}

/** Reads and shape-checks a contract file; errors name the file. */
export async function readContractFile(file: string) {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read contract file ${file}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`contract file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  try {
    checkContract(value);
  } catch (error) {
    throw new Error(`contract file ${file}: ${(error as Error).message}`);
  }
  return value;
}

export interface RunningDataPlane {
  dataPlane: BrokerDataPlane;
  /** Re-reads the contract file and applies it if newer. Never rejects (errors are logged). */
  reload(): Promise<void>;
  /** Drains the data plane and closes the log. */
  stop(): Promise<void>;
}

/** Starts the data plane from a contract file: what this entry point runs, as a function. */
export async function runDataPlane(options: MainOptions, logger: pino.Logger): Promise<RunningDataPlane> {
  const first = await readContractFile(options.contract);
  const log: EventLog =
    options.log === 'kafka'
      ? openKafkaEventLog({
          client: options.kafkaClient,
          brokers: options.brokers ?? [],
          logger,
          ...(options.kafkaSessionTimeoutMs !== undefined
            ? {
                sessionTimeoutMs: options.kafkaSessionTimeoutMs,
                heartbeatIntervalMs: Math.max(100, Math.floor(options.kafkaSessionTimeoutMs / 5)),
              }
            : {}),
        })
      : await openEmbeddedEventLog({ dataDir: options.dataDir ?? '' });
  let dataPlane: BrokerDataPlane;
  try {
    dataPlane = await createBrokerDataPlane({
      log,
      logger,
      ingress: { host: options.host, port: options.port },
      dispatcher: { retryStateTopic: options.retryStateTopic },
    });
  } catch (error) {
    await log.close();
    throw error;
  }
  logger.info(
    {
      url: dataPlane.url,
      healthz: `${dataPlane.url}/healthz`,
      metrics: `${dataPlane.url}/metrics`,
      log: options.log === 'kafka' ? `kafka (${options.kafkaClient})` : options.log,
      contract: options.contract,
    },
    `data plane listening on ${dataPlane.url} (brokers /<ns>/<name>, channels /channels/<ns>/<name>, /healthz, /metrics)`,
  );

  const apply = async (contract: Awaited<ReturnType<typeof readContractFile>>) => {
    try {
      await dataPlane.apply(contract);
    } catch (error) {
      logger.error(
        { err: error, generation: contract.generation },
        `data plane: ${(error as Error).message}`,
      );
    }
  };
  let reloading: Promise<void> = Promise.resolve();
  const reload = (): Promise<void> => {
    reloading = reloading.then(async () => {
      try {
        await apply(await readContractFile(options.contract));
      } catch (error) {
        logger.error({ err: error }, (error as Error).message);
      }
    });
    return reloading;
  };
  await apply(first);
  const onChange = () => void reload();
  watchFile(options.contract, { interval: options.watchIntervalMs, persistent: false }, onChange);
  let stopping: Promise<void> | undefined;
  return {
    dataPlane,
    reload,
    stop() {
      stopping ??= (async () => {
        unwatchFile(options.contract, onChange);
        await reloading;
        await dataPlane.close();
        await log.close();
      })();
      return stopping;
    },
  };
}

async function main(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  let options: MainOptions;
  try {
    options = parseMainArgs(argv, process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const logger = pino({ level: options.logLevel, base: { pid: process.pid } });
  let running: RunningDataPlane;
  try {
    running = await runDataPlane(options, logger);
  } catch (error) {
    logger.fatal({ err: error }, `data plane failed to start: ${(error as Error).message}`);
    process.exit(1);
  }
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: re-reading the contract');
    void running.reload();
  });
  // once: a second SIGTERM/SIGINT while draining ends the process at once (Node's default).
  const shutdown = (signal: string) => {
    logger.info(`${signal}: draining`);
    running.stop().then(
      () => {
        logger.info('data plane stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'data plane did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

// Run only as the entry point, so runDataPlane can be imported.
if (isEntryPoint()) void main(process.argv.slice(2));

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false; // argv[1] is not a file (a REPL, an eval, a bundler's virtual path)
  }
}
