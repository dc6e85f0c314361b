/**
 * A replay survives `kill -9` of `eddy dev` (spawned as a user runs it, on the embedded log and on the
 * harness's Kafka): restarted on the same data dir, it resumes from its checkpoints and completes;
 * every event of the window reaches the subscriber at least once, duplicates stay within the
 * in-flight window, and the status counts each event once.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplayStatus } from '@eddy/api';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildCli, type RunningDev, spawnEddyDev } from '../cli/helpers.ts';
import { waitFor } from '../harness/wait.ts';

beforeAll(() => buildCli(), 180_000);
const dir = mkdtempSync(join(tmpdir(), 'eddy-replay-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const EVENTS = 2_000;
const RATE = 400;

async function adminCall(dataDir: string, method: 'GET' | 'POST', path: string, body?: unknown) {
  const admin = JSON.parse(readFileSync(join(dataDir, 'admin.json'), 'utf8')) as {
    url: string;
    token: string;
  };
  const res = await request(`${admin.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${admin.token}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

describe.each([
  ['the embedded log', [] as string[]],
  ['Kafka', ['--kafka', '<kafka>', '--in-process']],
])('replay and kill -9 on %s', (name, extra) => {
  it('resumes after a restart and completes: every event of the window at least once, no gap', {
    timeout: 240_000,
  }, async () => {
    const replayed = new Map<string, number>();
    let live = 0;
    const subscriber = createServer((req, res) => {
      const id = String(req.headers['ce-id']);
      if (req.headers['ce-eddyreplay'] !== undefined) replayed.set(id, (replayed.get(id) ?? 0) + 1);
      else live++;
      req.resume();
      res.statusCode = 202;
      res.end();
    });
    await new Promise<void>((r) => subscriber.listen(0, '127.0.0.1', r));
    const subUrl = `http://127.0.0.1:${(subscriber.address() as AddressInfo).port}`;
    const work = join(dir, name.replace(/\W+/g, '-'));
    const dataDir = join(work, 'state');
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(
      file,
      [
        'apiVersion: eventing.knative.dev/v1',
        'kind: Broker',
        'metadata: {name: default}',
        '---',
        'apiVersion: eventing.knative.dev/v1',
        'kind: Trigger',
        'metadata: {name: orders}',
        'spec:',
        '  broker: default',
        `  subscriber: {uri: "${subUrl}"}`,
        '',
      ].join('\n'),
    );
    const args = [
      '-f',
      file,
      '--port',
      '0',
      '--data-dir',
      dataDir,
      ...extra.map((a) => (a === '<kafka>' ? inject('kafkaBrokers').join(',') : a)),
    ];
    let dev: RunningDev = spawnEddyDev(args, dir);
    try {
      const ingress = (await dev.waitFor(/^ {2}ingress {2}http:\/\/127\.0\.0\.1:\d+/, 60_000)).split(
        /\s+/,
      )[2];
      await dev.waitFor(/^Trigger default\/orders {2}Ready$/, 60_000);

      const from = new Date().toISOString();
      for (let i = 0; i < EVENTS; i += 200) {
        const batch = Array.from({ length: 200 }, (_, j) => ({
          specversion: '1.0',
          id: `e-${i + j}`,
          type: 'order.created',
          source: 'test',
          data: { n: i + j },
        }));
        const sent = await request(`${ingress}/default/default`, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents-batch+json' },
          body: JSON.stringify(batch),
        });
        await sent.body.text();
        expect(sent.statusCode).toBe(202);
      }
      await waitFor('the live deliveries', () => live >= EVENTS, 60_000);
      const to = new Date(Date.now() + 1).toISOString();
      await new Promise((r) => setTimeout(r, 5));

      const applied = await adminCall(dataDir, 'POST', '/v1/apply', {
        file: 'replay.yaml',
        text: [
          'apiVersion: eventing.eddy.dev/v1alpha1',
          'kind: Replay',
          'metadata: {name: after-crash}',
          'spec:',
          '  broker: default',
          `  from: "${from}"`,
          `  to: "${to}"`,
          '  target: {triggers: [orders]}',
          `  rate: ${RATE}`,
          '',
        ].join('\n'),
      });
      expect(applied.status, JSON.stringify(applied.body)).toBe(200);
      await waitFor('a third of the window replayed', () => replayed.size >= EVENTS / 3, 60_000);
      dev.child.kill('SIGKILL');
      await dev.exited;
      const beforeCrash = replayed.size;
      expect(beforeCrash).toBeLessThan(EVENTS);

      dev = spawnEddyDev(args, dir);
      await dev.waitFor(/^Trigger default\/orders {2}Ready$/, 60_000);
      let status: ReplayStatus | undefined;
      await waitFor(
        'the replay to complete after the restart',
        async () => {
          const r = await adminCall(dataDir, 'GET', '/v1/resources/Replay/default/after-crash');
          status = r.body.status as ReplayStatus | undefined;
          return status?.conditions.some((c) => c.type === 'Succeeded' && c.status !== 'Unknown');
        },
        { timeoutMs: 120_000, describe: () => JSON.stringify(status) },
      );
      expect(status?.conditions.find((c) => c.type === 'Succeeded')).toMatchObject({
        status: 'True',
        reason: 'Completed',
      });
      const missing = Array.from({ length: EVENTS }, (_, i) => `e-${i}`).filter((id) => !replayed.has(id));
      expect(missing).toEqual([]);
      const duplicates = [...replayed.values()].reduce((sum, n) => sum + n - 1, 0);
      // At most what was in flight (the Trigger's 100) when the process died, plus what had finished
      // since the last checkpoint.
      expect(duplicates).toBeLessThanOrEqual(300);
      expect(status).toMatchObject({ total: EVENTS, matched: EVENTS, delivered: EVENTS, skipped: 0 });
      dev.child.kill('SIGINT');
      expect(await dev.exited).toBe(0);
    } finally {
      if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
      await new Promise<void>((r) => subscriber.close(() => r()));
    }
  });
});
