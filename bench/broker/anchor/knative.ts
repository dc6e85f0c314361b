// The anchor, started standalone: Knative's Kafka broker receiver (ingress) and, for e2e cells, its
// dispatcher, both unchanged jars built by build.sh. What a Kubernetes install would give them is
// written into the cell's folder: the Kafka client properties (taken at run time from the ConfigMap
// config-kafka-broker-data-plane in the source tree, so they stay Knative's own), empty
// observability/features folders (no metrics server, default features) and a contract JSON file with
// one broker and, for e2e, one Trigger egress to the sink. The topic is created beforehand.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type PeerProcess, spawnPeer } from '../../../test/harness/processes.ts';
import { benchTriggers, type RunningContender, type StartContext } from '../contenders.ts';
import { sleep, waitHttp } from '../procs.ts';

export interface AnchorBuild {
  java: string;
  receiverJar: string;
  dispatcherJar: string;
  source: string;
}

export const DEFAULT_SOURCE = '/work/shared/anchors/knative-kafka-broker/source';

/**
 * Runs build.sh (cached after the first build); returns the jars, or a message saying why the anchor
 * is skipped (no source, no JDK >= 21, a failed build).
 */
export function buildAnchor(source: string, log: (line: string) => void): AnchorBuild | string {
  log(`anchor: bench/broker/anchor/build.sh (source ${source}; first build takes minutes, then cached)`);
  const res = spawnSync('bash', [path.join(import.meta.dirname, 'build.sh')], {
    env: { ...process.env, EKB_SRC: source },
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  const vars = Object.fromEntries(
    res.stdout
      .split('\n')
      .map((l) => /^(\w+)=(.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => [m[1], m[2]]),
  );
  if (res.status !== 0 || !vars.JAVA || !vars.RECEIVER_JAR || !vars.DISPATCHER_JAR) {
    return res.status === 3
      ? 'anchor skipped: no source or no JDK >= 21 (see the [anchor] line above)'
      : `anchor skipped: build.sh failed (exit ${res.status}), see the [anchor] lines above`;
  }
  return { java: vars.JAVA, receiverJar: vars.RECEIVER_JAR, dispatcherJar: vars.DISPATCHER_JAR, source };
}

/** The `<name>.properties: |` block of Knative's broker data-plane ConfigMap, as a properties file. */
function configMapProperties(source: string, name: string, overrides: Record<string, string> = {}): string {
  const yaml = readFileSync(
    path.join(source, 'data-plane/config/broker/100-config-kafka-broker-data-plane.yaml'),
    'utf8',
  );
  const lines = yaml.split('\n');
  const start = lines.indexOf(`  ${name}: |`);
  if (start < 0) throw new Error(`no ${name} in Knative's config-kafka-broker-data-plane`);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && !line.startsWith('    ')) break;
    body.push(line.slice(4));
  }
  let text = body.join('\n');
  for (const [key, value] of Object.entries(overrides)) {
    const re = new RegExp(`^${key.replaceAll('.', '\\.')}=.*$`, 'm');
    text = re.test(text) ? text.replace(re, `${key}=${value}`) : `${text}\n${key}=${value}`;
  }
  return `${text}\n`;
}

function contract(ctx: StartContext, path_: string): unknown {
  const reference = (uuid: string, name: string, kind: string) => ({
    uuid,
    namespace: 'default',
    name,
    kind,
    groupVersion: 'eventing.knative.dev/v1',
  });
  return {
    generation: '1',
    resources: [
      {
        uid: 'perf-broker-uid',
        topics: [ctx.topic],
        bootstrapServers: ctx.brokers.join(','),
        ingress: { path: path_ },
        egressConfig: { retry: 3, backoffPolicy: 'Exponential', backoffDelay: '200', timeout: '10000' },
        egresses: benchTriggers(ctx).map((t) => ({
          consumerGroup: t.group,
          destination: t.subscriber,
          replyToOriginalTopic: {},
          uid: `${t.name}-uid`,
          deliveryOrder: 'UNORDERED',
          ...(t.type ? { filter: { attributes: { type: t.type } } } : {}),
          reference: reference(`${t.name}-uid`, t.name, 'Trigger'),
        })),
        absentAuth: {},
        reference: reference('perf-broker-uid', 'perf', 'Broker'),
      },
    ],
  };
}

const LOGBACK = `<configuration>
  <appender name="out" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n</pattern></encoder>
  </appender>
  <logger name="org.apache.kafka" level="WARN"/>
  <root level="INFO"><appender-ref ref="out"/></root>
</configuration>
`;

async function waitForLine(
  file: string,
  pattern: RegExp,
  proc: PeerProcess,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {}
    if (pattern.test(text)) return;
    if (proc.hasExited) throw new Error(`${path.basename(file)}: process ended (${proc.exitReason})`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} in ${file}`);
    await sleep(250);
  }
}

export async function startKnative(
  build: AnchorBuild,
  ctx: StartContext,
  ingressPath: string,
  partitions: number,
): Promise<RunningContender> {
  const [ingressPort, tlsPort] = ctx.ports as [number, number];
  const dir = ctx.dir;
  for (const sub of ['config', 'contract', 'observability', 'features'])
    mkdirSync(path.join(dir, sub), { recursive: true });
  const props = (name: string, overrides?: Record<string, string>) => {
    const file = path.join(dir, 'config', name);
    writeFileSync(file, configMapProperties(build.source, name, overrides));
    return file;
  };
  // earliest instead of the ConfigMap's latest: the topic and group are fresh per start, and the
  // warm-up must not depend on the group having joined before the first event.
  const consumer = props('config-kafka-broker-consumer.properties', { 'auto.offset.reset': 'earliest' });
  const common = {
    ...process.env,
    SERVICE_NAMESPACE: 'knative-eventing',
    PRODUCER_CONFIG_FILE_PATH: props('config-kafka-broker-producer.properties'),
    DATA_PLANE_CONFIG_FILE_PATH: path.join(dir, 'contract', 'data'),
    METRICS_PUBLISH_QUANTILES: 'false',
    METRICS_JVM_ENABLED: 'false',
    CONFIG_OBSERVABILITY_PATH: path.join(dir, 'observability'),
    CONFIG_FEATURES_PATH: path.join(dir, 'features'),
    HTTP2_DISABLE: 'true',
    WAIT_STARTUP_SECONDS: '8',
  };
  writeFileSync(common.DATA_PLANE_CONFIG_FILE_PATH, JSON.stringify(contract(ctx, ingressPath)));
  const logback = path.join(dir, 'logback.xml');
  writeFileSync(logback, LOGBACK);

  const kafka = new Kafka({
    clientId: 'bench-broker-anchor',
    brokers: ctx.brokers,
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic: ctx.topic, numPartitions: partitions }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }

  const processes: { role: string; proc: PeerProcess }[] = [];
  const stop = async () => {
    await Promise.all(processes.map(({ proc }) => proc.stop(10_000)));
  };
  try {
    const receiverLog = path.join(dir, 'receiver.log');
    const receiver = spawnPeer(
      build.java,
      [
        `-Dlogback.configurationFile=${logback}`,
        `-XX:ErrorFile=${dir}/hs_err_pid%p.log`,
        '-jar',
        build.receiverJar,
      ],
      {
        outFile: receiverLog,
        label: 'bench-knative-receiver',
        env: {
          ...common,
          SERVICE_NAME: 'kafka-broker-receiver',
          INGRESS_PORT: String(ingressPort),
          INGRESS_TLS_PORT: String(tlsPort),
          HTTPSERVER_CONFIG_FILE_PATH: props('config-kafka-broker-httpserver.properties'),
          LIVENESS_PROBE_PATH: '/healthz',
          READINESS_PROBE_PATH: '/readyz',
          JAVA_TOOL_OPTIONS: '-XX:+CrashOnOutOfMemoryError',
        },
      },
    );
    processes.push({ role: 'receiver', proc: receiver });
    ctx.log(`knative: receiver starting on :${ingressPort} (log ${receiverLog})`);
    await waitHttp(`http://127.0.0.1:${ingressPort}/readyz`, 90_000, [receiver]);
    if (ctx.kind === 'e2e') {
      const dispatcherLog = path.join(dir, 'dispatcher.log');
      const dispatcher = spawnPeer(
        build.java,
        [
          `-Dlogback.configurationFile=${logback}`,
          `-XX:ErrorFile=${dir}/hs_err_pid%p.log`,
          '-jar',
          build.dispatcherJar,
        ],
        {
          outFile: dispatcherLog,
          label: 'bench-knative-dispatcher',
          env: {
            ...common,
            SERVICE_NAME: 'kafka-broker-dispatcher',
            CONSUMER_CONFIG_FILE_PATH: consumer,
            WEBCLIENT_CONFIG_FILE_PATH: props('config-kafka-broker-webclient.properties'),
            EGRESSES_INITIAL_CAPACITY: '20',
            INSTANCE_ID: 'bench-dispatcher-1',
            // The pod's default is 70% of a 1000Mi limit (Initial/Min/MaxRAMPercentage); here the heap is explicit.
            JAVA_TOOL_OPTIONS: '-XX:+CrashOnOutOfMemoryError -Xms700m -Xmx700m',
          },
        },
      );
      processes.push({ role: 'dispatcher', proc: dispatcher });
      ctx.log(`knative: dispatcher starting (log ${dispatcherLog}), waiting for its partition assignment`);
      await waitForLine(dispatcherLog, /Received assign partitions/, dispatcher, 90_000);
    }
    await sleep(3000); // the receiver's producer connects on the first contract; give it a moment
    return { url: `http://127.0.0.1:${ingressPort}${ingressPath}`, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
