import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem, loadText } from '@eddy/api';
import pino from 'pino';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadOrCreateWebhookCertificates } from './certificates.js';
import { webhookConfigurations } from './configurations.js';
import type { AdmissionReview } from './review.js';
import { type AdmissionWebhook, startAdmissionWebhook } from './server.js';

const BAD_TRIGGER = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: orders
  namespace: shop
spec:
  broker: default
  filters:
    - cesql: "type = 'order' AND (source LIKE '/orders%'"
  subscriber:
    uri: http://display.example.com/
`;

let webhook: AdmissionWebhook;
let agent: Agent;

beforeAll(async () => {
  webhook = await startAdmissionWebhook({ host: '127.0.0.1', logger: pino({ level: 'silent' }) });
  // Trust only the webhook's own CA, as the API server does with caBundle.
  agent = new Agent({ connect: { ca: Buffer.from(webhook.caBundle, 'base64').toString() } });
});
afterAll(async () => {
  await webhook?.close();
  await agent?.close();
});

async function post(path: string, req: Record<string, unknown>): Promise<AdmissionReview> {
  const res = await request(`${webhook.url}${path}`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: req }),
  });
  expect(res.statusCode).toBe(200);
  return (await res.body.json()) as AdmissionReview;
}

const triggers = { group: 'eventing.knative.dev', version: 'v1', resource: 'triggers' };

describe('admission webhook', () => {
  it('serves HTTPS on 127.0.0.1 with a certificate the caBundle verifies', () => {
    expect(webhook.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(Buffer.from(webhook.caBundle, 'base64').toString()).toContain('BEGIN CERTIFICATE');
  });

  it("denies an invalid Trigger with eddy validate's message, minus file and line", async () => {
    const expected = loadText(BAD_TRIGGER, 'trigger.yaml').problems.filter((p) => p.severity === 'error');
    expect(expected).toHaveLength(1);
    const review = await post('/validate', {
      uid: 'u1',
      operation: 'CREATE',
      resource: triggers,
      namespace: 'shop',
      object: parse(BAD_TRIGGER),
    });
    expect(review.response).toMatchObject({ uid: 'u1', allowed: false, status: { code: 400 } });
    const line = formatProblem(expected[0]!);
    // `trigger.yaml:8:13: error: #0 Trigger shop/orders: spec.filters[0].cesql: ...` without the location.
    const withoutLocation = line.replace(/^trigger\.yaml:\d+:\d+: error: #0 /, '');
    expect(withoutLocation).toMatch(/^Trigger shop\/orders: spec\.filters\[0\]\.cesql: /);
    expect(review.response!.status!.message).toBe(withoutLocation);
  });

  it('allows a valid object, a DELETE, and the status subresource', async () => {
    const ok = parse(BAD_TRIGGER.replace(/ AND \(source.*"$/m, '"'));
    for (const req of [
      { operation: 'CREATE', object: ok },
      { operation: 'DELETE', object: null, oldObject: parse(BAD_TRIGGER) },
      { operation: 'UPDATE', subResource: 'status', object: parse(BAD_TRIGGER) },
    ]) {
      const review = await post('/validate', { uid: 'u2', resource: triggers, namespace: 'shop', ...req });
      expect(review.response).toMatchObject({ uid: 'u2', allowed: true });
    }
  });

  it("patches in eddy validate's defaults that a CRD schema cannot hold", async () => {
    const review = await post('/default', {
      uid: 'u3',
      operation: 'CREATE',
      resource: { group: 'eventing.knative.dev', version: 'v1', resource: 'brokers' },
      namespace: 'shop',
      object: {
        apiVersion: 'eventing.knative.dev/v1',
        kind: 'Broker',
        metadata: { name: 'b', namespace: 'shop' },
      },
    });
    expect(review.response).toMatchObject({ allowed: true, patchType: 'JSONPatch' });
    const ops = JSON.parse(Buffer.from(review.response!.patch!, 'base64').toString());
    expect(ops).toContainEqual({
      op: 'add',
      path: '/metadata/annotations',
      value: { 'eventing.knative.dev/broker.class': 'MTChannelBasedBroker' },
    });
    expect(ops).toContainEqual(expect.objectContaining({ op: 'add', path: '/spec' }));
  });

  it('defaults an object named by generateName, leaving out what depends on the name', async () => {
    const review = await post('/default', {
      uid: 'u4',
      operation: 'CREATE',
      resource: { group: 'sources.knative.dev', version: 'v1', resource: 'kafkasources' },
      namespace: 'shop',
      object: {
        apiVersion: 'sources.knative.dev/v1',
        kind: 'KafkaSource',
        metadata: { generateName: 'orders-', namespace: 'shop' },
        spec: {
          bootstrapServers: ['kafka:9092'],
          topics: ['orders'],
          sink: { ref: { apiVersion: 'v1', kind: 'Service', name: 'x' } },
        },
      },
    });
    const ops = JSON.parse(Buffer.from(review.response!.patch!, 'base64').toString());
    const paths = ops.map((o: { path: string }) => o.path);
    expect(paths).toEqual(expect.arrayContaining(['/spec/consumers', '/spec/sink/ref/namespace']));
    expect(paths).not.toContain('/metadata/name');
    expect(paths).not.toContain('/spec/consumerGroup');
  });

  it('answers 400 to a body that is not an AdmissionReview', async () => {
    const res = await request(`${webhook.url}/validate`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.statusCode).toBe(400);
    await res.body.dump();
  });
});

describe('webhookConfigurations', () => {
  it('covers every Eddy kind, fails closed, has no side effects', () => {
    const [mutating, validating] = webhookConfigurations({ url: 'https://127.0.0.1:8443', caBundle: 'Q0E=' });
    expect(mutating!.kind).toBe('MutatingWebhookConfiguration');
    expect(validating!.kind).toBe('ValidatingWebhookConfiguration');
    // biome-ignore lint/suspicious/noExplicitAny: plain objects.
    const hook = (validating!.webhooks as any[])[0];
    expect(hook).toMatchObject({
      failurePolicy: 'Fail',
      sideEffects: 'None',
      timeoutSeconds: 10,
      admissionReviewVersions: ['v1'],
      clientConfig: { url: 'https://127.0.0.1:8443/validate', caBundle: 'Q0E=' },
    });
    const resources = hook.rules.flatMap((r: { resources: string[] }) => r.resources);
    expect(resources).toEqual(
      expect.arrayContaining(['brokers', 'triggers', 'services', 'pingsources', 'replays']),
    );
    expect(resources).not.toContain('secrets');
    const inCluster = webhookConfigurations({
      service: { namespace: 'eddy', name: 'webhook' },
      caBundle: 'Q0E=',
    });
    // biome-ignore lint/suspicious/noExplicitAny: plain objects.
    expect((inCluster[0]!.webhooks as any[])[0].clientConfig.service).toEqual({
      namespace: 'eddy',
      name: 'webhook',
      path: '/default',
    });
  });
});

describe('certificates in certDir', () => {
  it('are created once and reused while they cover the names', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eddy-certs-'));
    try {
      const first = await loadOrCreateWebhookCertificates(dir, ['webhook.eddy.svc']);
      const again = await loadOrCreateWebhookCertificates(dir, ['webhook.eddy.svc']);
      expect(again).toEqual(first);
      const other = await loadOrCreateWebhookCertificates(dir, ['other.eddy.svc']);
      expect(other.caPem).not.toBe(first.caPem);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
