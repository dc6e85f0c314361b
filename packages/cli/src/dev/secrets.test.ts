// Issue 10 (part 2), in process: v1 Secrets and ConfigMaps in the manifests `eddy dev` watches. The
// acceptance point: a GitHubSource and its Secret in one file come up Ready with no environment
// variable; a webhook signed with the Secret's token (a real @octokit/webhooks-examples payload, signed
// as GitHub signs) is delivered and a forged one refused. Then: a changed Secret restarts the source
// (new token accepted, old refused), a deleted one makes it NotReady naming where it looked, the
// environment wins over a Secret, a Service's env valueFrom follows its Secret and ConfigMap, a Broker's
// spec.config ConfigMap reaches the contract and the topic, and no value shows in the admin API, the
// get/describe output, the data dir's resources.json, the logs or the printed lines.

import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { DescribeResponse, StoredResource } from '../admin/protocol.js';
import { renderResources } from '../commands/get.js';
import { renderDescribe } from '../format/describe-text.js';
import { type DevServer, type DevServerOptions, startDevServer } from './dev-server.js';
import { STORE_FILE } from './file-resource-store.js';
import { SECRETS_FILE } from './secret-values.js';
import { admin, Cleanups, type Subscriber, startSubscriber } from './testing/dev-test-kit.js';
import { waitFor } from './testing/wait.js';

interface WebhookDefinition {
  name: string;
  examples: Record<string, unknown>[];
}
const examples = createRequire(import.meta.url)('@octokit/webhooks-examples') as WebhookDefinition[];
const issuesPayload = JSON.stringify(examples.find((d) => d.name === 'issues')?.examples[0]);

const cleanups = new Cleanups();
afterEach(() => cleanups.run());
const tempDir = () => cleanups.tempDir('eddy-secrets-');

interface Started {
  server: DevServer;
  lines: string[];
  logs: string[];
}

async function start(
  dataDir: string,
  files: string[],
  options: Partial<DevServerOptions> = {},
): Promise<Started> {
  const lines: string[] = [];
  const logs: string[] = [];
  const server = await startDevServer({
    dataDir,
    files,
    port: 0,
    print: (l) => lines.push(l),
    watchIntervalMs: 200,
    env: {},
    logger: pino({ level: 'debug' }, { write: (l: string) => void logs.push(l) }),
    ...options,
  });
  cleanups.push(() => server.close());
  return { server, lines, logs };
}

const ready = (server: DevServer, key: string) =>
  server.store.get(key)?.resource.status?.conditions?.find((c) => c.type === 'Ready');

const secretManifest = (token: string) => `apiVersion: v1
kind: Secret
metadata: {name: github-webhook}
type: Opaque
data:
  access: ${Buffer.from('not-used-by-eddy').toString('base64')}
stringData:
  token: ${JSON.stringify(token)}
`;

const gitHubMesh = (sub: Subscriber, secret: string | undefined) => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: github-to-sub}
spec:
  broker: default
  filter: {attributes: {type: dev.knative.source.github.issues}}
  subscriber: {uri: ${sub.url}/github}
---
apiVersion: sources.knative.dev/v1alpha1
kind: GitHubSource
metadata: {name: github}
spec:
  ownerAndRepository: octo-org/octo-repo
  eventTypes: [issues]
  accessToken: {secretKeyRef: {name: github-webhook, key: access}}
  secretToken: {secretKeyRef: {name: github-webhook, key: token}}
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}
${secret === undefined ? '' : `---\n${secretManifest(secret)}`}`;

/** The webhook URL from the source's Deployed condition, once Ready. */
async function webhookUrl(server: DevServer): Promise<string> {
  await waitFor(
    'GitHubSource Ready',
    () => ready(server, 'GitHubSource/default/github')?.status === 'True',
    20_000,
  );
  const deployed = server.store
    .get('GitHubSource/default/github')
    ?.resource.status?.conditions?.find((c) => c.type === 'Deployed');
  const url = /webhook endpoint (http:\/\/\S+)/.exec(deployed?.message ?? '')?.[1];
  expect(url).toBeDefined();
  return url!;
}

/** Posts the issues example signed with `secret`; the delivery id, and the status the source answered. */
async function deliver(url: string, secret: string): Promise<{ status: number; delivery: string }> {
  const delivery = randomUUID();
  const res = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(issuesPayload).digest('hex')}`,
    },
    body: issuesPayload,
  });
  await res.body.text();
  return { status: res.statusCode, delivery };
}

/** The event log's topic, once the ingress created it. */
async function topicOf(server: DevServer, name: string) {
  for (let i = 0; i < 100; i++) {
    const topic = (await server.log.listTopics()).find((t) => t.name === name);
    if (topic) return topic;
    await sleep(200);
  }
  throw new Error(`topic ${name} was not created`);
}

async function delivered(sub: Subscriber, delivery: string): Promise<void> {
  await waitFor(`delivery ${delivery}`, () => sub.received.some((e) => e.id === delivery), 15_000);
}

describe('Secrets and ConfigMaps in eddy dev', () => {
  it('a GitHubSource and its Secret in one file: Ready with no environment variable, signed delivery in, forged out; a changed Secret restarts it; a deleted one is reported; values never shown', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const file = join(dir, 'github.yaml');
    const token = `tok-${randomUUID()}`;
    writeFileSync(file, gitHubMesh(sub, token));
    const dataDir = join(dir, '.eddy');
    const { server, lines, logs } = await start(dataDir, [file]);

    const url = await webhookUrl(server);
    const signed = await deliver(url, token);
    expect(signed.status).toBe(202);
    await delivered(sub, signed.delivery);
    expect(sub.received.find((e) => e.id === signed.delivery)?.type).toBe('dev.knative.source.github.issues');
    const forged = await deliver(url, 'not-the-secret');
    expect(forged.status).toBe(401);

    // Redacted everywhere: admin API get, list and describe, get -o yaml/json and table, describe text.
    const got = (await admin(server, 'GET', '/v1/resources/Secret/default/github-webhook'))
      .body as unknown as StoredResource;
    expect(got).toMatchObject({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      data: { access: '<redacted: 16 bytes>', token: `<redacted: ${token.length} bytes>` },
    });
    expect(got).not.toHaveProperty('stringData');
    const listed = (await admin(server, 'GET', '/v1/resources?kind=secret')).body as {
      items: StoredResource[];
    };
    const described = (await admin(server, 'GET', '/v1/describe/Secret/default/github-webhook'))
      .body as unknown as DescribeResponse;
    const now = Date.now();
    const shown = [
      JSON.stringify(listed),
      JSON.stringify(described),
      ...renderResources('Secret', listed.items, 'json', {
        allNamespaces: false,
        single: false,
        context: { now },
      }),
      ...renderResources('Secret', [got], 'yaml', { allNamespaces: false, single: true, context: { now } }),
      ...renderResources('Secret', listed.items, 'table', {
        allNamespaces: false,
        single: false,
        context: { now },
      }),
      ...renderDescribe(described, now),
    ].join('\n');
    expect(shown).toMatch(/^NAME\s+TYPE\s+DATA\s+AGE\ngithub-webhook\s+Opaque\s+2\s+\S+$/m);
    expect(renderDescribe(described, now)).toEqual(
      expect.arrayContaining([
        'Type:         Opaque',
        'Data:',
        '  access:  16 bytes',
        `  token:   ${token.length} bytes`,
      ]),
    );

    // A new token in the file restarts the source: the new one is accepted, the old one refused.
    const token2 = `tok-${randomUUID()}`;
    writeFileSync(file, gitHubMesh(sub, token2));
    await waitFor(
      'the source to take the new token',
      () => server.store.get('Secret/default/github-webhook')?.resource.metadata.generation === 2,
      10_000,
    );
    await server.settled();
    const url2 = await webhookUrl(server);
    let at = url2;
    const renewed = await waitFor(
      'the new token to be accepted',
      async () => {
        const r = await deliver(at, token2);
        at = await webhookUrl(server);
        return r.status === 202 ? r : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(renewed.status).toBe(202);
    await delivered(sub, renewed.delivery);
    expect((await deliver(await webhookUrl(server), token)).status).toBe(401);

    // The data dir: resources.json has no value, secrets.json is the owner's only.
    server.store.flush();
    const onDisk = readFileSync(join(dataDir, STORE_FILE), 'utf8');
    expect(statSync(join(dataDir, SECRETS_FILE)).mode & 0o777).toBe(0o600);

    // Deleting the Secret (removing it from the file) stops the source, saying where it looked.
    writeFileSync(file, gitHubMesh(sub, undefined));
    await waitFor('the Secret to go', () => lines.includes('Secret default/github-webhook  deleted'), 10_000);
    await waitFor(
      'the source to fail',
      () => ready(server, 'GitHubSource/default/github')?.status === 'False',
      15_000,
    );
    expect(ready(server, 'GitHubSource/default/github')).toMatchObject({
      reason: 'StartFailed',
      message:
        'secret default/github-webhook key token not found (looked for environment variable EDDY_SECRET_GITHUB_WEBHOOK_TOKEN, then Secret default/github-webhook, which was not applied)',
    });

    for (const [where, text] of [
      ['admin API and CLI output', shown],
      ['resources.json', onDisk],
      ['printed lines', lines.join('\n')],
      ['logs', logs.join('')],
    ] as const) {
      for (const value of [
        token,
        token2,
        'not-used-by-eddy',
        Buffer.from('not-used-by-eddy').toString('base64'),
      ])
        expect(text.includes(value), `${where} must not contain a Secret value`).toBe(false);
    }
  }, 90_000);

  it('the environment wins over a Secret manifest; the Secret applies once the variable is gone (restart)', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const file = join(dir, 'github.yaml');
    writeFileSync(file, gitHubMesh(sub, 'from-the-manifest'));
    const env = { EDDY_SECRET_GITHUB_WEBHOOK_TOKEN: 'from-the-environment' };
    const first = await start(join(dir, '.eddy'), [file], { env });
    const url = await webhookUrl(first.server);
    const byEnv = await deliver(url, 'from-the-environment');
    expect(byEnv.status).toBe(202);
    await delivered(sub, byEnv.delivery);
    expect((await deliver(url, 'from-the-manifest')).status).toBe(401);
    await first.server.close();

    const second = await start(join(dir, '.eddy'), [file], { env: {} });
    await second.server.settled();
    const url2 = await webhookUrl(second.server);
    expect((await deliver(url2, 'from-the-manifest')).status).toBe(202);
    expect((await deliver(url2, 'from-the-environment')).status).toBe(401);
  }, 60_000);

  it("a Service's env valueFrom follows its Secret and ConfigMap: a changed value restarts the replicas", async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'greeter.cjs'),
      `require('node:http').createServer((q, s) => s.end(process.env.GREETING + '|' + process.env.LEVEL))
        .listen(+process.env.PORT, '127.0.0.1');
      process.on('SIGTERM', () => process.exit(0));`,
    );
    const file = join(dir, 'greeter.yaml');
    const manifests = (greeting: string, level: string) => `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: greeter}
spec:
  template:
    metadata:
      annotations: {autoscaling.knative.dev/min-scale: "1"}
    spec:
      containers:
        - command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(join(dir, 'greeter.cjs'))}]
          env:
            - name: GREETING
              valueFrom: {secretKeyRef: {name: greeter, key: greeting}}
            - name: LEVEL
              valueFrom: {configMapKeyRef: {name: greeter, key: level}}
---
apiVersion: v1
kind: Secret
metadata: {name: greeter}
stringData: {greeting: ${greeting}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: greeter}
data: {level: ${level}}
`;
    writeFileSync(file, manifests('hello', 'info'));
    const { server, logs } = await start(join(dir, '.eddy'), [file]);
    const answer = async () => {
      const res = await request(`${server.routerUrl}/default/greeter`);
      return res.body.text();
    };
    await waitFor('Service Ready', () => ready(server, 'Service/default/greeter')?.status === 'True', 25_000);
    expect(await answer()).toBe('hello|info');
    writeFileSync(file, manifests('bonjour', 'debug'));
    let last = '';
    await waitFor(
      'the replica to answer with the new values',
      async () => {
        last = await answer().catch((e: Error) => e.message);
        return last === 'bonjour|debug';
      },
      { timeoutMs: 25_000, intervalMs: 250, describe: () => `last answer: ${last}` },
    );
    expect(last, logs.filter((l) => l.includes('greeter')).join('')).toBe('bonjour|debug');
    // Same revision: a value is not a new revision.
    expect(server.store.list({ kind: 'Revision' }).map((e) => e.resource.metadata.name)).toEqual([
      'greeter-00001',
    ]);
  }, 60_000);

  it("a Broker's spec.config ConfigMap (applied through the admin API) sets its topic; eddy.dev annotations win", async () => {
    const dir = tempDir();
    const { server } = await start(join(dir, '.eddy'), []);
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: kafka-broker-config}
data:
  default.topic.partitions: "5"
  default.topic.replication.factor: "1"
  default.topic.config.retention.ms: "3600000"
  default.topic.config.max.message.bytes: "2097152"
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: configured
  annotations: {eddy.dev/retention: PT2H}
spec:
  config: {apiVersion: v1, kind: ConfigMap, name: kafka-broker-config}
`;
    const applied = await admin(server, 'POST', '/v1/apply', { text, file: 'b.yaml' });
    expect(applied.body).toMatchObject({
      items: [
        { kind: 'ConfigMap', name: 'kafka-broker-config', action: 'created' },
        { kind: 'Broker', name: 'configured', action: 'created' },
      ],
    });
    await server.settled();
    expect(server.reconciler.eventingContract?.brokers).toEqual([
      {
        namespace: 'default',
        name: 'configured',
        path: '/default/configured',
        topic: 'knative-broker-default-configured',
        partitions: 5,
        retentionMs: 7_200_000,
        replicationFactor: 1,
        config: { 'max.message.bytes': '2097152' },
      },
    ]);
    // The embedded log honours partitions and retention (one copy; other topic configs are Kafka's).
    await waitFor('the topic', () => ready(server, 'Broker/default/configured')?.status === 'True');
    const topic = await topicOf(server, 'knative-broker-default-configured');
    expect(topic).toMatchObject({ partitions: 5, retentionMs: 7_200_000 });

    // Deleted through the admin API (eddy delete configmap): the Broker is back to the defaults.
    expect(
      (await admin(server, 'DELETE', '/v1/resources/ConfigMap/default/kafka-broker-config')).status,
    ).toBe(200);
    await server.settled();
    expect(server.reconciler.eventingContract?.brokers[0]).toMatchObject({
      partitions: 1,
      retentionMs: 7_200_000,
    });
    expect(server.reconciler.eventingContract?.brokers[0]).not.toHaveProperty('replicationFactor');

    // A bad value is a located error naming the key, and nothing is applied.
    const bad = await admin(server, 'POST', '/v1/apply', {
      text: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  default.topic.partitions: 5\n',
      file: 'x.yaml',
    });
    expect(bad).toMatchObject({
      status: 400,
      body: {
        error:
          'x.yaml:5:29: error: #0 ConfigMap default/x: data["default.topic.partitions"]: expected a string, found integer 5',
      },
    });
  }, 30_000);

  it('on Kafka: the ConfigMap reaches topic creation (partitions, retention; replication factor and configs: kafka-event-log tests)', async () => {
    const dir = tempDir();
    const ns = `cm-${randomUUID().slice(0, 8)}`;
    const { server } = await start(join(dir, '.eddy'), [], { kafka: inject('kafkaBrokers') });
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: broker-config, namespace: ${ns}}
data:
  default.topic.partitions: "3"
  default.topic.replication.factor: "1"
  default.topic.config.retention.ms: "5400000"
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: ${ns}}
spec:
  config: {apiVersion: v1, kind: ConfigMap, name: broker-config}
`;
    expect((await admin(server, 'POST', '/v1/apply', { text, file: 'k.yaml' })).status).toBe(200);
    await server.settled();
    const name = `knative-broker-${ns}-default`;
    const found = await topicOf(server, name);
    expect(found).toMatchObject({ partitions: 3, retentionMs: 5_400_000 });
    await server.log.deleteTopic(name);
  }, 60_000);
});
