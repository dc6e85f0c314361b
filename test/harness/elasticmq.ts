// Starts ElasticMQ, an SQS-compatible server, from its Maven Central jars on a free 127.0.0.1
// port, for tests of SQS consumers. Version 1.6+ speaks the AWS JSON protocol that current
// @aws-sdk/client-sqs uses (older ones only the query/XML protocol). The JVM runs on the host, or
// in a container of the same jars when Docker is available (docker.ts).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SQSClientConfig } from '@aws-sdk/client-sqs';
import { ensureJavaServerImage, IMAGE_LIBS_DIR, peerBackend, startContainerPeer } from './docker.ts';
import { newRunLogDir, peerCacheRoot, peerVersion } from './harness-cache.ts';
import { adoptCdsDump, cdsArchivePath, cdsFlags, sweepStaleCdsParts } from './jvm-cds.ts';
import { checkJava, ensureMavenClasspath, javaCommand } from './maven-classpath.ts';
import { type PeerProcess, sleep, spawnPeer, startTimeoutMs, tailFile, waitForLogLine } from './processes.ts';
import { sqsSdk } from './sqs-sdk.ts';

const { ListQueuesCommand, SQSClient } = sqsSdk;

export const DEFAULT_ELASTICMQ_VERSION = '1.7.1';

/** The region and account ElasticMQ puts into queue ARNs (redrive policies name queues by ARN). */
export const ELASTICMQ_REGION = 'us-east-1';
export const ELASTICMQ_ACCOUNT_ID = '000000000000';

export interface ElasticMq {
  readonly version: string;
  /** `http://127.0.0.1:<port>`, the SQS endpoint. */
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  /** ElasticMQ's log (JVM stdout/stderr); the generated config is next to it. */
  readonly logFile: string;
  readonly pid: number | undefined;
  /** SIGTERM, SIGKILL after 10 s. Idempotent. */
  stop(): Promise<void>;
}

export interface StartElasticMqOptions {
  /** Progress lines (default: stderr with an `[elasticmq]` prefix). */
  log?: (line: string) => void;
  /** How long to wait for ListQueues to answer (default 60 s, env EDDY_ELASTICMQ_START_TIMEOUT_MS). */
  startTimeoutMs?: number;
}

const defaultLog = (line: string) => process.stderr.write(`[elasticmq] ${line}\n`);

export function elasticMqCacheRoot(): string {
  return peerCacheRoot('elasticmq', 'EDDY_ELASTICMQ_CACHE_DIR');
}

export function elasticMqVersion(): string {
  return peerVersion('EDDY_ELASTICMQ_VERSION', DEFAULT_ELASTICMQ_VERSION);
}

/**
 * Client settings for an SQS endpoint of the harness. ElasticMQ does not check signatures, but
 * the SDK needs some credentials; fixed ones keep it from searching the machine for real ones.
 */
export function sqsClientConfig(peer: { endpoint: string; region: string }): SQSClientConfig {
  return {
    endpoint: peer.endpoint,
    region: peer.region,
    credentials: { accessKeyId: 'eddy-test', secretAccessKey: 'eddy-test' },
  };
}

/** Downloads ElasticMQ's server and runtime dependencies on first use; returns the jar folder. */
export function ensureElasticMqLibs(
  version: string = elasticMqVersion(),
  log: (line: string) => void = () => {},
): Promise<string> {
  return ensureMavenClasspath({
    dir: join(elasticMqCacheRoot(), version),
    what: `ElasticMQ ${version}`,
    dependencies: [{ groupId: 'org.elasticmq', artifactId: 'elasticmq-server_2.13', version }],
    requiredJarPrefix: 'elasticmq-server_2.13-',
    log,
  });
}

/**
 * Port 0 lets the OS choose a free port at bind time (no race with other processes picking
 * ports); generate-node-address makes queue URLs carry the port actually bound, which ElasticMQ
 * logs and we read back.
 */
function serverConfig(): string {
  return `include classpath("application.conf")

node-address {
  protocol = "http"
  host = "127.0.0.1"
  port = 0
  context-path = ""
}
generate-node-address = true

rest-sqs {
  enabled = true
  bind-hostname = "127.0.0.1"
  bind-port = 0
  sqs-limits = strict
}

rest-stats {
  enabled = false
}

aws {
  region = "${ELASTICMQ_REGION}"
  accountId = "${ELASTICMQ_ACCOUNT_ID}"
}
`;
}

async function waitForListQueues(
  endpoint: string,
  proc: PeerProcess,
  logFile: string,
  deadline: number,
): Promise<void> {
  const client = new SQSClient({
    ...sqsClientConfig({ endpoint, region: ELASTICMQ_REGION }),
    maxAttempts: 1,
  });
  let lastProblem = 'no answer yet';
  try {
    for (;;) {
      try {
        await client.send(new ListQueuesCommand({}), { abortSignal: AbortSignal.timeout(5000) });
        return;
      } catch (err) {
        lastProblem = (err as Error).message;
      }
      if (proc.hasExited) {
        throw new Error(
          `ElasticMQ exited (${proc.exitReason}) while starting\n--- last lines of ${logFile} ---\n${tailFile(logFile, 20)}`,
        );
      }
      if (Date.now() > deadline) {
        throw new Error(
          `ElasticMQ at ${endpoint} did not answer ListQueues in time (${lastProblem})\n--- last lines of ${logFile} ---\n${tailFile(logFile, 20)}`,
        );
      }
      await sleep(200);
    }
  } finally {
    client.destroy();
  }
}

export async function startElasticMq(options: StartElasticMqOptions = {}): Promise<ElasticMq> {
  const log = options.log ?? defaultLog;
  const timeoutMs = startTimeoutMs(options.startTimeoutMs, 'EDDY_ELASTICMQ_START_TIMEOUT_MS', 60_000);
  const version = elasticMqVersion();
  const started = Date.now();
  // Maven needs a JVM on the host in either backend; the jar backend runs ElasticMQ on it too.
  const javaVersionText = checkJava(11, `ElasticMQ ${version}`);
  const libsDir = await ensureElasticMqLibs(version, log);
  const { backend } = peerBackend();
  const image =
    backend === 'docker'
      ? await ensureJavaServerImage({ name: 'elasticmq', version, libsDir, log })
      : undefined;
  const versionDir = join(elasticMqCacheRoot(), version);
  // A class-data-sharing archive only fits the JVM build that wrote it: the image's, or the host's.
  const archive = cdsArchivePath(versionDir, image === undefined ? javaVersionText : `image ${image}`);
  sweepStaleCdsParts(dirname(archive));
  const cds = cdsFlags(archive);

  const runDir = newRunLogDir(join(elasticMqCacheRoot(), 'logs'));
  const configFile = join(runDir, 'elasticmq.conf');
  const logFile = join(runDir, 'elasticmq.log');
  writeFileSync(configFile, serverConfig());

  const jvmArgs = (classpathDir: string) => [
    // C1 only and a small serial-GC heap: ElasticMQ holds a few test messages, and starting
    // quickly on a busy 2-core machine matters more than peak throughput.
    '-XX:TieredStopAtLevel=1',
    ...cds.flags,
    '-XX:+UseSerialGC',
    '-Xmx384m',
    '-XX:+ExitOnOutOfMemoryError',
    '-Djava.awt.headless=true',
    `-Dconfig.file=${configFile}`,
    '-cp',
    join(classpathDir, '*'),
    'org.elasticmq.server.Main',
  ];
  const proc =
    image === undefined
      ? spawnPeer(javaCommand(), jvmArgs(libsDir), { outFile: logFile, label: 'elasticmq' })
      : await startContainerPeer({
          image,
          command: ['java', ...jvmArgs(IMAGE_LIBS_DIR)],
          outFile: logFile,
          mounts: [runDir, versionDir],
          label: 'elasticmq',
        });
  const { dump } = cds;
  if (dump) void proc.exited.then(() => adoptCdsDump(dump, proc.exitReason === 'signal SIGKILL'));
  try {
    const deadline = Date.now() + timeoutMs;
    const bound = await waitForLogLine(
      logFile,
      /Started SQS rest server, bind address 127\.0\.0\.1:(\d+)/,
      proc,
      deadline,
      `ElasticMQ ${version}`,
    );
    const endpoint = `http://127.0.0.1:${bound[1]}`;
    await waitForListQueues(endpoint, proc, logFile, deadline);
    log(
      `ElasticMQ ${version} ready at ${endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s (${image === undefined ? 'jars' : `container ${image}`})`,
    );
    return {
      version,
      endpoint,
      region: ELASTICMQ_REGION,
      accountId: ELASTICMQ_ACCOUNT_ID,
      logFile,
      pid: proc.pid,
      stop: () => proc.stop(10_000),
    };
  } catch (err) {
    await proc.stop(2000);
    throw err;
  }
}
