// Starts a real Apache Kafka (KRaft, combined broker+controller nodes) from the Maven Central jars
// on free 127.0.0.1 ports, for tests and benchmarks. One node by default; three for fault tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { freePorts } from './free-ports.ts';
import { newRunLogDir, sweepStaleDataDirs } from './harness-cache.ts';
import { adoptCdsDump, type CdsDump, sweepStaleCdsParts } from './jvm-cds.ts';
import { cdsArchivePath, ensureKafkaLibs, kafkaCacheRoot, kafkaVersion } from './kafka-dist.ts';
import { checkJava, javaCommand } from './maven-classpath.ts';
import {
  killAndWait,
  onProcessExit,
  runLogged,
  sleep,
  startTimeoutMs,
  startWatchdog,
  tailFile as tail,
} from './processes.ts';

export interface KafkaNode {
  readonly id: number;
  /** `127.0.0.1:<port>` of the client (PLAINTEXT) listener. */
  readonly broker: string;
  readonly port: number;
  readonly controllerPort: number;
  /** Kafka's own log (log4j2); JVM stdout/stderr go next to it with the suffix `.out`. */
  readonly logFile: string;
  readonly dataDir: string;
  /** True between a successful start and a stop; false while the node is stopped. */
  readonly running: boolean;
  readonly pid: number | undefined;
}

export interface StopNodeOptions {
  /** SIGTERM (default) = controlled shutdown; SIGKILL = crash. */
  signal?: 'SIGTERM' | 'SIGKILL';
}

export interface KafkaCluster {
  readonly version: string;
  readonly clusterId: string;
  /** Bootstrap list, `host:port` per node. */
  readonly brokers: string[];
  readonly nodes: KafkaNode[];
  readonly logFiles: string[];
  /** Stops every node (SIGTERM, SIGKILL after a grace period) and removes the data. Idempotent. */
  stop(): Promise<void>;
  /** Stops one node and keeps its data, so `startNode` brings it back with its log. */
  stopNode(id: number, options?: StopNodeOptions): Promise<void>;
  /** Restarts a stopped node on the same ports; resolves once the cluster reports it again. */
  startNode(id: number): Promise<void>;
}

export interface StartKafkaOptions {
  nodes?: 1 | 3;
  /** Where node data goes (default: a fresh folder under the OS temp dir). */
  dataDir?: string;
  /** Progress lines (default: stderr with a `[kafka]` prefix). */
  log?: (line: string) => void;
  /** JVM heap per node in MiB (default 768 for one node, 512 per node for three). */
  heapMb?: number;
  /** How long to wait for the cluster to answer (default 180 s, env EDDY_KAFKA_START_TIMEOUT_MS). */
  startTimeoutMs?: number;
  /**
   * Run the JVM with the C1 compiler only (default true): a much quicker and cheaper start on a
   * small, busy machine, at the price of peak throughput. Benchmarks pass false.
   */
  fastStartJvm?: boolean;
  /**
   * More server.properties per node, over the harness's own (e.g. TLS and SASL listeners beside
   * PLAINTEXT, which must stay: the harness and the brokers among themselves use it).
   */
  serverProperties?: (node: { id: number; port: number; controllerPort: number }) => Record<string, string>;
  /** More arguments of `kafka-storage format`, e.g. `--add-scram` for SCRAM users. */
  formatArguments?: string[];
}

const STOP_GRACE_MS = 15_000;
const WARMUP_NAME = '__eddy_harness_warmup';

const defaultLog = (line: string) => process.stderr.write(`[kafka] ${line}\n`);

interface NodeState {
  id: number;
  broker: string;
  port: number;
  controllerPort: number;
  logFile: string;
  outFile: string;
  dataDir: string;
  configFile: string;
  log4jFile: string;
  /** JVM flags besides heap, log4j and classpath (JIT mode, class-data sharing). */
  jvmFlags: string[];
  /** Set while this node's JVM writes a class-data-sharing archive when it exits. */
  cdsDump: CdsDump | undefined;
  proc: ChildProcess | undefined;
  exited: Promise<number | null> | undefined;
  exitCode: number | null | undefined;
  /** How the JVM ended, for error messages: `code 1`, `signal SIGKILL`. */
  exitReason: string;
  watchdog: ChildProcess | undefined;
}

/** Kills a cluster's JVMs and removes its data, synchronously: all a dying test process can do. */
function killNow(cluster: { nodes: NodeState[]; baseDir: string; ownsBaseDir: boolean }): void {
  for (const node of cluster.nodes) {
    if (node.proc?.pid !== undefined && node.exitCode === undefined) {
      try {
        process.kill(node.proc.pid, 'SIGKILL');
      } catch {}
    }
  }
  removeData(cluster);
}

function removeData(cluster: { nodes: NodeState[]; baseDir: string; ownsBaseDir: boolean }): void {
  for (const node of cluster.nodes) rmSync(node.dataDir, { recursive: true, force: true, maxRetries: 3 });
  if (cluster.ownsBaseDir) rmSync(cluster.baseDir, { recursive: true, force: true, maxRetries: 3 });
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64; a leading '-' would read as a CLI flag. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function serverProperties(node: NodeState, all: NodeState[], extra: Record<string, string> = {}): string {
  const n = all.length;
  const voters = all.map((v) => `${v.id}@127.0.0.1:${v.controllerPort}`).join(',');
  const props: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': node.id,
    'controller.quorum.voters': voters,
    listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(node.dataDir, 'log'),
    // Topics exist only when code asks for them, as in production.
    'auto.create.topics.enable': 'false',
    'num.partitions': 1,
    'default.replication.factor': n,
    'min.insync.replicas': n === 1 ? 1 : 2,
    'offsets.topic.replication.factor': n,
    'offsets.topic.num.partitions': 10,
    'transaction.state.log.replication.factor': n,
    'transaction.state.log.min.isr': n === 1 ? 1 : 2,
    'transaction.state.log.num.partitions': 5,
    'share.coordinator.state.topic.replication.factor': n,
    'share.coordinator.state.topic.min.isr': n === 1 ? 1 : 2,
    'share.coordinator.state.topic.num.partitions': 1,
    // Fast tests: no wait for more members before the first rebalance, short sessions allowed for
    // crash tests, retention enforced within a second of a segment expiring.
    'group.initial.rebalance.delay.ms': 0,
    'group.min.session.timeout.ms': 1000,
    'log.initial.task.delay.ms': 0,
    'log.retention.check.interval.ms': 1000,
    'log.segment.delete.delay.ms': 0,
    // Fault tests: a killed node is fenced and leaves the ISR within seconds.
    'broker.heartbeat.interval.ms': 1000,
    'broker.session.timeout.ms': 6000,
    'replica.lag.time.max.ms': 10_000,
    'num.recovery.threads.per.data.dir': 1,
    ...extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function log4jConfig(logFile: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <File name="file" fileName="${xmlEscape(logFile)}" append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
  </Loggers>
</Configuration>
`;
}

function describeFailure(node: NodeState): string {
  let errors: string[] = [];
  try {
    errors = readFileSync(node.logFile, 'utf8')
      .split('\n')
      .filter((l) => /^\[[^\]]+\] (ERROR|FATAL) /.test(l))
      .slice(-10);
  } catch {}
  return [
    `--- last lines of ${node.outFile} (JVM output) ---`,
    tail(node.outFile, 10),
    ...(errors.length > 0 ? [`--- ERROR lines of ${node.logFile} ---`, ...errors] : []),
    `--- last lines of ${node.logFile} ---`,
    tail(node.logFile, 20),
  ].join('\n');
}

function jvmArgs(heapMb: number, libsDir: string, log4jFile: string, flags: string[]): string[] {
  return [
    ...flags,
    `-Xmx${heapMb}m`,
    `-Xms${Math.min(heapMb, 256)}m`,
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:InitiatingHeapOccupancyPercent=35',
    '-XX:+ExplicitGCInvokesConcurrent',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    // Kafka logs its own shutdown; log4j's hook would close the file appender before that.
    '-Dlog4j2.shutdownHookEnabled=false',
    '-cp',
    join(libsDir, '*'),
  ];
}

/**
 * The first JVM of a Kafka version writes the class-data-sharing archive when it exits (see
 * jvm-cds.ts); later starts of the same node do not write it again.
 */
function adoptCdsArchive(node: NodeState, killed: boolean): void {
  const dump = node.cdsDump;
  if (!dump) return;
  node.cdsDump = undefined;
  node.jvmFlags = node.jvmFlags.filter((f) => !f.startsWith('-XX:ArchiveClassesAtExit='));
  adoptCdsDump(dump, killed);
}

function launch(node: NodeState, heapMb: number, libsDir: string): void {
  const fd = openSync(node.outFile, 'a');
  const proc = spawn(
    javaCommand(),
    [...jvmArgs(heapMb, libsDir, node.log4jFile, node.jvmFlags), 'kafka.Kafka', node.configFile],
    {
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  node.proc = proc;
  node.exitCode = undefined;
  node.exited = new Promise((resolve) => {
    proc.on('error', (err) => {
      writeFileSync(node.outFile, `failed to start java: ${err.message}\n`, { flag: 'a' });
      node.exitCode = null;
      node.exitReason = `spawn error: ${err.message}`;
      resolve(null);
    });
    proc.on('exit', (code, signal) => {
      node.exitCode = code ?? (signal ? null : -1);
      node.exitReason = signal ? `signal ${signal}` : `code ${code}`;
      adoptCdsArchive(node, signal === 'SIGKILL');
      resolve(node.exitCode);
    });
  });
  node.watchdog = proc.pid === undefined ? undefined : startWatchdog(proc.pid, 'kafka');
}

async function terminate(node: NodeState, signal: 'SIGTERM' | 'SIGKILL', graceMs: number): Promise<void> {
  const { proc, exited } = node;
  if (proc && exited && node.exitCode === undefined) await killAndWait(proc, exited, signal, graceMs);
  if (node.watchdog?.pid !== undefined) {
    try {
      process.kill(node.watchdog.pid, 'SIGKILL');
    } catch {}
  }
  node.proc = undefined;
  node.watchdog = undefined;
}

function adminClient(brokers: string[]) {
  return new Kafka({
    clientId: 'eddy-test-harness',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 0 },
  }).admin();
}

/**
 * Polls the cluster over the Kafka protocol until every id in `ids` is a live broker, failing fast
 * (with the node's log tail) if a JVM exits on the way.
 */
async function waitForBrokers(
  brokers: string[],
  ids: number[],
  nodes: NodeState[],
  deadline: number,
): Promise<void> {
  let lastProblem = 'no answer yet';
  for (;;) {
    for (const node of nodes) {
      if (node.exitCode !== undefined) {
        throw new StartupError(
          `Kafka node ${node.id} exited (${node.exitReason}) while starting\n${describeFailure(node)}`,
          node,
        );
      }
    }
    const admin = adminClient(brokers);
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      const seen = new Set(cluster.brokers.map((b) => b.nodeId));
      if (ids.every((id) => seen.has(id))) return;
      lastProblem = `brokers answering: [${[...seen].join(', ')}], waiting for [${ids.join(', ')}]`;
    } catch (err) {
      lastProblem = (err as Error).message;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    if (Date.now() > deadline) {
      const node = nodes.find((n) => ids.includes(n.id)) ?? nodes[0]!;
      throw new StartupError(
        `Kafka did not become ready in time (${lastProblem})\n${describeFailure(node)}`,
        node,
      );
    }
    await sleep(500);
  }
}

class StartupError extends Error {
  readonly node: NodeState;
  constructor(message: string, node: NodeState) {
    super(message);
    this.node = node;
  }
}

/**
 * The first group request creates __consumer_offsets and the first idempotent send fetches a
 * producer-id block; doing both here keeps that one-off cost out of the first test's time budget.
 */
async function warmUp(brokers: string[], replicationFactor: number, deadline: number): Promise<void> {
  const kafka = new Kafka({
    clientId: 'eddy-test-harness',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  // kafkajs retries some errors of these calls but not all (admin.fetchOffsets gives up on
  // NOT_COORDINATOR while a 3-node cluster is still moving group coordinators), so each step
  // is retried here until the startup deadline.
  const step = async (what: string, fn: () => Promise<unknown>) => {
    for (;;) {
      try {
        await fn();
        return;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`Kafka warm-up (${what}) failed: ${(err as Error).message}`);
        await sleep(300);
      }
    }
  };
  const admin = kafka.admin();
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  try {
    await step('connect', () => admin.connect());
    await step('create topic', async () => {
      const topics = await admin.listTopics();
      if (!topics.includes(WARMUP_NAME)) {
        await admin.createTopics({
          topics: [{ topic: WARMUP_NAME, numPartitions: 1, replicationFactor }],
          waitForLeaders: true,
        });
      }
    });
    await step('idempotent produce', async () => {
      await producer.connect();
      await producer.send({ topic: WARMUP_NAME, acks: -1, messages: [{ value: 'warm-up' }] });
    });
    await step('group coordinator', () =>
      admin.fetchOffsets({ groupId: WARMUP_NAME, topics: [WARMUP_NAME] }),
    );
    await step('delete topic', () => admin.deleteTopics({ topics: [WARMUP_NAME] }));
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

export async function startKafka(options: StartKafkaOptions = {}): Promise<KafkaCluster> {
  const count = options.nodes ?? 1;
  if (count !== 1 && count !== 3) throw new Error(`startKafka: nodes must be 1 or 3, got ${String(count)}`);
  const log = options.log ?? defaultLog;
  const heapMb = options.heapMb ?? (count === 1 ? 768 : 512);
  if (!Number.isInteger(heapMb) || heapMb < 128) {
    throw new Error(`startKafka: heapMb must be a whole number of MiB >= 128, got ${String(heapMb)}`);
  }
  const timeoutMs = startTimeoutMs(options.startTimeoutMs, 'EDDY_KAFKA_START_TIMEOUT_MS', 180_000);
  const version = kafkaVersion();
  const started = Date.now();

  const javaVersionText = checkJava(17, 'Kafka 4.x');
  const libsDir = await ensureKafkaLibs(version, log);
  const cdsArchive = cdsArchivePath(version, javaVersionText);
  sweepStaleCdsParts(dirname(cdsArchive));
  const haveCds = existsSync(cdsArchive);
  const sharedFlags = [
    ...(options.fastStartJvm === false ? [] : ['-XX:TieredStopAtLevel=1']),
    ...(haveCds ? [`-XX:SharedArchiveFile=${cdsArchive}`] : []),
  ];
  const formatFlags = [
    '-XX:TieredStopAtLevel=1',
    ...(haveCds ? [`-XX:SharedArchiveFile=${cdsArchive}`] : []),
  ];
  sweepStaleDataDirs('eddy-kafka-');

  const runLogDir = newRunLogDir(join(kafkaCacheRoot(), 'logs'));

  const ownsBaseDir = options.dataDir === undefined;
  const baseDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'eddy-kafka-'));
  mkdirSync(baseDir, { recursive: true });
  if (ownsBaseDir) writeFileSync(join(baseDir, 'owner.pid'), `${process.pid}\n`);

  const clusterId = newClusterId();
  const nodes: NodeState[] = [];
  for (let id = 1; id <= count; id++) {
    nodes.push({
      id,
      broker: '',
      port: 0,
      controllerPort: 0,
      logFile: join(runLogDir, `kafka-${id}.log`),
      outFile: join(runLogDir, `kafka-${id}.out`),
      dataDir: join(baseDir, `node-${id}`),
      configFile: join(runLogDir, `server-${id}.properties`),
      log4jFile: join(runLogDir, `log4j2-${id}.xml`),
      jvmFlags: [...sharedFlags],
      cdsDump: undefined,
      proc: undefined,
      exited: undefined,
      exitCode: undefined,
      exitReason: '',
      watchdog: undefined,
    });
  }
  const state = { nodes, baseDir, ownsBaseDir };
  const forgetAtExit = onProcessExit(() => killNow(state));

  log(`starting Kafka ${version} (${count} node${count > 1 ? 's' : ''}, KRaft); logs in ${runLogDir}`);
  const maxAttempts = 3;
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(count * 2);
    for (const [i, node] of nodes.entries()) {
      node.port = ports[2 * i]!;
      node.controllerPort = ports[2 * i + 1]!;
      node.broker = `127.0.0.1:${node.port}`;
    }
    try {
      for (const node of nodes) {
        rmSync(node.dataDir, { recursive: true, force: true });
        mkdirSync(node.dataDir, { recursive: true });
        writeFileSync(node.configFile, serverProperties(node, nodes, options.serverProperties?.(node)));
        writeFileSync(node.log4jFile, log4jConfig(node.logFile));
      }
      // One JVM per node for the format; in parallel since each mostly waits on class loading.
      const formatted = await Promise.all(
        nodes.map((node) =>
          runLogged(
            javaCommand(),
            [
              ...jvmArgs(256, libsDir, node.log4jFile, formatFlags),
              'kafka.tools.StorageTool',
              'format',
              '--cluster-id',
              clusterId,
              '--config',
              node.configFile,
              ...(options.formatArguments ?? []),
            ],
            { outFile: node.outFile },
          ),
        ),
      );
      formatted.forEach((code, i) => {
        const node = nodes[i]!;
        if (code !== 0) {
          throw new Error(
            `kafka.tools.StorageTool format failed for node ${node.id} (exit ${code})\n${describeFailure(node)}`,
          );
        }
      });
      if (!haveCds && attempt === 1) {
        const first = nodes[0]!;
        first.cdsDump = { partial: `${cdsArchive}.partial-${process.pid}`, archive: cdsArchive };
        first.jvmFlags.push(`-XX:ArchiveClassesAtExit=${first.cdsDump.partial}`);
      }
      for (const node of nodes) launch(node, heapMb, libsDir);
      const brokers = nodes.map((n) => n.broker);
      const deadline = Date.now() + timeoutMs;
      await waitForBrokers(
        brokers,
        nodes.map((n) => n.id),
        nodes,
        deadline,
      );
      await warmUp(brokers, count, deadline);
      break;
    } catch (err) {
      await Promise.all(nodes.map((n) => terminate(n, 'SIGKILL', 5000)));
      const bindConflict = nodes.some((n) =>
        /BindException|Address already in use/.test(tail(n.logFile, 200)),
      );
      if (bindConflict && attempt < maxAttempts) {
        log(`a port was taken before Kafka could bind it; retrying with new ports (attempt ${attempt + 1})`);
        continue;
      }
      forgetAtExit();
      removeData(state);
      throw err;
    }
  }

  const brokers = nodes.map((n) => n.broker);
  log(`Kafka ${version} ready at ${brokers.join(',')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const byId = (id: number): NodeState => {
    const node = nodes.find((n) => n.id === id);
    if (!node) throw new Error(`no Kafka node ${id}; nodes are ${nodes.map((n) => n.id).join(', ')}`);
    return node;
  };
  let stopping: Promise<void> | undefined;

  const cluster: KafkaCluster = {
    version,
    clusterId,
    brokers,
    nodes: nodes.map((node) => ({
      id: node.id,
      broker: node.broker,
      port: node.port,
      controllerPort: node.controllerPort,
      logFile: node.logFile,
      dataDir: node.dataDir,
      get running() {
        return node.proc !== undefined && node.exitCode === undefined;
      },
      get pid() {
        return node.proc?.pid;
      },
    })),
    logFiles: nodes.map((n) => n.logFile),
    stop() {
      stopping ??= (async () => {
        await Promise.all(nodes.map((n) => terminate(n, 'SIGTERM', STOP_GRACE_MS)));
        forgetAtExit();
        removeData(state);
      })();
      return stopping;
    },
    async stopNode(id, stopOptions = {}) {
      const node = byId(id);
      await terminate(node, stopOptions.signal ?? 'SIGTERM', STOP_GRACE_MS);
    },
    async startNode(id) {
      const node = byId(id);
      if (stopping) throw new Error('startNode: the cluster has been stopped');
      if (node.proc !== undefined && node.exitCode === undefined) return;
      if (!existsSync(node.dataDir))
        throw new Error(`startNode: data of node ${id} is gone (${node.dataDir})`);
      launch(node, heapMb, libsDir);
      try {
        await waitForBrokers(brokers, [id], [node], Date.now() + timeoutMs);
      } catch (err) {
        await terminate(node, 'SIGKILL', 5000);
        throw err;
      }
    },
  };
  return cluster;
}
