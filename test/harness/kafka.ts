// Starts a real Apache Kafka (KRaft, combined broker+controller nodes) from the Maven Central jars
// on free 127.0.0.1 ports, for tests and benchmarks. One node by default; three for fault tests.
// Each node's JVM runs on the host, or in a container when Docker is available (docker.ts): the
// same jars, configs, ports and data folders either way.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  ensureJavaServerImage,
  IMAGE_LIBS_DIR,
  peerBackend,
  shellQuote,
  startContainerPeer,
} from './docker.ts';
import { freePorts } from './free-ports.ts';
import { newRunLogDir, sweepStaleDataDirs } from './harness-cache.ts';
import { adoptCdsDump, type CdsDump, sweepStaleCdsParts } from './jvm-cds.ts';
import { cdsArchivePath, ensureKafkaLibs, kafkaCacheRoot, kafkaVersion } from './kafka-dist.ts';
import { checkJava, javaCommand } from './maven-classpath.ts';
import {
  onProcessExit,
  type PeerProcess,
  runLogged,
  sleep,
  spawnPeer,
  startTimeoutMs,
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
  /** Folders the nodes read besides their own (key stores, ...): mounted at the same path in containers. */
  readDirs?: string[];
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
  /** The node's JVM (a local process or a container); kept after it exits, for its exit reason. */
  proc: PeerProcess | undefined;
}

/** True while the node's JVM runs. */
const isUp = (node: NodeState): boolean => node.proc !== undefined && !node.proc.hasExited;

/**
 * How a node's JVM runs: `format` prepares every node's storage before the first start, `launch`
 * starts one node (again, after a stop: the data folder stays).
 */
interface NodeRuntime {
  /** For progress lines: `jars` or the image. */
  description: string;
  format(nodes: NodeState[], formatArgs: (node: NodeState) => string[]): Promise<void>;
  launch(node: NodeState, formatArgs: string[]): Promise<PeerProcess>;
  /** The classpath folder as the JVM sees it. */
  libsDir: string;
}

function jarRuntime(libsDir: string, heapMb: number): NodeRuntime {
  return {
    description: 'jars',
    libsDir,
    // One JVM per node for the format; in parallel since each mostly waits on class loading.
    async format(nodes, formatArgs) {
      const formatted = await Promise.all(
        nodes.map((node) => runLogged(javaCommand(), formatArgs(node), { outFile: node.outFile })),
      );
      formatted.forEach((code, i) => {
        const node = nodes[i]!;
        if (code !== 0) {
          throw new Error(
            `kafka.tools.StorageTool format failed for node ${node.id} (exit ${code})\n${describeFailure(node)}`,
          );
        }
      });
    },
    async launch(node) {
      return spawnPeer(
        javaCommand(),
        [...jvmArgs(heapMb, libsDir, node.log4jFile, node.jvmFlags), 'kafka.Kafka', node.configFile],
        { outFile: node.outFile, label: 'kafka' },
      );
    },
  };
}

/**
 * Nodes as containers of `image`, with the run's log folder, the data and the jar cache (class-data
 * sharing archive) mounted at the same paths. The storage is formatted by the container itself the
 * first time it starts (its data folder has no `meta.properties` yet), so a restarted node keeps
 * its log, as a restarted JVM on the host does.
 */
function containerRuntime(image: string, heapMb: number, mounts: string[]): NodeRuntime {
  return {
    description: `container ${image}`,
    libsDir: IMAGE_LIBS_DIR,
    // Each container formats its own storage when it starts (launch).
    async format() {},
    launch(node, formatArgs) {
      const run = ['java', ...jvmArgs(heapMb, IMAGE_LIBS_DIR, node.log4jFile, node.jvmFlags)];
      const script = `[ -e ${shellQuote([join(node.dataDir, 'log', 'meta.properties')])} ] || ${shellQuote(['java', ...formatArgs])} && exec ${shellQuote([...run, 'kafka.Kafka', node.configFile])}`;
      return startContainerPeer({
        image,
        command: ['sh', '-c', script],
        outFile: node.outFile,
        mounts,
        label: `kafka-${node.id}`,
      });
    },
  };
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

async function launch(node: NodeState, runtime: NodeRuntime, formatArgs: string[]): Promise<void> {
  const proc = await runtime.launch(node, formatArgs);
  node.proc = proc;
  void proc.exited.then(() => adoptCdsArchive(node, proc.exitReason === 'signal SIGKILL'));
}

/** Stops the node's JVM (if it still runs) and lets go of it (a container is removed). */
async function terminate(node: NodeState, signal: 'SIGTERM' | 'SIGKILL', graceMs: number): Promise<void> {
  await node.proc?.stop(graceMs, signal);
  node.proc = undefined;
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
      if (node.proc?.hasExited) {
        throw new StartupError(
          `Kafka node ${node.id} exited (${node.proc.exitReason}) while starting\n${describeFailure(node)}`,
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

  // Maven needs a JVM on the host in either backend; the jar backend runs Kafka on it too.
  const javaVersionText = checkJava(17, 'Kafka 4.x');
  const libsDir = await ensureKafkaLibs(version, log);
  const { backend } = peerBackend();
  const image =
    backend === 'docker' ? await ensureJavaServerImage({ name: 'kafka', version, libsDir, log }) : undefined;
  // A class-data-sharing archive only fits the JVM build that wrote it: the image's, or the host's.
  const cdsArchive = cdsArchivePath(version, image === undefined ? javaVersionText : `image ${image}`);
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
    });
  }
  const state = { nodes, baseDir, ownsBaseDir };
  // Synchronous, all a dying test process can do; the JVMs go by spawnPeer's and docker.ts's own hooks.
  const forgetAtExit = onProcessExit(() => removeData(state));
  const runtime =
    image === undefined
      ? jarRuntime(libsDir, heapMb)
      : containerRuntime(image, heapMb, [
          runLogDir,
          baseDir,
          dirname(cdsArchive),
          ...(options.readDirs ?? []),
        ]);
  const formatArgs = (node: NodeState) => [
    ...jvmArgs(256, runtime.libsDir, node.log4jFile, formatFlags),
    'kafka.tools.StorageTool',
    'format',
    '--cluster-id',
    clusterId,
    '--config',
    node.configFile,
    ...(options.formatArguments ?? []),
  ];

  log(
    `starting Kafka ${version} (${count} node${count > 1 ? 's' : ''}, KRaft, ${runtime.description}); logs in ${runLogDir}`,
  );
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
      await runtime.format(nodes, formatArgs);
      if (!haveCds && attempt === 1) {
        const first = nodes[0]!;
        first.cdsDump = { partial: `${cdsArchive}.partial-${process.pid}`, archive: cdsArchive };
        first.jvmFlags.push(`-XX:ArchiveClassesAtExit=${first.cdsDump.partial}`);
      }
      await Promise.all(nodes.map((node) => launch(node, runtime, formatArgs(node))));
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
  log(
    `Kafka ${version} ready at ${brokers.join(',')} in ${((Date.now() - started) / 1000).toFixed(1)} s (${runtime.description})`,
  );

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
        return isUp(node);
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
      if (isUp(node)) return;
      if (!existsSync(node.dataDir))
        throw new Error(`startNode: data of node ${id} is gone (${node.dataDir})`);
      // A node that crashed by itself still holds its ended process or container.
      await terminate(node, 'SIGKILL', 5000);
      await launch(node, runtime, formatArgs(node));
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
