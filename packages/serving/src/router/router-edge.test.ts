// The router's listener: a request deadline (a sender trickling its body gets 408 and the connection
// closed, not a connection held forever) and HTTPS from a certificate.

import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCertificates, ServingCertificate } from '@eddy/runtime';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { trickleUntilClosed } from '../../../runtime/src/testing/trickling-sender.js';
import { createRouter } from './create-router.js';
import type { Router } from './router.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function startRouter(options: Parameters<typeof createRouter>[0]): Promise<Router> {
  const router = await createRouter(options);
  cleanups.push(() => router.close());
  router.update(
    [{ namespace: 'default', name: 'echo-00001', containerConcurrency: 0, timeoutMs: 10_000 }],
    [{ namespace: 'default', name: 'echo', traffic: [{ revisionName: 'echo-00001', percent: 100 }] }],
  );
  // A replica that reads the whole body before answering.
  const upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`got ${Buffer.concat(chunks).length} bytes`));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => upstream.close(() => r())));
  const url = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  router.setReplicas('default', 'echo-00001', [{ id: 'echo#1', url, ready: true }]);
  return router;
}

describe('router listener', () => {
  it('answers 408 and closes the connection of a sender trickling its body', {
    timeout: 30_000,
  }, async () => {
    const router = await startRouter({ requestTimeoutMs: 1_000 });
    const url = new URL(router.routeUrl('default', 'echo'));
    const slow = await trickleUntilClosed(
      router.routeUrl('default', 'echo'),
      `POST ${url.pathname} HTTP/1.1\r\nHost: x\r\ncontent-length: 100\r\n\r\n`,
      300,
    );
    expect(slow.answer).toContain('408');
    expect(slow.elapsedMs).toBeLessThan(5_000);
    const ok = await request(router.routeUrl('default', 'echo'), { method: 'POST', body: 'fine' });
    expect(await ok.body.text()).toBe('got 4 bytes');
  });

  it('serves HTTPS with the given certificate', async () => {
    const certs = await createCertificates([], { caName: 'router CA' });
    const tls = ServingCertificate.fromMaterial(
      { cert: certs.certPem, key: certs.keyPem },
      { cert: 'cert', key: 'key' },
    );
    const router = await startRouter({ tls });
    expect(router.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const client = new Agent({ connect: { ca: certs.caPem } });
    cleanups.push(() => client.close());
    const ok = await request(router.routeUrl('default', 'echo'), {
      method: 'POST',
      body: 'secure',
      dispatcher: client,
    });
    expect(ok.statusCode).toBe(200);
    expect(await ok.body.text()).toBe('got 6 bytes');
    const untrusted = await request(router.routeUrl('default', 'echo'), { method: 'POST', body: 'x' }).then(
      () => 'answered',
      (e: Error & { code?: string }) => e.code ?? e.message,
    );
    expect(untrusted).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
