#!/usr/bin/env node

// The broker data plane as a process, run from a contract JSON file:
//
//   node packages/broker/dist/data-plane/main.js --contract contract.json --log embedded --data-dir ./data
//   node packages/broker/dist/data-plane/main.js --contract contract.json --log kafka --brokers 127.0.0.1:9092 --port 8080
//
// The file is re-read on SIGHUP and when it changes (polled, so editors' atomic renames count);
// a contract whose generation is not newer is ignored. SIGTERM/SIGINT drain: the ingress stops,
// finished deliveries are committed, deliveries in flight are left for the next run. Logs are
// pino JSON lines on stdout; the first `msg` containing "listening on" carries `url`.

import { realpathSync, unwatchFile, watchFile } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import { createKafkaEventLog } from '../eventlog/kafka/kafka-event-log.js';
import { type BrokerDataPlane, checkContract, createBrokerDataPlane } from './data-plane.js';

const USAGE = `usage: main.js --contract <file.json> (--log embedded --data-dir <dir> | --log kafka --brokers <host:port,...>)
  [--host 127.0.0.1] [--port 0] [--log-level info] [--retry-state-topic <name>]
  [--kafka-session-timeout-ms <ms>] [--watch-interval-ms 500]`;

export interface MainOptions {
  contract: string;
  log: 'embedded' | 'kafka';
  dataDir?: string;
  brokers?: string[];
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

/** Parses the command line; throws UsageError naming the bad option. */
export function parseMainArgs(argv: string[]): MainOptions {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        contract: { type: 'string' },
        log: { type: 'string' },
        'data-dir': { type: 'string' },
        brokers: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'log-level': { type: 'string' },
        'retry-state-topic': { type: 'string' },
        'kafka-session-timeout-ms': { type: 'string' },
        'watch-interval-ms': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }) as { values: Record<string, string | undefined> });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (!values.contract) throw new UsageError('--contract <file.json> is required');
  const log = values.log ?? 'embedded';
  if (log !== 'embedded' && log !== 'kafka') {
    throw new UsageError(`--log must be "embedded" or "kafka", got "${log}"`);
  }
  if (log === 'embedded' && !values['data-dir'])
    throw new UsageError('--log embedded needs --data-dir <dir>');
  const brokers = values.brokers
    ?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  if (log === 'kafka') {
    if (!brokers?.length) throw new UsageError('--log kafka needs --brokers <host:port,...>');
    for (const b of brokers)
      if (!/^[^:\s]+:\d+$/.test(b)) throw new UsageError(`--brokers: "${b}" is not host:port`);
  }
  const int = (name: string, min: number, max: number): number | undefined => {
    const text = values[name];
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${text}"`);
    }
    return n;
  };
  return {
    contract: values.contract,
    log,
    dataDir: values['data-dir'],
    brokers,
    host: values.host ?? '127.0.0.1',
    port: int('port', 0, 65535) ?? 0,
    logLevel: values['log-level'] ?? 'info',
    retryStateTopic: values['retry-state-topic'],
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

/** Starts the data plane from a contract file (used by this entry and embeddable by `eddy dev`). */
export async function runDataPlane(options: MainOptions, logger: pino.Logger): Promise<RunningDataPlane> {
  const first = await readContractFile(options.contract);
  const log: EventLog =
    options.log === 'kafka'
      ? createKafkaEventLog({
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
    { url: dataPlane.url, log: options.log, contract: options.contract },
    `data plane listening on ${dataPlane.url}`,
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
  let options: MainOptions;
  try {
    options = parseMainArgs(argv);
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

// Run only as the entry point, so `eddy dev` can import runDataPlane.
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
