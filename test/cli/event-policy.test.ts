// EventPolicy and sender authentication under `eddy dev` (embedded log, and once with --kafka): with
// `--ingress-auth required` and a real OIDC issuer, a Broker admits only the senders its EventPolicies
// allow (401 without a valid token, 403 for others or for events a policy's filters refuse), refused
// events never reach the subscriber, rejections are counted; a channel and a KafkaSink are protected
// the same way; a static token from a labelled Secret works; a target without policy is deny-all.
// Without the flag nothing changes: everyone may send.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { startOidcIssuer, type TestOidcIssuer } from '../harness/oidc-issuer.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, type RunningDev, runEddy, spawnEddyDev } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'eddy-eventpolicy-'));
const A = 'system:serviceaccount:shop:sender-a';
const B = 'system:serviceaccount:shop:sender-b';
const BROKER_AUD = 'eventing.knative.dev/broker/shop/orders';
let issuer: TestOidcIssuer;
let subscriber: Server;
let subscriberUrl: string;
/** Event ids the subscriber received. */
const received = new Set<string>();

beforeAll(async () => {
  buildCli();
  issuer = await startOidcIssuer();
  subscriber = createServer((req, res) => {
    const id = req.headers['ce-id'];
    if (typeof id === 'string') received.add(id);
    req.resume();
    req.on('end', () => res.writeHead(202).end());
  });
  await new Promise<void>((r) => subscriber.listen(0, '127.0.0.1', r));
  subscriberUrl = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}`;
}, 240_000);
afterAll(async () => {
  await issuer?.close();
  subscriber?.closeAllConnections();
  await new Promise<void>((r) => (subscriber ? subscriber.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

function manifests(sinkTopic: string): string {
  const brokers = inject('kafkaBrokers').join(',');
  return `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: orders, namespace: shop}
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: unprotected, namespace: shop}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: all, namespace: shop}
spec:
  broker: orders
  subscriber: {uri: "${subscriberUrl}"}
---
apiVersion: messaging.knative.dev/v1
kind: InMemoryChannel
metadata: {name: ch, namespace: shop, labels: {protected: "yes"}}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: KafkaSink
metadata: {name: ks, namespace: shop}
spec: {topic: ${sinkTopic}, numPartitions: 1, replicationFactor: 1, bootstrapServers: ["${brokers}"]}
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata: {name: allow-a, namespace: shop}
spec:
  to: [{ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: orders}}]
  from: [{sub: "${A}"}]
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata: {name: builds, namespace: shop}
spec:
  to: [{ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: orders}}]
  from: [{sub: "ci-*"}]
  filters: [{prefix: {type: com.example.build.}}]
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata: {name: others, namespace: shop}
spec:
  to:
    - selector: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, matchLabels: {protected: "yes"}}
    - ref: {apiVersion: eventing.knative.dev/v1alpha1, kind: KafkaSink, name: ks}
  from: [{sub: "${A}"}]
---
apiVersion: v1
kind: Secret
metadata: {name: ci-token, namespace: shop, labels: {eddy.dev/sender-token: "true"}}
stringData: {token: static-ci-token-0123456789, subject: ci-static}
`;
}

let counter = 0;
/** POSTs one binary-mode event with an explicit Authorization header; status and the event's id. */
async function post(url: string, token: string | undefined, type = 'com.example.order') {
  const id = `ev-${++counter}-${Date.now()}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-type': type,
      'ce-source': '/event-policy-test',
      'content-type': 'application/json',
      ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}),
    },
    body: '{}',
  });
  const text = await res.text();
  return { status: res.status, id, text, challenge: res.headers.get('www-authenticate') };
}

async function startDev(
  name: string,
  args: string[],
): Promise<{ dev: RunningDev; base: string; dataDir: string }> {
  const dataDir = join(dir, `${name}-data`);
  const [port] = (await freePorts(1)) as [number];
  const dev = spawnEddyDev([...args, '--port', String(port), '--data-dir', dataDir], dir);
  return { dev, base: `http://127.0.0.1:${port}`, dataDir };
}

async function stop(dev: RunningDev): Promise<void> {
  dev.child.kill('SIGINT');
  await dev.exited;
}

/** The broker's checks; returns the ids of the events that must never arrive. */
async function brokerChecks(base: string): Promise<void> {
  const url = `${base}/shop/orders`;
  const tokenA = await issuer.mint({ subject: A, audience: BROKER_AUD });
  const tokenB = await issuer.mint({ subject: B, audience: BROKER_AUD });
  const refused: string[] = [];

  const none = await post(url, undefined);
  expect(none.status).toBe(401);
  expect(none.challenge).toBe('Bearer');
  refused.push(none.id);
  const bad = await post(url, 'not-a-token');
  expect(bad.status).toBe(401);
  refused.push(bad.id);
  const wrongAudience = await post(
    url,
    await issuer.mint({ subject: A, audience: 'eventing.knative.dev/broker/shop/other' }),
  );
  expect(wrongAudience.status).toBe(401);
  refused.push(wrongAudience.id);
  const b = await post(url, tokenB);
  expect(b.status).toBe(403);
  expect(b.text).toContain(B);
  refused.push(b.id);
  const ci = await issuer.mint({ subject: 'ci-runner', audience: BROKER_AUD });
  const filtered = await post(url, ci, 'com.example.order');
  expect(filtered.status).toBe(403);
  expect(filtered.text).toContain('builds');
  refused.push(filtered.id);

  const build = await post(url, ci, 'com.example.build.finished');
  expect(build.status).toBe(202);
  const a = await post(url, tokenA);
  expect(a.status).toBe(202);
  await waitFor(
    'the allowed events at the subscriber',
    () => (received.has(a.id) && received.has(build.id)) || undefined,
    {
      timeoutMs: 30_000,
    },
  );
  // Refused events were sent first, on the same single-partition topic: had any been stored, it would have arrived by now.
  await new Promise((r) => setTimeout(r, 500));
  expect(refused.filter((id) => received.has(id))).toEqual([]);
}

describe('EventPolicy under eddy dev --ingress-auth required', () => {
  it('protects a Broker, a channel and a KafkaSink; static tokens; deny-all without policy; metrics; describe', {
    timeout: 180_000,
  }, async () => {
    writeFileSync(join(dir, 'policies.yaml'), manifests(`eddy-ep-${Date.now().toString(36)}`));
    const { dev, base, dataDir } = await startDev('embedded', [
      '-f',
      'policies.yaml',
      '--ingress-auth',
      'required',
      '--oidc-issuer',
      issuer.issuer,
    ]);
    try {
      await dev.waitFor(/^Broker shop\/orders {2}Ready$/, 60_000);
      await dev.waitFor(/^Trigger shop\/all {2}Ready$/, 30_000);
      await dev.waitFor(/^EventPolicy shop\/allow-a {2}Ready$/, 30_000);
      await brokerChecks(base);

      // A static token from the labelled Secret: subject ci-static matches ci-*.
      expect(
        (await post(`${base}/shop/orders`, 'static-ci-token-0123456789', 'com.example.build.x')).status,
      ).toBe(202);

      // The channel (selected by label) and the KafkaSink (by ref), each with its own audience.
      const chAud = 'messaging.knative.dev/inmemorychannel/shop/ch';
      expect((await post(`${base}/channels/shop/ch`, undefined)).status).toBe(401);
      expect(
        (await post(`${base}/channels/shop/ch`, await issuer.mint({ subject: B, audience: chAud }))).status,
      ).toBe(403);
      expect(
        (await post(`${base}/channels/shop/ch`, await issuer.mint({ subject: A, audience: chAud }))).status,
      ).toBe(202);
      const ksAud = 'eventing.knative.dev/kafkasink/shop/ks';
      expect((await post(`${base}/kafkasinks/shop/ks`, undefined)).status).toBe(401);
      expect(
        (await post(`${base}/kafkasinks/shop/ks`, await issuer.mint({ subject: B, audience: ksAud }))).status,
      ).toBe(403);
      // The sink's topic on Kafka is made by the ingress' first attempts: 503 until then.
      const sinkA = await issuer.mint({ subject: A, audience: ksAud });
      await waitFor(
        'the KafkaSink to accept sender A',
        async () => (await post(`${base}/kafkasinks/shop/ks`, sinkA)).status === 202 || undefined,
        { timeoutMs: 90_000 },
      );

      // No policy on this broker: deny-all under --ingress-auth required.
      const unprotectedAud = 'eventing.knative.dev/broker/shop/unprotected';
      expect((await post(`${base}/shop/unprotected`, undefined)).status).toBe(401);
      const denied = await post(
        `${base}/shop/unprotected`,
        await issuer.mint({ subject: A, audience: unprotectedAud }),
      );
      expect(denied.status).toBe(403);
      expect(denied.text).toContain('deny-all');

      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(
        /eddy_ingress_auth_rejected_total\{kind="broker",namespace="shop",name="orders",reason="missing_token"\} 1/,
      );
      expect(metrics).toMatch(
        /eddy_ingress_auth_rejected_total\{[^}]*name="orders",reason="subject_not_allowed"\} 1/,
      );
      expect(metrics).toMatch(/eddy_ingress_auth_rejected_total\{[^}]*name="orders",reason="filtered"\} 1/);
      expect(metrics).toMatch(
        /eddy_ingress_auth_rejected_total\{kind="kafka-sink",[^}]*reason="subject_not_allowed"\} 1/,
      );

      const described = await runEddy(['describe', 'broker', 'orders', '-n', 'shop', '--data-dir', dataDir]);
      expect(described.stdout).toMatch(/Audience:\s+eventing\.knative\.dev\/broker\/shop\/orders/);
      expect(described.stdout).toMatch(/Policies:\s+allow-a\n\s+builds\n/);
      expect(described.stdout).toMatch(/EventPoliciesReady\s+True/);
      const unprotected = await runEddy([
        'describe',
        'broker',
        'unprotected',
        '-n',
        'shop',
        '--data-dir',
        dataDir,
      ]);
      expect(unprotected.stdout).toMatch(/EventPoliciesReady\s+True\s+DefaultAuthorizationMode\s.*deny-all/);
      const listed = await runEddy(['get', 'eventpolicies', '-n', 'shop', '--data-dir', dataDir]);
      expect(listed.stdout).toMatch(/^allow-a\s.*True/m);
      expect(listed.stdout).toMatch(/^others\s.*True/m);
    } finally {
      await stop(dev);
    }
  });

  it('without --ingress-auth nothing changes: everyone may send, policies say they are not enforced', {
    timeout: 120_000,
  }, async () => {
    writeFileSync(join(dir, 'off.yaml'), manifests(`eddy-ep-off-${Date.now().toString(36)}`));
    const { dev, base, dataDir } = await startDev('off', ['-f', 'off.yaml']);
    try {
      await dev.waitFor(/^Broker shop\/orders {2}Ready$/, 60_000);
      await dev.waitFor(/^EventPolicy shop\/allow-a {2}NotReady {2}OIDCAuthenticationDisabled/, 30_000);
      expect((await post(`${base}/shop/orders`, undefined)).status).toBe(202);
      expect((await post(`${base}/shop/unprotected`, undefined)).status).toBe(202);
      expect((await post(`${base}/channels/shop/ch`, 'anything')).status).toBe(202);
      const described = await runEddy(['describe', 'broker', 'orders', '-n', 'shop', '--data-dir', dataDir]);
      expect(described.stdout).toMatch(/EventPoliciesReady\s+True\s+OIDCDisabled/);
      expect(described.stdout).not.toMatch(/Policies:/);
    } finally {
      await stop(dev);
    }
  });
});

describe('EventPolicy under eddy dev --kafka (eddy ingress processes get the policies through the contract feed)', () => {
  it('admits sender A, refuses B and anonymous senders, and delivers only what it admitted', {
    timeout: 240_000,
  }, async () => {
    writeFileSync(join(dir, 'kafka.yaml'), manifests(`eddy-ep-k-${Date.now().toString(36)}`));
    const { dev, base } = await startDev('kafka', [
      '-f',
      'kafka.yaml',
      '--ingress-auth',
      'required',
      '--oidc-issuer',
      issuer.issuer,
      '--kafka',
      inject('kafkaBrokers').join(','),
      '--ingresses',
      '2',
      '--dispatchers',
      '1',
      '--sources',
      '1',
    ]);
    try {
      await dev.waitFor(/^Broker shop\/orders {2}Ready$/, 120_000);
      await dev.waitFor(/^Trigger shop\/all {2}Ready$/, 60_000);
      await brokerChecks(base);
    } finally {
      await stop(dev);
    }
  });
});
