// The ingress' sender check with a real ingress, the embedded log and a real OIDC issuer: who gets
// 202, 401 and 403, that a refused request stores nothing, and that rejections are counted.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrokerRoute, type IngressAuth, toHttpBatch } from '@eddy/api';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcIssuer, type TestOidcIssuer } from '../../../../test/harness/oidc-issuer.ts';
import { openEmbeddedEventLog } from '../eventlog/embedded/index.js';
import type { EventLog } from '../eventlog/event-log.js';
import { createIngress, type Ingress } from './ingress.js';
import { subjectMatches } from './sender-auth.js';

const AUD = 'eventing.knative.dev/broker/shop/orders';
const ALICE = 'system:serviceaccount:shop:alice';
let issuer: TestOidcIssuer;
let log: EventLog;
let ingress: Ingress;
let base: string;
let dir: string;

const route = (name: string, auth?: IngressAuth): BrokerRoute => ({
  namespace: 'shop',
  name,
  path: `/shop/${name}`,
  topic: `auth-${name}`,
  partitions: 1,
  ...(auth ? { auth } : {}),
});

beforeAll(async () => {
  issuer = await startOidcIssuer();
  dir = mkdtempSync(join(tmpdir(), 'eddy-sender-auth-'));
  log = await openEmbeddedEventLog({ dataDir: dir });
  ingress = createIngress({ log });
  base = await ingress.listen();
  await ingress.updateContract(
    [
      route('orders', {
        audience: AUD,
        defaultMode: 'deny-all',
        policies: [
          { name: 'alice', subjects: [ALICE] },
          { name: 'ci', subjects: ['ci-*'], filters: [{ prefix: { type: 'com.example.build.' } }] },
        ],
      }),
      route('open'),
      route('same-ns', { audience: 'aud-same', defaultMode: 'allow-same-namespace', policies: [] }),
    ],
    [],
    [],
    {
      issuers: [{ issuer: issuer.issuer }],
      staticTokens: [{ token: 'static-ci-token', subject: 'ci-static' }],
    },
  );
});
afterAll(async () => {
  await ingress?.close();
  await log?.close();
  await issuer?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const stored = async (topic: string) => (await log.lag('auth-probe', topic)).reduce((n, p) => n + p.end, 0);

async function send(path: string, token: string | undefined, type = 'com.example.order', batch = false) {
  const event = { specversion: '1.0', id: `e-${Math.random()}`, source: '/test', type };
  const message = batch
    ? toHttpBatch([event, { ...event, id: 'second', type: 'com.example.other' }])
    : { headers: { 'content-type': 'application/cloudevents+json' }, body: JSON.stringify(event) };
  const res = await request(`${base}${path}`, {
    method: 'POST',
    headers: { ...message.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: message.body,
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

describe('ingress sender authentication', () => {
  it('admits an allowed subject (202, stored) and refuses the rest, storing nothing', async () => {
    const before = await stored('auth-orders');
    const alice = await issuer.mint({ subject: ALICE, audience: AUD });
    expect((await send('/shop/orders', alice)).status).toBe(202);
    expect(await stored('auth-orders')).toBe(before + 1);

    const none = await send('/shop/orders', undefined);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer');
    expect(none.text).toContain(AUD);

    const wrongAud = await send('/shop/orders', await issuer.mint({ subject: ALICE, audience: 'other' }));
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.headers['www-authenticate']).toMatch(/^Bearer error="invalid_token"/);

    const bob = await send(
      '/shop/orders',
      await issuer.mint({ subject: 'system:serviceaccount:shop:bob', audience: AUD }),
    );
    expect(bob.status).toBe(403);
    expect(bob.text).toContain('system:serviceaccount:shop:bob');
    expect(await stored('auth-orders')).toBe(before + 1);
  });

  it('authenticates before reading the body: an anonymous malformed request is 401, not 400', async () => {
    const res = await request(`${base}/shop/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: '{not json',
    });
    await res.body.text();
    expect(res.statusCode).toBe(401);
  });

  it("applies the allowing policy's filters to every event of a request (a batch is refused whole)", async () => {
    const before = await stored('auth-orders');
    const ci = await issuer.mint({ subject: 'ci-runner-7', audience: AUD });
    expect((await send('/shop/orders', ci, 'com.example.build.done')).status).toBe(202);
    const refused = await send('/shop/orders', ci, 'com.example.order');
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('com.example.order');
    // Alice's policy has no filters: anything goes, batches too.
    const alice = await issuer.mint({ subject: ALICE, audience: AUD });
    expect((await send('/shop/orders', alice, 'com.example.build.x', true)).status).toBe(202);
    // The batch's second event fails ci's filter: nothing of it is stored.
    expect((await send('/shop/orders', ci, 'com.example.build.x', true)).status).toBe(403);
    expect(await stored('auth-orders')).toBe(before + 3);
  });

  it('static tokens, routes without auth and the default mode', async () => {
    // ci-static matches ci-* and the static token works without any issuer.
    expect((await send('/shop/orders', 'static-ci-token', 'com.example.build.y')).status).toBe(202);
    expect((await send('/shop/orders', 'static-ci-token-wrong', 'com.example.build.y')).status).toBe(401);
    expect((await send('/shop/open', undefined)).status).toBe(202);
    const same = await issuer.mint({ subject: 'system:serviceaccount:shop:x', audience: 'aud-same' });
    expect((await send('/shop/same-ns', same)).status).toBe(202);
    const other = await issuer.mint({ subject: 'system:serviceaccount:ops:x', audience: 'aud-same' });
    expect((await send('/shop/same-ns', other)).status).toBe(403);
  });

  it('counts rejections by route and reason', async () => {
    const metrics = await ingress.registry.getSingleMetricAsString('eddy_ingress_auth_rejected_total');
    expect(metrics).toMatch(/kind="broker",namespace="shop",name="orders",reason="missing_token"} [1-9]/);
    expect(metrics).toMatch(/name="orders",reason="subject_not_allowed"} [1-9]/);
    expect(metrics).toMatch(/name="orders",reason="filtered"} [1-9]/);
    expect(metrics).toMatch(/name="orders",reason="wrong_audience"} [1-9]/);
    expect(metrics).toMatch(/name="same-ns",reason="no_policy"} 1/);
  });

  it("matches subjects as Knative does (case-insensitive, '*' suffix = prefix)", () => {
    expect(subjectMatches('System:ServiceAccount:shop:a', 'system:serviceaccount:shop:a')).toBe(true);
    expect(subjectMatches('system:serviceaccount:shop:*', 'system:serviceaccount:shop:b')).toBe(true);
    expect(subjectMatches('system:serviceaccount:shop:*', 'system:serviceaccount:ops:b')).toBe(false);
    expect(subjectMatches('a', 'ab')).toBe(false);
  });
});
