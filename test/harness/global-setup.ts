// vitest globalSetup: the real peers every test file shares, started once per run and in
// parallel: Kafka, an SQS server (ElasticMQ), the Pub/Sub fake (pstest) and a Kubernetes cluster.
// KAFKA_BROKERS, SQS_ENDPOINT, PUBSUB_EMULATOR_HOST and EDDY_TEST_KUBECONFIG point the tests at
// running ones instead.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ProvidedContext } from 'vitest';
import type { TestProject } from 'vitest/node';
import { peerBackend } from './docker.ts';
import { ELASTICMQ_REGION, startElasticMq } from './elasticmq.ts';
import { startKafka } from './kafka.ts';
import { ensureKubernetesTools, kubeconfigServer, kubectlFor, startKubernetesCluster } from './kubernetes.ts';
import { PSTEST_PROJECT_ID, startPubSubFake } from './pstest.ts';
import './vitest-context.ts';

export function parseBrokerList(value: string, source = 'KAFKA_BROKERS'): string[] {
  const brokers = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0)
    throw new Error(`${source} is set but lists no broker (expected host:port[,host:port])`);
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) {
      throw new Error(
        `${source}: ${JSON.stringify(broker)} is not host:port (whole value: ${JSON.stringify(value)})`,
      );
    }
  }
  return brokers;
}

/** An SQS endpoint is an http(s) URL with nothing after the host and port. */
export function parseSqsEndpoint(value: string, source = 'SQS_ENDPOINT'): string {
  let url: URL;
  try {
    // Without a scheme, `127.0.0.1:9324` would parse as a URL whose scheme is `127.0.0.1:`.
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value.trim())) throw new Error('no scheme');
    url = new URL(value.trim());
  } catch {
    throw new Error(`${source}: ${JSON.stringify(value)} is not a URL (expected http://host:port)`);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new Error(`${source}: ${JSON.stringify(value)} must be an http:// or https:// URL with a host`);
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new Error(`${source}: ${JSON.stringify(value)} must not have a path, query or fragment`);
  }
  return url.origin;
}

/** PUBSUB_EMULATOR_HOST is `host:port`, without a scheme (what Google's client libraries expect). */
export function parseEmulatorHost(value: string, source = 'PUBSUB_EMULATOR_HOST'): string {
  const host = value.trim();
  if (!/^[^\s:/]+:\d{1,5}$/.test(host)) {
    throw new Error(`${source}: ${JSON.stringify(value)} is not host:port (e.g. 127.0.0.1:8085)`);
  }
  return host;
}

/** What one started (or borrowed) peer contributes: values for the tests, and how to stop it. */
interface RunningPeer {
  values: Partial<ProvidedContext>;
  env: Record<string, string>;
  stop(): Promise<void>;
}

const fromEnv = (name: string): string | undefined => {
  const value = process.env[name];
  return value !== undefined && value.trim() !== '' ? value : undefined;
};

/** A peer someone else runs: the run only points the tests at it, and never stops it. */
function borrowedPeer(tag: string, description: string, values: Partial<ProvidedContext>): RunningPeer {
  process.stderr.write(`[${tag}] using ${description} (nothing started)\n`);
  return { values, env: {}, stop: async () => {} };
}

async function kafkaPeer(): Promise<RunningPeer> {
  const existing = fromEnv('KAFKA_BROKERS');
  if (existing !== undefined) {
    const brokers = parseBrokerList(existing);
    return borrowedPeer('kafka', `KAFKA_BROKERS=${brokers.join(',')}`, { kafkaBrokers: brokers });
  }
  const cluster = await startKafka();
  process.stderr.write(
    `[kafka] listening on ${cluster.brokers.join(',')}; log: ${cluster.logFiles.join(', ')}\n`,
  );
  return {
    values: { kafkaBrokers: cluster.brokers },
    // Test workers and any process a test spawns inherit these.
    env: { KAFKA_BROKERS: cluster.brokers.join(',') },
    stop: () => cluster.stop(),
  };
}

async function sqsPeer(): Promise<RunningPeer> {
  const existing = fromEnv('SQS_ENDPOINT');
  if (existing !== undefined) {
    const endpoint = parseSqsEndpoint(existing);
    const region = fromEnv('AWS_REGION') ?? ELASTICMQ_REGION;
    return borrowedPeer('elasticmq', `SQS_ENDPOINT=${endpoint} (region ${region})`, {
      sqsEndpoint: endpoint,
      sqsRegion: region,
    });
  }
  const mq = await startElasticMq();
  process.stderr.write(`[elasticmq] listening on ${mq.endpoint}; log: ${mq.logFile}\n`);
  return {
    values: { sqsEndpoint: mq.endpoint, sqsRegion: mq.region },
    env: { SQS_ENDPOINT: mq.endpoint },
    stop: () => mq.stop(),
  };
}

async function pubSubPeer(): Promise<RunningPeer> {
  const existing = fromEnv('PUBSUB_EMULATOR_HOST');
  if (existing !== undefined) {
    const host = parseEmulatorHost(existing);
    const projectId = fromEnv('PUBSUB_PROJECT_ID') ?? PSTEST_PROJECT_ID;
    return borrowedPeer('pstest', `PUBSUB_EMULATOR_HOST=${host} (project ${projectId})`, {
      pubsubEmulatorHost: host,
      pubsubProjectId: projectId,
    });
  }
  const fake = await startPubSubFake();
  process.stderr.write(`[pstest] listening on ${fake.emulatorHost}; log: ${fake.logFile}\n`);
  return {
    values: { pubsubEmulatorHost: fake.emulatorHost, pubsubProjectId: fake.projectId },
    // Google's client libraries read PUBSUB_EMULATOR_HOST themselves, so nothing a test starts
    // can reach the real Pub/Sub by accident.
    env: { PUBSUB_EMULATOR_HOST: fake.emulatorHost, PUBSUB_PROJECT_ID: fake.projectId },
    stop: () => fake.stop(),
  };
}

async function kubernetesPeer(): Promise<RunningPeer> {
  const log = (line: string) => process.stderr.write(`[kubernetes] ${line}\n`);
  const existing = fromEnv('EDDY_TEST_KUBECONFIG');
  if (existing !== undefined) {
    const kubeconfigPath = resolve(existing);
    if (!existsSync(kubeconfigPath)) {
      throw new Error(`EDDY_TEST_KUBECONFIG: there is no file ${kubeconfigPath}`);
    }
    // kubectl and friends: the ones that started that cluster (peers-cli prints EDDY_K8S_BIN),
    // else ours (built on first use).
    const givenBin = fromEnv('EDDY_K8S_BIN');
    const binDir = givenBin !== undefined ? resolve(givenBin) : (await ensureKubernetesTools(log)).binDir;
    const server = await kubeconfigServer(kubectlFor({ kubeconfigPath, binDir }));
    const peer = borrowedPeer('kubernetes', `EDDY_TEST_KUBECONFIG=${kubeconfigPath} (${server})`, {
      kubernetes: { kubeconfigPath, server, binDir },
    });
    return givenBin !== undefined ? peer : { ...peer, env: { EDDY_K8S_BIN: binDir } };
  }
  const cluster = await startKubernetesCluster({ log });
  return {
    values: {
      kubernetes: { kubeconfigPath: cluster.kubeconfigPath, server: cluster.server, binDir: cluster.binDir },
    },
    // Components a test starts as local processes (the controller, the webhook) find the cluster
    // and kubectl through these.
    env: { EDDY_TEST_KUBECONFIG: cluster.kubeconfigPath, EDDY_K8S_BIN: cluster.binDir },
    stop: () => cluster.stop(),
  };
}

function provideAll(project: TestProject, values: Partial<ProvidedContext>): void {
  for (const key of Object.keys(values) as (keyof ProvidedContext)[]) {
    project.provide(key, values[key] as ProvidedContext[typeof key]);
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const names = ['Kafka', 'SQS (ElasticMQ)', 'Pub/Sub (pstest)', 'Kubernetes'];
  const { backend, why } = peerBackend();
  process.stderr.write(
    `[peers] Kafka and ElasticMQ run ${backend === 'docker' ? 'as Docker containers' : 'from their jars'} (${why}; EDDY_TEST_DOCKER=0|1|auto chooses)\n`,
  );
  // All at once: the Kubernetes tools' first build takes minutes (niced, so it leaves CPU to the
  // others), and nothing waits for it but the end of the setup.
  const results = await Promise.allSettled([kafkaPeer(), sqsPeer(), pubSubPeer(), kubernetesPeer()]);
  const peers = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failures = results.flatMap((r, i) =>
    r.status === 'rejected'
      ? [`--- ${names[i]} ---\n${(r.reason as Error)?.message ?? String(r.reason)}`]
      : [],
  );
  if (failures.length > 0) {
    await Promise.allSettled(peers.map((p) => p.stop()));
    throw new Error(
      `the test harness could not start ${failures.length} of its peers (the others were stopped):\n${failures.join('\n')}`,
    );
  }
  const envNames: string[] = [];
  for (const peer of peers) {
    provideAll(project, peer.values);
    for (const [name, value] of Object.entries(peer.env)) {
      process.env[name] = value;
      envNames.push(name);
    }
  }
  return async () => {
    await Promise.allSettled(peers.map((p) => p.stop()));
    for (const name of envNames) delete process.env[name];
  };
}
