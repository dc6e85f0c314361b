// The broker ingress's request limits set on `eddy dev` (--ingress-max-body-bytes,
// --ingress-max-batch-events, --ingress-max-header-bytes, --ingress-request-timeout-ms): each
// answers with its status and the limit it hit, events inside them are accepted; on the embedded
// log (the ingress inside eddy dev) and with --kafka (the flags passed on to `eddy ingress`).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePorts } from '../harness/free-ports.ts';
import { buildCli, type RunningDev, spawnEddyDev } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'eddy-ingress-limits-'));
beforeAll(() => buildCli(), 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIMITS = [
  '--ingress-max-body-bytes',
  '2048',
  '--ingress-max-batch-events',
  '2',
  '--ingress-max-header-bytes',
  '4096',
  '--ingress-request-timeout-ms',
  '1500',
];

async function startDev(name: string, extra: string[]): Promise<{ dev: RunningDev; url: string }> {
  const namespace = `lim-${name}`;
  writeFileSync(
    join(dir, `${name}.yaml`),
    `apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default, namespace: ${namespace}}\n`,
  );
  const [port] = (await freePorts(1)) as [number];
  const dev = spawnEddyDev(
    [
      '-f',
      `${name}.yaml`,
      '--port',
      String(port),
      '--data-dir',
      join(dir, `${name}-data`),
      ...LIMITS,
      ...extra,
    ],
    dir,
  );
  await dev.waitFor(new RegExp(`^Broker ${namespace}/default {2}Ready$`), 120_000);
  return { dev, url: `http://127.0.0.1:${port}/${namespace}/default` };
}

async function stop(dev: RunningDev): Promise<void> {
  dev.child.kill('SIGINT');
  await dev.exited;
}

const event = (id: string, data: string) => ({
  specversion: '1.0',
  id,
  type: 'limits.test',
  source: '/limits',
  datacontenttype: 'text/plain',
  data,
});

async function post(
  url: string,
  body: string,
  contentType: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body,
  });
  return { status: res.status, text: await res.text() };
}

/** A request whose head arrives and whose body never does: the ingress's request timeout answers. */
function slowBody(url: string): Promise<string> {
  const { hostname, port, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(
        `POST ${pathname} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/cloudevents+json\r\nContent-Length: 500\r\n\r\n{"specversion":`,
      );
    });
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk.toString();
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    // Far past the 1.5 s limit: a request still open then was never cut.
    setTimeout(() => {
      socket.destroy();
      resolve(answer || 'no answer within 15 s');
    }, 15_000).unref();
  });
}

async function expectLimitsHold(url: string): Promise<void> {
  const structured = 'application/cloudevents+json';
  // Inside every limit: accepted. A 2 KiB limit on the body, whatever the mode.
  expect((await post(url, JSON.stringify(event('ok-1', 'x'.repeat(1500))), structured)).status).toBe(202);
  const big = await post(url, JSON.stringify(event('big-1', 'x'.repeat(3000))), structured);
  expect(big.status).toBe(413);
  expect(big.text).toContain('request body exceeds the limit of 2048 bytes');
  const binary = await post(url, 'y'.repeat(2100), 'text/plain', {
    'ce-specversion': '1.0',
    'ce-id': 'big-2',
    'ce-type': 'limits.test',
    'ce-source': '/limits',
  });
  expect(binary.status).toBe(413);
  // Two events per batch, not three.
  const batch = 'application/cloudevents-batch+json';
  expect((await post(url, JSON.stringify([event('b-1', 'a'), event('b-2', 'b')]), batch)).status).toBe(202);
  const three = await post(
    url,
    JSON.stringify([event('b-3', 'a'), event('b-4', 'b'), event('b-5', 'c')]),
    batch,
  );
  expect(three.status).toBe(413);
  expect(three.text).toContain('batch of 3 events exceeds the limit of 2 events per request');
  // A 4 KiB head.
  const head = await post(url, JSON.stringify(event('h-1', 'x')), structured, {
    'x-padding': 'p'.repeat(5000),
  });
  expect(head.status).toBe(431);
  expect(head.text).toContain('request headers exceed the limit of 4096 bytes');
  // A body that never comes is cut after 1.5 s, not the default 30 s.
  const slow = await slowBody(url);
  expect(slow).toMatch(/^HTTP\/1\.1 408 /);
  expect(slow).toContain('request not received whole within the limit of 1500 ms');
}

describe('eddy dev --ingress-* limits', () => {
  it('the ingress inside eddy dev (embedded log) answers each limit with its status', {
    timeout: 180_000,
  }, async () => {
    const { dev, url } = await startDev('embedded', []);
    try {
      await expectLimitsHold(url);
    } finally {
      await stop(dev);
    }
  });

  it('--kafka: the eddy ingress processes get the same limits', { timeout: 180_000 }, async () => {
    const brokers = inject('kafkaBrokers').join(',');
    const { dev, url } = await startDev('kafka', [
      '--kafka',
      brokers,
      '--ingresses',
      '1',
      '--dispatchers',
      '1',
      '--no-dispatcher-routers',
    ]);
    try {
      await expectLimitsHold(url);
    } finally {
      await stop(dev);
    }
  });
});
