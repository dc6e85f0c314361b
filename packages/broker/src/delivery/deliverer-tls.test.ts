// Deliveries to https subscribers and dead-letter sinks: verified against the system's CAs plus the
// Destination's CACerts; a certificate that does not verify is a failed (retried, then dead-lettered)
// delivery, never an accepted one.

import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DispatchRoute, PlainEvent, ResolvedDelivery } from '@eddy/api';
import { type CertificateSet, createCertificates } from '@eddy/runtime';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeliverer } from './deliverer.js';

let certs: CertificateSet;
let other: CertificateSet;
let https: Server;
let httpsUrl: string;
const received: IncomingMessage[] = [];

function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)));
}

beforeAll(async () => {
  [certs, other] = await Promise.all([
    createCertificates([], { caName: 'subscriber CA' }),
    createCertificates([], { caName: 'other CA' }),
  ]);
  https = createHttpsServer({ cert: certs.certPem, key: certs.keyPem }, (req, res) => {
    received.push(req);
    req.resume().on('end', () => res.writeHead(202).end());
  });
  httpsUrl = `https://127.0.0.1:${await listen(https)}/`;
});
afterAll(() => new Promise((r) => https.close(r)));

const event: PlainEvent = { specversion: '1.0', id: 'e1', source: '/test', type: 'tls.test' };

function route(extra: Partial<DispatchRoute>, delivery: Partial<ResolvedDelivery> = {}): DispatchRoute {
  return {
    kind: 'Trigger',
    namespace: 'default',
    name: 't1',
    id: 'default/t1',
    topic: 'broker-default',
    group: 'trigger-default-t1',
    subscriber: httpsUrl,
    reply: { kind: 'drop' },
    delivery: { retry: 0, backoffPolicy: 'linear', backoffDelayMs: 1, ...delivery },
    ordering: 'unordered',
    maxInFlight: 10,
    startFrom: 'latest',
    ...extra,
  };
}

describe('deliveries over https', () => {
  it('delivers to a subscriber whose certificate the route CACerts verify', async () => {
    const deliverer = createDeliverer();
    try {
      const before = received.length;
      const outcome = await deliverer.deliver({ event, route: route({ subscriberCACerts: certs.caPem }) });
      expect(outcome).toMatchObject({ kind: 'delivered', status: 202 });
      expect(received.length).toBe(before + 1);
    } finally {
      await deliverer.close();
    }
  });

  it('retries, then dead-letters, a subscriber whose certificate does not verify, saying TLS', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const deliverer = createDeliverer({ logger });
    const dls: string[] = [];
    const sink = createHttpServer((req, res) => {
      dls.push(String(req.headers['ce-knativeerrordest']));
      req.resume().on('end', () => res.writeHead(200).end());
    });
    const sinkUrl = `http://127.0.0.1:${await listen(sink)}/`;
    try {
      const before = received.length;
      for (const subscriberCACerts of [undefined, other.caPem]) {
        const failures: string[] = [];
        const outcome = await deliverer.deliver({
          event,
          route: route(subscriberCACerts ? { subscriberCACerts } : {}, { retry: 1, deadLetterSink: sinkUrl }),
          onAttemptFailed: (f) => void failures.push(f.error ?? ''),
        });
        expect(outcome).toEqual({ kind: 'dead-lettered', status: undefined, attempts: 2 });
        expect(failures).toHaveLength(2);
        for (const f of failures)
          expect(f).toMatch(/^TLS: the certificate of https:\/\/127\.0\.0\.1:\d+ did not verify/);
      }
      expect(received.length).toBe(before);
      expect(dls).toEqual([httpsUrl, httpsUrl]);
      expect(lines.some((l) => l.includes('delivery refused: TLS'))).toBe(true);
    } finally {
      await deliverer.close();
      await new Promise((r) => sink.close(r));
    }
  });

  it('verifies an https dead-letter sink with its own CACerts', async () => {
    const deliverer = createDeliverer();
    try {
      const before = received.length;
      const outcome = await deliverer.deliver({
        event,
        route: route(
          { subscriber: 'http://127.0.0.1:1/' },
          { deadLetterSink: httpsUrl, deadLetterSinkCACerts: certs.caPem },
        ),
      });
      expect(outcome).toMatchObject({ kind: 'dead-lettered' });
      expect(received.length).toBe(before + 1);
      const refused = await deliverer.deliver({
        event,
        route: route({ subscriber: 'http://127.0.0.1:1/' }, { deadLetterSink: httpsUrl }),
      });
      expect(refused).toMatchObject({ kind: 'dropped' });
      expect((refused as { reason: string }).reason).toContain('TLS: the certificate of');
    } finally {
      await deliverer.close();
    }
  });
});
