// Eddy's tokens on deliveries, against real HTTP servers and a real issuer (jose verifies): every
// attempt to a subscriber with an audience carries a fresh-enough token, the dead-letter sink gets one
// for its own audience, and nothing is sent without an audience.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DispatchRoute } from '@eddy/api';
import { createIssuer, issuerTokens, loadOrCreateSigningKey } from '@eddy/runtime';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { createDeliverer } from './deliverer.js';

const dir = mkdtempSync(join(tmpdir(), 'eddy-deliverer-tokens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A server answering `statuses` in turn (then the last one), recording each request's headers. */
async function server(statuses: number[]) {
  const received: IncomingHttpHeaders[] = [];
  const srv = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push(req.headers);
      res.statusCode = statuses[Math.min(received.length - 1, statuses.length - 1)] ?? 202;
      res.end();
    });
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}/`;
  return { url, received, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

function route(subscriber: string, extra: Partial<DispatchRoute> = {}): DispatchRoute {
  return {
    kind: 'Trigger',
    namespace: 'ns',
    name: 't',
    id: 'ns/t',
    topic: 'topic',
    group: 'group',
    subscriber,
    reply: { kind: 'drop' },
    delivery: { retry: 1, backoffPolicy: 'linear', backoffDelayMs: 1 },
    ordering: 'unordered',
    maxInFlight: 1,
    startFrom: 'latest',
    ...extra,
  };
}

const event = { specversion: '1.0', id: 'e1', type: 't', source: '/s' } as const;

describe('deliverer: tokens for audiences', () => {
  it('signs every subscriber attempt and the dead-letter sink, each for its audience; none without one', async () => {
    const issuer = createIssuer({
      key: await loadOrCreateSigningKey(join(dir, 'k.pem')),
      url: 'http://issuer',
    });
    const jwks = createLocalJWKSet(issuer.jwks());
    const deliverer = createDeliverer({ tokens: issuerTokens(issuer) });
    const subscriber = await server([500]);
    const dls = await server([202]);
    const plain = await server([202]);
    try {
      const subject = 'system:serviceaccount:ns:t-oidc-eventing.knative.dev-trigger';
      const outcome = await deliverer.deliver({
        event,
        route: route(subscriber.url, {
          subscriberAudience: 'sub-aud',
          senderSubject: subject,
          delivery: {
            retry: 1,
            backoffPolicy: 'linear',
            backoffDelayMs: 1,
            deadLetterSink: dls.url,
            deadLetterSinkAudience: 'dls-aud',
          },
        }),
      });
      expect(outcome.kind).toBe('dead-lettered');
      expect(subscriber.received).toHaveLength(2);
      for (const headers of subscriber.received) {
        const { payload } = await jwtVerify((headers.authorization ?? '').replace(/^Bearer /, ''), jwks, {
          issuer: 'http://issuer',
          audience: 'sub-aud',
        });
        expect(payload.sub).toBe(subject);
      }
      const { payload } = await jwtVerify(
        (dls.received[0]?.authorization ?? '').replace(/^Bearer /, ''),
        jwks,
        {
          audience: 'dls-aud',
        },
      );
      expect(payload.sub).toBe(subject);

      expect((await deliverer.deliver({ event, route: route(plain.url) })).kind).toBe('delivered');
      expect(plain.received[0]?.authorization).toBeUndefined();
    } finally {
      await deliverer.close();
      await Promise.all([subscriber.close(), dls.close(), plain.close()]);
    }
  });
});
