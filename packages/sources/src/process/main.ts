#!/usr/bin/env node

// The sources component as a process: every source adapter of the control plane's sources contract
// (contract.ts), run by a SourceRunner. `eddy sources` is this; `eddy dev --kafka` supervises one, or
// N with `--sources N`.
//
//   node packages/sources/dist/process/main.js --contract sources.json
//   node packages/sources/dist/process/main.js --contract http://control:9000/v1/contract/sources --member-id sources-1
//   node packages/sources/dist/process/main.js --contract sources.json --shard 1/3
//
// Scaling out: N processes follow one contract, each with its `--shard i/N` (i = 0..N-1, like a
// StatefulSet ordinal). A kind placed on every member (SourceAdapter.placement: SQS, Kafka, Pub/Sub,
// competing consumers of their upstream) runs in each; any other source runs in exactly one, chosen
// by hashing its key (../control/placement.ts), so the others do not run it. Each reports only what it
// runs; the control plane merges the reports.
//
// Every option is a flag or its EDDY_SOURCES_* environment variable (OPTIONS below; the flag wins).
// The port serves GET /healthz, /readyz (a contract is applied) and /metrics (eddy_source_*). Logs
// are pino JSON lines on stdout, the first one with where it listens (`url`); a ContainerSource's
// output lines are JSON lines too (container-output.ts). The contract is a file (re-read on SIGHUP
// and when it changes) or the control plane's feed URL (long-polled; the token, if any, in
// EDDY_CONTRACT_TOKEN), to which the process reports each source's Ready condition and address
// whenever they change. A contract not newer than the running one is ignored, a broken one is logged
// and the running one stays. Secret values come from the contract, the environment
// (EDDY_SECRET_<NAME>_<KEY>) and --secret-dirs.
// SIGTERM/SIGINT: every source stops (events in flight are finished or left unacked upstream, which
// redelivers them), exit 0. Exit 1: could not start; exit 2: bad options.

import { fileURLToPath } from 'node:url';
import {
  countersSignature,
  type FlagSpec,
  isEntryPoint,
  issuerFromEnv,
  issuerTokens,
  isUrlSource,
  parseFlags,
  processRegistry,
  readContractFile,
  readCounters,
  runProcessMain,
  servingCertificateFromFlags,
  startProbeServer,
  startStatusReporter,
  TLS_FLAGS,
  tlsFlagFiles,
  UsageError,
  usageText,
  watchContract,
} from '@eddy/runtime';
import pino from 'pino';
import { loadAdapterPackages, withContainerOutput } from '../adapter-packages.js';
import { createSourceRegistry } from '../builtins.js';
import { parseShard, SINGLE_SHARD, type SourceShard, shardText } from '../control/placement.js';
import { createSourceRunner } from '../sdk/runner.js';
import { containerOutputLine } from './container-output.js';
import {
  checkSourcesContract,
  contractValueStore,
  type SourcesContract,
  type SourcesProcessStatus,
} from './contract.js';
import { ContractApplier } from './contract-applier.js';

/** The command line, each flag with its environment variable (`--port` = EDDY_SOURCES_PORT). */
const OPTIONS = {
  contract: {
    value: '<file|url>',
    help: 'the sources contract: a file, or the control plane feed URL (required)',
  },
  'member-id': { value: '<id>', help: 'how this process names itself to the feed (default sources-<pid>)' },
  shard: {
    value: '<index>/<count>',
    help: 'member <index> (0..count-1) of <count> processes sharing the contract: runs the SQS, Kafka and Pub/Sub sources and the other sources it owns (default 0/1: all)',
  },
  host: { value: '<address>', help: 'listen address of the probe endpoints (default 127.0.0.1)' },
  port: { value: '<port>', help: 'listen port (default 0: a free one, logged)' },
  'log-level': { value: '<level>', help: 'pino level (default info)' },
  'source-adapters': {
    value: '<package,...>',
    help: 'third-party adapter packages to load (names from the cwd, or paths)',
  },
  'secret-dirs': { value: '<dir,...>', help: 'directories of <namespace>/<name>/<key> secret files' },
  kubeconfig: {
    value: '<file>',
    help: 'kubeconfig of the cluster ApiServerSources watch (default $KUBECONFIG, else in-cluster)',
  },
  'watch-interval-ms': { value: '<ms>', help: 'how often the contract file is polled (default 500)' },
  'status-interval-ms': {
    value: '<ms>',
    help: "how often the sources' statuses are checked for a change to report (default 500)",
  },
  ...TLS_FLAGS,
} as const satisfies Record<string, FlagSpec>;

/** `--member-id` -> `EDDY_SOURCES_MEMBER_ID`. */
export const envName = (option: string): string =>
  `EDDY_SOURCES_${option.toUpperCase().replaceAll('-', '_')}`;

/** The usage text; `program` is how the user ran it (`main.js`, `eddy sources`). */
export function usage(program = 'main.js'): string {
  return usageText(`${program} --contract <file|url> [options]`, OPTIONS, envName);
}

export interface SourcesMainOptions {
  contract: string;
  memberId: string | undefined;
  /** Which member of how many this process is (default 0/1). */
  shard: SourceShard;
  host: string;
  port: number;
  logLevel: string;
  sourceAdapters: string[];
  secretDirs: string[];
  /** For adapters that talk to Kubernetes (ApiServerSource). */
  kubeconfig: string | undefined;
  watchIntervalMs: number;
  statusIntervalMs: number;
  /** Webhook endpoints (GitHubSource) serve HTTPS with these files (`--tls-cert`, `--tls-key`). */
  tls?: { cert: string; key: string };
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Parses the command line, options left out taken from `env`; throws UsageError naming the flag. */
export function parseSourcesArgs(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = {},
): SourcesMainOptions {
  const flags = parseFlags(argv, OPTIONS, env, envName);
  const contract = flags.text('contract');
  if (!contract) throw new UsageError(`--contract <file|url> (or ${envName('contract')}) is required`);
  return {
    contract,
    memberId: flags.text('member-id'),
    shard: shardFlag(flags.read('shard')),
    host: flags.text('host') ?? '127.0.0.1',
    port: flags.int('port', 0, 65535) ?? 0,
    logLevel: flags.text('log-level') ?? 'info',
    sourceAdapters: list(flags.text('source-adapters')),
    secretDirs: list(flags.text('secret-dirs')),
    kubeconfig: flags.text('kubeconfig'),
    watchIntervalMs: flags.int('watch-interval-ms', 50, 60_000) ?? 500,
    statusIntervalMs: flags.int('status-interval-ms', 50, 60_000) ?? 500,
    ...tlsFlagFiles(flags.text('tls-cert'), flags.text('tls-key')),
  };
}

function shardFlag(option: { text: string; source: string } | undefined): SourceShard {
  if (option === undefined) return SINGLE_SHARD;
  try {
    return parseShard(option.text);
  } catch (error) {
    throw new UsageError(`${option.source}: ${(error as Error).message}`);
  }
}

/** packages/sources/dist/process/main.js, from the sources too: what a supervisor spawns. */
export const SOURCES_MAIN = fileURLToPath(new URL('../../dist/process/main.js', import.meta.url));

export interface RunningSources {
  readonly url: string;
  /** Re-reads a contract file and applies it if newer. Never rejects. */
  reload(): Promise<void>;
  /** Stops following the contract, then every source (drained), then the probe endpoints. */
  stop(): Promise<void>;
}

/** Starts the runner and follows its contract: what this entry point runs, as a function. */
export async function runSources(
  options: SourcesMainOptions,
  logger: pino.Logger,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<RunningSources> {
  // A file must be readable at start (a typo should not give a process that waits forever); a feed
  // may come up after its processes, which wait (not ready) until it answers.
  if (!isUrlSource(options.contract)) await readContractFile(options.contract, checkSourcesContract);
  const adapters = createSourceRegistry();
  // Not through the logger: a container's output is what it prints, whatever the log level.
  withContainerOutput(adapters, (output) => process.stdout.write(`${containerOutputLine(output)}\n`));
  await loadAdapterPackages(adapters, options.sourceAdapters, (specifier, loaded) =>
    logger.info({ specifier }, `source adapter ${specifier}: ${loaded.map((a) => a.kind).join(', ')}`),
  );
  const metrics = processRegistry();
  const values = contractValueStore();
  // The parent's signing key and issuer URL (EDDY_OIDC_*): sources whose sink has an audience send its tokens.
  const issuer = await issuerFromEnv(env);
  const runner = createSourceRunner({
    adapters,
    registry: metrics,
    logger,
    values,
    env,
    ...(issuer ? { tokens: issuerTokens(issuer) } : {}),
    ...(options.secretDirs.length ? { secretDirs: options.secretDirs } : {}),
    ...(options.kubeconfig ? { kubeconfig: options.kubeconfig } : {}),
    ...(options.tls ? { tls: servingCertificateFromFlags(options.tls, logger) } : {}),
  });
  const applier = new ContractApplier({
    runner,
    values,
    logger,
    shard: { shard: options.shard, placement: (apiVersion, kind) => adapters.placement(apiVersion, kind) },
  });
  let probes: Awaited<ReturnType<typeof startProbeServer>>;
  try {
    probes = await startProbeServer({
      host: options.host,
      port: options.port,
      component: 'sources',
      logger,
      probes: {
        registry: metrics,
        health: async () => ({ ok: true }),
        ready: () => ({
          ok: applier.generation !== undefined,
          ...(applier.generation !== undefined ? { generation: applier.generation } : {}),
          shard: shardText(options.shard),
          sources: runner.statuses().length,
        }),
      },
    });
  } catch (error) {
    await runner.close();
    throw error;
  }

  // One report (each replaces the last): every change of a source's Ready condition or address goes
  // out at once (on apply, and as adapters report health between contracts, checked every
  // statusIntervalMs), the delivery counters a control plane shows as rates with it, or on their own
  // every 2 s at most (runtime's status reporter).
  const reporter = startStatusReporter<SourcesProcessStatus | undefined>({
    build: async () =>
      applier.generation === undefined
        ? undefined
        : {
            shard: shardText(options.shard),
            sources: applier.statuses(),
            counters: await readCounters(metrics),
          },
    signature: (s) => (s ? `${JSON.stringify(s.sources)} ${countersSignature(s.counters ?? [])}` : ''),
    send: (status) => {
      if (status) watch.report(status);
    },
    onError: (error) => logger.warn({ err: error }, `sources status report: ${(error as Error).message}`),
  });
  let statuses = '';
  const statusesMoved = () => {
    const now = JSON.stringify(applier.statuses());
    if (now === statuses) return;
    statuses = now;
    void reporter.flush();
  };
  const watch = watchContract<SourcesContract>({
    source: options.contract,
    member: { id: options.memberId ?? `sources-${process.pid}`, component: 'sources' },
    ...(env.EDDY_CONTRACT_TOKEN ? { token: env.EDDY_CONTRACT_TOKEN } : {}),
    parse: (value) => {
      checkSourcesContract(value);
      return value;
    },
    apply: async (contract) => {
      await applier.apply(contract);
      await reporter.flush();
    },
    logger,
    fileIntervalMs: options.watchIntervalMs,
  });
  const statusTimer = setInterval(statusesMoved, options.statusIntervalMs);
  if (!isUrlSource(options.contract)) await watch.first;
  let stopping: Promise<void> | undefined;
  return {
    url: probes.url,
    reload: () => watch.reload(),
    stop() {
      stopping ??= (async () => {
        clearInterval(statusTimer);
        reporter.stop();
        await watch.stop();
        await runner.close();
        await probes.close();
      })();
      return stopping;
    },
  };
}

/**
 * The process: parses `argv`, runs until SIGTERM/SIGINT (drain, exit 0), exits 1 when it cannot
 * start and 2 on a bad command line. `program` names it in the usage text.
 */
export function sourcesMain(argv: string[], program = 'main.js'): Promise<void> {
  return runProcessMain({
    argv,
    program,
    usage,
    parse: parseSourcesArgs,
    logger: (options) => pino({ level: options.logLevel, base: { pid: process.pid } }),
    name: 'sources',
    start: (options, logger) => runSources(options, logger, process.env),
  });
}

// Run only as the entry point, so runSources can be imported.
if (isEntryPoint(import.meta.url)) void sourcesMain(process.argv.slice(2));
