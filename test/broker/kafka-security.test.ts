// Kafka with SASL and TLS: both event-log clients append and consume through a real broker's
// SASL_PLAINTEXT (PLAIN, SCRAM), SSL and SASL_SSL listeners; a wrong password or an unknown CA fails
// with an error saying so instead of retrying for ever; and every process that opens the log, set up
// only by the chart's EDDY_KAFKA_* variables, works over SASL_SSL: `eddy ingress` + `eddy dispatcher`
// deliver an event, serving's backlog reader reads a lag, `eddy dev --kafka` (and the processes it
// starts) delivers, and `eddy controller` deletes a deleted Trigger's consumer group.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHttpBinary } from '@eddy/api';
import {
  type EventLog,
  KAFKA_CLIENTS,
  type KafkaClientName,
  type KafkaSecurity,
  kafkaSecurityFromEnv,
  openKafkaEventLog,
} from '@eddy/broker';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { kafkaBacklog } from '../../packages/cli/src/commands/kafka-backlog.ts';
import { spawnEddyDev } from '../cli/helpers.ts';
import { freePorts } from '../harness/free-ports.ts';
import { type SecureKafka, startSecureKafka } from '../harness/kafka-secure.ts';
import { kubectlFor } from '../harness/kubernetes.ts';
import { spawnNodeScript } from '../harness/node-process.ts';
import { controllerArgs, installCrds } from '../kubernetes/helpers.ts';
import { eddyJs, spawnDataPlane, writeContract } from './data-plane-processes.ts';
import { brokerYaml, quiet, startSubscriber, triggerYaml, unique, waitFor } from './helpers.ts';

let kafka: SecureKafka;
beforeAll(async () => {
  kafka = await startSecureKafka();
}, 240_000);
afterAll(async () => {
  await kafka?.stop();
});

/** A log on `client` through `listener`, closed when the test ends; short timeouts so failures show fast. */
function openLog(client: KafkaClientName, broker: string, security: KafkaSecurity): EventLog {
  const log = openKafkaEventLog({
    client,
    brokers: [broker],
    security,
    logger: quiet,
    appendTimeoutMs: 15_000,
    operationTimeoutMs: 15_000,
    readyTimeoutMs: 20_000,
    maxWaitTimeMs: 200,
  });
  onTestFinished(() => log.close());
  return log;
}

/** Creates a topic, appends one event and reads it back through a consumer group. */
async function roundTrip(log: EventLog): Promise<void> {
  const topic = unique('secure');
  await log.ensureTopic(topic, { partitions: 1 });
  const id = unique('evt');
  await log.append(topic, [{ specversion: '1.0', id, source: '/eddy/test', type: 'secure.test' }]);
  const seen: string[] = [];
  const consumer = await log.consume({
    group: unique('group'),
    topic,
    start: 'earliest',
    handler: async (batch) => {
      seen.push(...batch.records.map((r) => r.event.id));
    },
  });
  onTestFinished(() => consumer.close());
  await consumer.ready();
  await waitFor('the event to be consumed', () => seen.includes(id));
}

const sasl = (mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512', password?: string) => ({
  mechanism,
  username: kafka.username,
  password: password ?? kafka.password,
});

describe.each(KAFKA_CLIENTS)('Kafka event log on %s with TLS and SASL', (client) => {
  it('PLAIN over SASL_PLAINTEXT', { timeout: 60_000 }, async () => {
    await roundTrip(openLog(client, kafka.listeners.saslPlaintext, { sasl: sasl('plain') }));
  });

  it('SCRAM-SHA-512 over SASL_PLAINTEXT', { timeout: 60_000 }, async () => {
    await roundTrip(openLog(client, kafka.listeners.saslPlaintext, { sasl: sasl('scram-sha-512') }));
  });

  it('TLS with the CA (SSL listener)', { timeout: 60_000 }, async () => {
    await roundTrip(openLog(client, kafka.listeners.ssl, { tls: { ca: kafka.caPem } }));
  });

  it('SCRAM-SHA-256 over TLS (SASL_SSL listener)', { timeout: 60_000 }, async () => {
    await roundTrip(
      openLog(client, kafka.listeners.saslSsl, { tls: { ca: kafka.caPem }, sasl: sasl('scram-sha-256') }),
    );
  });

  it.each(['plain', 'scram-sha-512'] as const)(
    'a wrong %s password fails the call with an authentication error',
    { timeout: 60_000 },
    async (mechanism) => {
      const log = openLog(client, kafka.listeners.saslPlaintext, {
        sasl: sasl(mechanism, 'not-the-password'),
      });
      const started = Date.now();
      const error = await log.ensureTopic(unique('denied')).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error, 'ensureTopic with a wrong password').toBeInstanceOf(Error);
      // Each client's own words reach the message: `SASL PLAIN authentication failed: ...` (kafkajs),
      // `...: SASL authentication failed.` (@platformatic/kafka).
      expect(error?.message).toMatch(/SASL .*authentication failed/);
      // Failing is not enough: it must not sit out the whole operation timeout retrying.
      expect(Date.now() - started).toBeLessThan(15_000);
    },
  );

  it('TLS against a CA the client does not trust fails with a certificate error', {
    timeout: 60_000,
  }, async () => {
    // No `ca`: the system's CAs, which never signed the test broker's certificate.
    const log = openLog(client, kafka.listeners.ssl, { tls: {} });
    const error = await log.ensureTopic(unique('untrusted')).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error?.message).toMatch(/self-signed certificate in certificate chain/);
  });
});

/** What the Helm chart sets for SASL_SSL with a CA Secret. */
const saslSslEnv = () => ({
  EDDY_KAFKA_TLS_ENABLED: 'true',
  EDDY_KAFKA_TLS_CA_FILE: kafka.caFile,
  EDDY_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
  EDDY_KAFKA_SASL_USERNAME: kafka.username,
  EDDY_KAFKA_SASL_PASSWORD: kafka.password,
});

/** A CloudEvent POSTed to a broker's ingress URL; resolves with the HTTP status. */
async function sendEvent(url: string, id: string, type: string): Promise<number> {
  const message = toHttpBinary({
    specversion: '1.0',
    id,
    source: '/eddy/test',
    type,
    datacontenttype: 'text/plain',
    data: Buffer.from('hello'),
  });
  const response = await request(url, { method: 'POST', headers: message.headers, body: message.body });
  await response.body.text();
  return response.statusCode;
}

describe('eddy ingress and eddy dispatcher configured by EDDY_KAFKA_*', () => {
  it('deliver an event over SASL_SSL (SCRAM-SHA-512, CA from a file)', { timeout: 120_000 }, async () => {
    const env = saslSslEnv();
    // What the processes will parse, checked here so a parse failure names itself.
    expect(kafkaSecurityFromEnv(env).sasl?.mechanism).toBe('scram-sha-512');
    const sub = await startSubscriber();
    const [port] = await freePorts(1);
    const ns = unique('secure');
    const contract = writeContract(
      port!,
      [
        brokerYaml(ns),
        triggerYaml(ns, 'all', `  broker: default\n  subscriber:\n    uri: ${sub.url}\n`),
      ].join('\n---\n'),
    );
    const common = [
      '--contract',
      contract,
      '--log',
      'kafka',
      '--brokers',
      kafka.listeners.saslSsl,
      '--retry-state-topic',
      unique('retry-state'),
    ];
    const ingress = spawnDataPlane(['--component', 'ingress', '--port', String(port), ...common], env);
    const dispatcher = spawnDataPlane(['--component', 'dispatcher', '--port', '0', ...common], env);
    for (const p of [ingress, dispatcher]) await p.waitForLine(/applied contract generation 1/, 90_000);

    expect(await sendEvent(`http://127.0.0.1:${port}/${ns}/default`, 'over-sasl-ssl', 'secure.e2e')).toBe(
      202,
    );
    await waitFor('the subscriber to receive the event', () => sub.ofType('secure.e2e').length === 1, 60_000);
  });

  it('a process refuses to start on a bad EDDY_KAFKA_* setting, naming the variable', {
    timeout: 60_000,
  }, async () => {
    const [port] = await freePorts(1);
    const contract = writeContract(port!, brokerYaml(unique('bad')));
    const ingress = spawnDataPlane(
      [
        '--component',
        'ingress',
        '--port',
        String(port),
        '--contract',
        contract,
        '--log',
        'kafka',
        '--brokers',
        kafka.listeners.saslPlaintext,
      ],
      {
        EDDY_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-1',
        EDDY_KAFKA_SASL_USERNAME: 'u',
        EDDY_KAFKA_SASL_PASSWORD: 'p',
      },
    );
    await ingress.waitForLine(/EDDY_KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512/);
    expect((await ingress.exited).code).not.toBe(0);
  });
});

describe("eddy serving's backlog reader configured by EDDY_KAFKA_*", () => {
  it.each(KAFKA_CLIENTS)('reads a group lag over SASL_SSL on %s', { timeout: 60_000 }, async (client) => {
    const log = openLog(client, kafka.listeners.saslSsl, {
      tls: { ca: kafka.caPem },
      sasl: sasl('scram-sha-512'),
    });
    const topic = unique('backlog');
    await log.ensureTopic(topic, { partitions: 2 });
    await log.append(
      topic,
      [1, 2, 3].map((i) => ({
        specversion: '1.0',
        id: `b-${i}`,
        source: '/eddy/test',
        type: 'secure.backlog',
      })),
    );
    const reader = kafkaBacklog.open({
      brokers: [kafka.listeners.saslSsl],
      kafkaClient: client,
      logger: quiet,
      env: saslSslEnv(),
    });
    onTestFinished(() => reader.close());
    // A group that never committed owes every record.
    expect(await reader.lag('route', { group: unique('never-committed'), topic })).toBe(3);
  });
});

describe('eddy dev --kafka configured by EDDY_KAFKA_*', () => {
  it('its own log and the processes it starts (ingress, dispatcher, serving) reach Kafka over SASL_SSL', {
    timeout: 150_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-dev-secure-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const sub = await startSubscriber();
    writeFileSync(
      join(dir, 'mesh.yaml'),
      [
        brokerYaml('default'),
        triggerYaml('default', 'all', `  broker: default\n  subscriber:\n    uri: ${sub.url}\n`),
      ].join('\n---\n'),
    );
    const dev = spawnEddyDev(
      ['-f', 'mesh.yaml', '--kafka', kafka.listeners.saslSsl, '--port', '0', '--data-dir', 'state'],
      dir,
      saslSslEnv(),
    );
    onTestFinished(() => {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
    });
    const ingress =
      (await dev.waitFor(/^ {2}ingress {2}http:\/\/127\.0\.0\.1:\d+/, 90_000)).split(/\s+/)[2] ?? '';
    await dev.waitFor(/^Trigger default\/all {2}Ready$/, 90_000);
    await waitFor(
      'the ingress to accept the event',
      async () => (await sendEvent(`${ingress}/default/default`, 'dev-over-sasl-ssl', 'secure.dev')) === 202,
      60_000,
    );
    await waitFor('the subscriber to receive the event', () => sub.ofType('secure.dev').length >= 1, 60_000);
    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
  });
});

describe('eddy controller configured by EDDY_KAFKA_*', () => {
  // The controller's Kafka work a test can see: a deleted Trigger keeps its finalizer until the
  // controller deleted its consumer group, which it can only do through the SASL_SSL listener.
  it("deletes a deleted Trigger's consumer group over SASL_SSL, so the Trigger goes", {
    timeout: 150_000,
  }, async () => {
    const cluster = inject('kubernetes');
    const kubectl = kubectlFor(cluster);
    const must = async (args: string[], input?: string) => {
      const r = await kubectl(args, input !== undefined ? { input } : {});
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    };
    await installCrds(kubectl);
    const ns = unique('kafkasec');
    await must(['create', 'namespace', ns]);
    onTestFinished(() => kubectl(['delete', 'namespace', ns, '--wait=false']).then(() => {}));
    const [port] = await freePorts(1);
    const retryState = unique('retry-state');
    const controller = spawnNodeScript(
      eddyJs,
      controllerArgs({
        kubeconfig: cluster.kubeconfigPath,
        kafka: kafka.listeners.saslSsl,
        ingressUrl: 'http://127.0.0.1:9',
        port: port as number,
        namespace: ns,
        extra: ['--id', 'secure', '--no-webhook'],
      }),
      saslSslEnv(),
    );
    await controller.waitForLine(/secure: leading/, 60_000);
    // The controller deletes a group once every dispatcher runs a contract without it; the ingress
    // creates the Broker's topic the dispatcher consumes.
    const dataPlane = ['ingress', 'dispatcher'].map((component) =>
      spawnNodeScript(
        eddyJs,
        [
          component,
          '--contract',
          `http://127.0.0.1:${port}/v1/contract/broker`,
          '--log',
          'kafka',
          '--brokers',
          kafka.listeners.saslSsl,
          '--port',
          '0',
          '--retry-state-topic',
          retryState,
        ],
        saslSslEnv(),
      ),
    );
    await must(
      ['apply', '-n', ns, '-f', '-'],
      [
        brokerYaml(ns),
        triggerYaml(ns, 'doomed', '  broker: default\n  subscriber:\n    uri: http://127.0.0.1:9\n'),
      ].join('\n---\n'),
    );
    const triggers = async () =>
      (
        JSON.parse(await must(['get', 'triggers', '-n', ns, '-o', 'json'])) as {
          items: { metadata: { finalizers?: string[] } }[];
        }
      ).items;
    await waitFor(
      'the consumer-group finalizer on the Trigger',
      async () => (await triggers())[0]?.metadata.finalizers?.includes('eddy.dev/consumer-group') === true,
      60_000,
    );
    for (const p of dataPlane) await p.waitForLine(/applied contract generation/, 60_000);
    await must(['delete', 'trigger', 'doomed', '-n', ns, '--wait=false']);
    await waitFor('the Trigger to be gone', async () => (await triggers()).length === 0, 60_000);
    expect(
      controller.output.some((l) => l.includes(`consumer group knative-trigger-${ns}-doomed deleted`)),
    ).toBe(true);
  });
});
