// `eddy dev` in process, on the embedded log in a temp data dir, with real HTTP subscribers on 127.0.0.1:
// manifests applied from watched files (and re-applied live when they change or go away), the admin API
// with and without its token, tail with a CESQL filter, and a clean shutdown then restart that delivers
// every accepted event.

import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { resourceKey, type ServingContract, triggerRouteId } from '@eddy/api';
import { sleep } from '@eddy/runtime';
import { createServingDataPlane, reconcileServing } from '@eddy/serving';
import { request } from 'undici';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  ADMIN_FILE,
  type AdminFile,
  type ApplyResponse,
  type DescribeResponse,
  type StatusResponse,
  type StoredResource,
} from '../admin/protocol.js';
import {
  brokerSink,
  brokerYaml,
  nodeTemplate,
  serviceSubscriber,
  triggerYaml,
} from '../testing/manifests.js';
import { type DevServer, startDevServer } from './dev-server.js';
import { admin, Cleanups, sendText, startSubscriber } from './testing/dev-test-kit.js';
import { waitFor } from './testing/wait.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());
const tempDir = () => cleanups.tempDir('eddy-dev-');

async function start(dataDir: string, files: string[], lines: string[] = []): Promise<DevServer> {
  const server = await startDevServer({
    dataDir,
    files,
    port: 0,
    print: (l) => lines.push(l),
    watchIntervalMs: 200,
  });
  cleanups.push(() => server.close());
  return server;
}

const brokerAndTrigger = (
  subscriber: string,
  type: string,
  broker = 'default',
) => `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata:
  name: ${broker}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: to-sub
spec:
  broker: ${broker}
  filter:
    attributes:
      type: ${type}
  subscriber:
    uri: ${subscriber}/in
`;

const send = (server: DevServer, type: string, id: string, broker = 'default') =>
  sendText(server, broker, type, id);

/** spec.template.spec.containers of a stored Service or ContainerSource. */
function templateContainers(server: DevServer, key: string): unknown[] {
  const spec = server.store.get(key)?.resource.spec as
    | { template?: { spec?: { containers?: unknown[] } } }
    | undefined;
  return spec?.template?.spec?.containers ?? [];
}

describe('eddy dev (in process)', () => {
  it('runs a Broker + Trigger from a file, applies a filter change live, and a file removal deletes its resources', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, brokerAndTrigger(sub.url, 'com.example.a'));
    const lines: string[] = [];
    const server = await start(join(dir, '.eddy'), [file], lines);
    await server.settled();
    expect(lines).toContain('Broker default/default  Ready');
    expect(lines).toContain('Trigger default/to-sub  Ready');
    expect(lines.some((l) => l.startsWith('  ingress  http://127.0.0.1:'))).toBe(true);

    expect(await send(server, 'com.example.a', 'a1')).toBe(202);
    expect(await send(server, 'com.example.b', 'b1')).toBe(202);
    await waitFor('a1 delivered', () => sub.received.some((e) => e.id === 'a1'));
    expect(sub.received[0]).toMatchObject({ type: 'com.example.a', path: '/in' });

    // A broken edit changes nothing (the old filter keeps routing) and says where the problem is.
    writeFileSync(file, brokerAndTrigger(sub.url, 'com.example.a').replace('broker: default', 'broker: [1]'));
    await waitFor('the error line', () => lines.some((l) => l.includes('mesh.yaml: not applied')));
    // The temp dir is outside the cwd: the file is named by its absolute path, not `../../tmp/...`.
    expect(lines).toContain(`${file}: not applied (1 error); the previous version stays`);
    expect(lines.some((l) => /mesh\.yaml:\d+:\d+: error: .*spec\.broker/.test(l))).toBe(true);
    const trigger = server.store.get('Trigger/default/to-sub')?.resource;
    expect(trigger?.metadata.generation).toBe(1);

    // The filter moves to type b: b events arrive, a events no longer do.
    writeFileSync(file, brokerAndTrigger(sub.url, 'com.example.b'));
    await waitFor(
      'generation 2',
      () => server.store.get('Trigger/default/to-sub')?.resource.metadata.generation === 2,
    );
    await server.settled();
    expect(server.store.get('Trigger/default/to-sub')?.resource.status?.observedGeneration).toBe(2);
    expect(await send(server, 'com.example.a', 'a2')).toBe(202);
    expect(await send(server, 'com.example.b', 'b2')).toBe(202);
    await waitFor('b2 delivered', () => sub.received.some((e) => e.id === 'b2'));
    await sleep(300);
    expect(sub.received.map((e) => e.id)).not.toContain('a2');

    // Removing the file removes its Broker and Trigger: the ingress no longer knows the broker.
    rmSync(file);
    await waitFor('deletion', () => server.store.size === 0);
    await server.settled();
    expect(lines).toContain('Trigger default/to-sub  deleted');
    expect(await send(server, 'com.example.b', 'b3')).toBe(404);
  });

  it('a deleted Trigger takes its consumer group along: re-created, it starts afresh instead of resuming', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const file = join(dir, 'mesh.yaml');
    const full = brokerAndTrigger(sub.url, 'com.example.a');
    const brokerOnly = full.slice(0, full.indexOf('---'));
    writeFileSync(file, full);
    const server = await start(join(dir, '.eddy'), [file]);
    await server.settled();
    expect(await send(server, 'com.example.a', 'before')).toBe(202);
    await waitFor('before delivered', () => sub.received.some((e) => e.id === 'before'));

    writeFileSync(file, brokerOnly);
    await waitFor('trigger deleted', () => server.store.get('Trigger/default/to-sub') === undefined);
    await server.settled();
    // Sent while no trigger exists: a new trigger (start-from latest) must not get it.
    expect(await send(server, 'com.example.a', 'while-deleted')).toBe(202);

    writeFileSync(file, full);
    await waitFor('trigger re-created', () => server.store.get('Trigger/default/to-sub') !== undefined);
    await server.settled();
    expect(await send(server, 'com.example.a', 'after')).toBe(202);
    await waitFor('after delivered', () => sub.received.some((e) => e.id === 'after'));
    await sleep(500);
    expect(sub.received.map((e) => e.id)).toEqual(['before', 'after']);
  });

  it('admin API: 401 without or with a wrong token; apply, get, describe, delete with the token; admin.json is 0600', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dataDir = join(tempDir(), '.eddy');
    const server = await start(dataDir, []);
    const adminFile = JSON.parse(
      (await import('node:fs')).readFileSync(join(dataDir, ADMIN_FILE), 'utf8'),
    ) as AdminFile;
    expect(adminFile).toMatchObject({ url: server.adminUrl, token: server.token, pid: process.pid });
    expect((await import('node:fs')).statSync(join(dataDir, ADMIN_FILE)).mode & 0o777).toBe(0o600);

    expect((await admin(server, 'GET', '/v1/status', undefined, null)).status).toBe(401);
    const wrong = await admin(server, 'GET', '/v1/resources', undefined, 'nope');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatch(/token/);

    const status = await admin(server, 'GET', '/v1/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      eventLog: 'embedded',
      brokerIngressUrl: server.ingressUrl,
      resources: 0,
    });

    const bad = await admin(server, 'POST', '/v1/apply', {
      text: 'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t}\nspec: {broker: 3, subscriber: {uri: "http://127.0.0.1:1/"}}\n',
      file: 'bad.yaml',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^bad\.yaml:4:\d+: error: .*spec\.broker/);

    const applied = await admin(server, 'POST', '/v1/apply', {
      text: brokerAndTrigger(sub.url, 'x'),
      file: 'm.yaml',
    });
    expect(applied.status).toBe(200);
    expect((applied.body as unknown as ApplyResponse).items).toEqual([
      { kind: 'Broker', namespace: 'default', name: 'default', action: 'created' },
      { kind: 'Trigger', namespace: 'default', name: 'to-sub', action: 'created' },
    ]);
    const again = await admin(server, 'POST', '/v1/apply', {
      text: brokerAndTrigger(sub.url, 'y'),
      file: 'm.yaml',
    });
    expect((again.body as unknown as ApplyResponse).items.map((i) => i.action)).toEqual([
      'unchanged',
      'configured',
    ]);
    // create (a Replay's way in) refuses to touch what exists: 409 and nothing applied.
    const create = await admin(server, 'POST', '/v1/apply', {
      text: brokerAndTrigger(sub.url, 'z'),
      file: 'm.yaml',
      create: true,
    });
    expect(create.status).toBe(409);
    expect(create.body.error).toBe('Broker default/default already exists');

    const list = await admin(server, 'GET', '/v1/resources?kind=Trigger');
    const items = (list.body as { items: StoredResource[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]?.metadata.generation).toBe(2);
    expect(items[0]?.status?.observedGeneration).toBe(2);
    expect(items[0]?.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });
    expect(items[0]?.status?.conditions?.[0]?.lastTransitionTime).toMatch(/^\d{4}-/);

    const broker = await admin(server, 'GET', '/v1/resources/Broker/default/default');
    expect((broker.body as unknown as StoredResource).status?.address?.url).toBe(
      `${server.ingressUrl}/default/default`,
    );
    expect((await admin(server, 'GET', '/v1/resources/Broker/default/nope')).status).toBe(404);

    const described = (await admin(server, 'GET', '/v1/describe/Trigger/default/to-sub'))
      .body as unknown as DescribeResponse;
    expect(described.events.map((e) => e.reason)).toEqual(['Created', 'Ready', 'Updated']);

    const deleted = await admin(server, 'DELETE', '/v1/resources/Trigger/default/to-sub');
    expect(deleted.status).toBe(200);
    expect((await admin(server, 'DELETE', '/v1/resources/Trigger/default/to-sub')).status).toBe(404);
    const byFile = await admin(server, 'POST', '/v1/delete', {
      text: brokerAndTrigger(sub.url, 'y'),
      file: 'm.yaml',
    });
    expect((byFile.body as unknown as ApplyResponse).items.map((i) => i.action)).toEqual([
      'deleted',
      'not found',
    ]);
    expect(server.store.size).toBe(0);

    await server.close();
    expect(existsSync(join(dataDir, ADMIN_FILE))).toBe(false);
  });

  it('tail streams the events passing a broker from now on, filtered by CESQL', async () => {
    const dataDir = join(tempDir(), '.eddy');
    const server = await start(dataDir, []);
    await admin(server, 'POST', '/v1/apply', {
      text: 'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default}\n',
      file: 'b.yaml',
    });
    await server.settled();
    expect(await send(server, 'com.example.old', 'before')).toBe(202);

    expect((await admin(server, 'GET', '/v1/tail?broker=default&filter=type%20%3D')).status).toBe(400);
    expect((await admin(server, 'GET', '/v1/tail?broker=nope')).status).toBe(404);

    const controller = new AbortController();
    cleanups.push(() => controller.abort());
    const filter = encodeURIComponent("type LIKE 'com.example.%' AND id <> 'skip'");
    const res = await request(
      `${server.adminUrl}/v1/tail?namespace=default&broker=default&filter=${filter}`,
      {
        headers: { authorization: `Bearer ${server.token}` },
        signal: controller.signal,
      },
    );
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/x-ndjson/);
    const lines: Record<string, unknown>[] = [];
    let partial = '';
    const reading = (async () => {
      try {
        for await (const chunk of res.body) {
          const parts = (partial + chunk.toString()).split('\n');
          partial = parts.pop() ?? '';
          for (const p of parts) if (p) lines.push(JSON.parse(p) as Record<string, unknown>);
        }
      } catch {
        // aborted
      }
    })();
    await waitFor('the tailing line', () => lines.length > 0);
    expect(lines[0]).toEqual({ tailing: 'default/default' });
    expect(await send(server, 'com.example.x', 'skip')).toBe(202);
    expect(await send(server, 'org.other', 'other')).toBe(202);
    expect(await send(server, 'com.example.x', 'wanted')).toBe(202);
    await waitFor('the wanted event', () => lines.length > 1);
    expect(lines[1]).toMatchObject({
      specversion: '1.0',
      type: 'com.example.x',
      id: 'wanted',
      source: 'test',
      data: 'hello',
    });
    await sleep(200);
    expect(lines.length).toBe(2);
    controller.abort();
    await reading;
  });

  it('a clean shutdown then a restart on the same data dir keeps the resources and delivers every accepted event', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, brokerAndTrigger(sub.url, 'com.example.a'));
    const dataDir = join(dir, '.eddy');
    const first = await start(dataDir, [file]);
    await first.settled();
    // The subscriber refuses for now: the events are accepted (durable) but not delivered.
    sub.status = 503;
    for (let i = 0; i < 5; i++) expect(await send(first, 'com.example.a', `e${i}`)).toBe(202);
    await first.close();
    expect(existsSync(join(dataDir, ADMIN_FILE))).toBe(false);
    expect(sub.received).toEqual([]);

    sub.status = 202;
    const lines: string[] = [];
    const second = await start(dataDir, [file], lines);
    expect(second.store.get('Trigger/default/to-sub')?.resource.metadata.generation).toBe(1);
    await waitFor('every accepted event', () => new Set(sub.received.map((e) => e.id)).size === 5, 25_000);
    // A restart shows every resource's status once, even unchanged ones.
    await waitFor('status lines after the restart', () => lines.includes('Trigger default/to-sub  Ready'));
    expect([...new Set(sub.received.map((e) => e.id))].sort()).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);
  }, 40_000);

  it('runs a ContainerSource into a Broker (sink resolved, ceOverrides applied) and reports a missing sink', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const fixture = join(import.meta.dirname, '../../../sources/src/container/fixtures/emit-once.mjs');
    const file = join(dir, 'source.yaml');
    writeFileSync(
      file,
      `${brokerAndTrigger(sub.url, 'dev.eddy.test.container')}---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: emitter}
spec:
${nodeTemplate(fixture, '          env: [{name: MODE, value: serve}]\n')}  ceOverrides:
    extensions: {origin: dev-test}
${brokerSink()}---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: {name: lost}
spec:
  schedule: "* * * * *"
${brokerSink('nowhere')}`,
    );
    const lines: string[] = [];
    const server = await start(join(dir, '.eddy'), [file], lines);
    await waitFor('the container event', () =>
      sub.received.find((e) => e.type === 'dev.eddy.test.container'),
    );
    expect(sub.received[0]?.headers['ce-origin']).toBe('dev-test');
    await waitFor('ContainerSource Ready', () => lines.includes('ContainerSource default/emitter  Ready'));
    const status = server.store.get('ContainerSource/default/emitter')?.resource.status;
    expect(status?.sinkUri).toBe(`${server.ingressUrl}/default/default`);
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^PingSource default\/lost {2}NotReady {2}NotFound: failed to resolve spec\.sink: .*"nowhere" does not exist/,
      ),
    );
  });

  for (const [how, brokerProcesses] of [
    ['in process', undefined],
    ['as ingress and dispatcher processes', { ingresses: 2, dispatchers: 2 }],
  ] as const) {
    it(`on Kafka (--kafka), the broker ${how}: routes an event from the ingress to a subscriber and tails it`, async () => {
      const sub = await startSubscriber();
      cleanups.push(() => sub.close());
      const ns = `dev-${randomUUID().slice(0, 8)}`;
      const printed: string[] = [];
      const server = await startDevServer({
        dataDir: join(tempDir(), '.eddy'),
        kafka: inject('kafkaBrokers'),
        ...(brokerProcesses ? { brokerProcesses } : {}),
        port: 0,
        serving: false,
        print: (line) => printed.push(line),
      });
      cleanups.push(() => server.close());
      const manifest = brokerAndTrigger(sub.url, 'com.example.k').replace(
        /name: (default|to-sub)\n/g,
        `name: $1\n  namespace: ${ns}\n`,
      );
      const applied = await admin(server, 'POST', '/v1/apply', { text: manifest, file: 'k.yaml' });
      expect(applied.status).toBe(200);
      await server.settled();
      expect(
        server.store
          .get(resourceKey('Trigger', ns, 'to-sub'))
          ?.resource.status?.conditions?.find((c) => c.type === 'Ready')?.status,
      ).toBe('True');

      const controller = new AbortController();
      cleanups.push(() => controller.abort());
      const res = await request(
        `${server.adminUrl}/v1/tail?namespace=${ns}&broker=default&filter=${encodeURIComponent("type = 'com.example.k'")}`,
        {
          headers: { authorization: `Bearer ${server.token}` },
          signal: controller.signal,
        },
      );
      expect(res.statusCode).toBe(200);
      let text = '';
      const reading = (async () => {
        try {
          for await (const chunk of res.body) text += chunk.toString();
        } catch {
          // aborted
        }
      })();
      await waitFor('tailing', () => text.includes('"tailing"'), 25_000);
      const sent = await request(`${server.ingressUrl}/${ns}/default`, {
        method: 'POST',
        headers: { 'ce-specversion': '1.0', 'ce-type': 'com.example.k', 'ce-source': 'test', 'ce-id': 'k1' },
        body: 'x',
      });
      await sent.body.text();
      expect(sent.statusCode).toBe(202);
      await waitFor('delivery', () => sub.received.some((e) => e.id === 'k1'), 20_000);
      if (brokerProcesses) {
        // Every process runs the contract, as the status the admin API aggregates from the feed says.
        const processes = async () =>
          ((await admin(server, 'GET', '/v1/status')).body as unknown as StatusResponse).brokerProcesses ??
          [];
        let members = await processes();
        expect(members.map((m) => m.id)).toEqual(['dispatcher-1', 'dispatcher-2', 'ingress-1', 'ingress-2']);
        await waitFor(
          'every process on a contract, without an error',
          async () => {
            members = await processes();
            return members.every((m) => (m.generation ?? 0) >= 1 && m.error === undefined);
          },
          { timeoutMs: 20_000, describe: () => members },
        );

        // An ingress that dies is restarted, said so, and the port keeps taking events.
        const victim = members.find((m) => m.id === 'ingress-1')!;
        process.kill(victim.pid!, 'SIGKILL');
        await waitFor('the restart line', () =>
          printed.find((l) => /^broker ingress-1 exited \(signal SIGKILL\); restarting in 1 s/.test(l)),
        );
        await waitFor(
          'ingress-1 back with the contract',
          async () => {
            const now = ((await admin(server, 'GET', '/v1/status')).body as unknown as StatusResponse)
              .brokerProcesses;
            const back = now?.find((m) => m.id === 'ingress-1');
            return back !== undefined && back.pid !== victim.pid && (back.generation ?? 0) >= 1;
          },
          30_000,
        );
      }
      await waitFor('the tailed event', () => text.includes('"id":"k1"'), 10_000);
      controller.abort();
      await reading;

      // Deleting the Trigger deletes its Kafka consumer group: re-created, it starts at latest.
      const post = async (id: string) => {
        const r = await request(`${server.ingressUrl}/${ns}/default`, {
          method: 'POST',
          headers: { 'ce-specversion': '1.0', 'ce-type': 'com.example.k', 'ce-source': 'test', 'ce-id': id },
          body: 'x',
        });
        await r.body.text();
        return r.statusCode;
      };
      expect((await admin(server, 'DELETE', `/v1/resources/Trigger/${ns}/to-sub`)).status).toBe(200);
      await server.settled();
      expect(await post('k-while-deleted')).toBe(202);
      expect((await admin(server, 'POST', '/v1/apply', { text: manifest, file: 'k.yaml' })).status).toBe(200);
      await server.settled();
      expect(await post('k-after')).toBe(202);
      await waitFor('k-after delivered', () => sub.received.some((e) => e.id === 'k-after'), 20_000);
      await sleep(500);
      expect(sub.received.map((e) => e.id)).toEqual(['k1', 'k-after']);

      const closing = Date.now();
      await server.close();
      // No tail connection or Kafka consumer may hold up the shutdown.
      expect(Date.now() - closing).toBeLessThan(15_000);
    }, 75_000);
  }

  it('runs a third-party source kind from an adapter package (--source-adapter)', async () => {
    const upstream = createServer((_req, res) => res.end('version 1'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => upstream.close(() => r())));
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const file = join(dir, 'poll.yaml');
    writeFileSync(
      file,
      `${brokerAndTrigger(sub.url, 'dev.example.httppoll.changed')}---
apiVersion: sources.example.com/v1alpha1
kind: HttpPollSource
metadata: {name: poll}
spec:
  url: http://127.0.0.1:${(upstream.address() as AddressInfo).port}/
  intervalSeconds: 0.1
${brokerSink()}`,
    );
    const lines: string[] = [];
    const server = await startDevServer({
      dataDir: join(dir, '.eddy'),
      files: [file],
      port: 0,
      serving: false,
      sourceAdapters: [join(import.meta.dirname, '../../../../examples/source-adapter')],
      print: (l) => lines.push(l),
    });
    cleanups.push(() => server.close());
    expect(lines[0]).toMatch(/^source adapter .*source-adapter: HttpPollSource$/);
    await waitFor('the polled event', () =>
      sub.received.find((e) => e.type === 'dev.example.httppoll.changed'),
    );
    await waitFor('HttpPollSource Ready', () => lines.includes('HttpPollSource default/poll  Ready'));

    await expect(
      startDevServer({
        dataDir: join(dir, '.other'),
        port: 0,
        serving: false,
        sourceAdapters: [join(dir, 'missing')],
      }),
    ).rejects.toThrow(/^cannot load source adapter ".*missing": /);
  });

  it('a source whose adapter listens for HTTP (a third-party package) has status.address while it runs', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const file = join(dir, 'hooks.yaml');
    const hooks = (broker: string) => `${brokerAndTrigger(sub.url, 'com.example.hook')}---
apiVersion: sources.example.com/v1alpha1
kind: WebhookSource
metadata: {name: hooks}
spec:
  eventType: com.example.hook
${brokerSink(broker)}`;
    writeFileSync(file, hooks('default'));
    const server = await startDevServer({
      dataDir: join(dir, '.eddy'),
      files: [file],
      port: 0,
      serving: false,
      watchIntervalMs: 200,
      sourceAdapters: [join(import.meta.dirname, '../../../sources/src/sdk/fixtures/webhook-adapter')],
    });
    cleanups.push(() => server.close());
    const status = () => server.store.get('WebhookSource/default/hooks')?.resource.status;
    const url = await waitFor('the address', () => status()?.address?.url);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(status()?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const described = (await admin(server, 'GET', '/v1/describe/WebhookSource/default/hooks'))
      .body as unknown as DescribeResponse;
    expect(described.resource.status?.address).toEqual({ url });

    const res = await request(url, {
      method: 'POST',
      body: 'ding',
      headers: { 'content-type': 'text/plain' },
    });
    await res.body.text();
    expect(res.statusCode).toBe(202);
    await waitFor('the hook event', () => sub.received.find((e) => e.type === 'com.example.hook'));

    // Its sink goes away: the source stops, and so does its address (the resource stays, not Ready).
    writeFileSync(file, hooks('missing'));
    await waitFor('the address to go', () => status()?.address === undefined && status());
    expect(status()?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    await expect(request(url, { method: 'POST', body: 'x' })).rejects.toThrow();
  });

  it("relative paths in a manifest's containers are the manifest directory's, wherever eddy dev runs", async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    expect(process.cwd()).not.toBe(dir);
    mkdirSync(join(dir, 'services'));
    // The ContainerSource reports the directory it runs in as its events' source.
    writeFileSync(
      join(dir, 'services', 'emit.cjs'),
      `fetch(process.env.K_SINK, { method: 'POST', body: 'x', headers: { 'ce-specversion': '1.0',
  'ce-id': 'from-' + process.pid, 'ce-type': 'com.example.cwd', 'ce-source': process.cwd() } });
setInterval(() => {}, 60_000);
`,
    );
    writeFileSync(
      join(dir, 'services', 'ok.cjs'),
      `require('node:http').createServer((req, res) => { req.resume(); res.statusCode = 202; res.end(); })
  .listen(Number(process.env.PORT), '127.0.0.1');
`,
    );
    const file = join(dir, 'mesh.yaml');
    writeFileSync(
      file,
      `${brokerAndTrigger(sub.url, 'com.example.cwd')}---
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: emit}
spec:
${nodeTemplate('services/emit.cjs')}${brokerSink()}---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: ok}
spec:
${nodeTemplate('./services/ok.cjs', '          args: [services, --flag, not-here]\n')}`,
    );
    const lines: string[] = [];
    const server = await start(join(dir, '.eddy'), [file], lines);
    const event = await waitFor(
      'the container event',
      () => sub.received.find((e) => e.type === 'com.example.cwd'),
      20_000,
    );
    expect(event.headers['ce-source']).toBe(realpathSync(dir));
    await waitFor('Service Ready', () => lines.includes('Service default/ok  Ready'), 25_000);
    // The resources hold what runs: absolute paths, the manifest's directory as working directory.
    expect(templateContainers(server, 'ContainerSource/default/emit')).toMatchObject([
      { command: [process.execPath, join(dir, 'services/emit.cjs')], workingDir: dir },
    ]);
    expect(templateContainers(server, 'Service/default/ok')).toMatchObject([
      {
        command: [process.execPath, join(dir, 'services/ok.cjs')],
        args: [join(dir, 'services'), '--flag', 'not-here'],
        workingDir: dir,
      },
    ]);
  }, 45_000);

  it("an admin API apply resolves relative paths against the baseDir it carries (the client's directory for stdin)", async () => {
    const dir = tempDir();
    const server = await start(join(dir, '.eddy'), []);
    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, 'emit.cjs'), '');
    const text = `apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: {name: emit}
spec:
  template:
    spec:
      containers:
        - command: [node, emit.cjs]
          workingDir: work
  sink:
    ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: not-here}
`;
    const applied = await admin(server, 'POST', '/v1/apply', { text, file: '<stdin>', baseDir: elsewhere });
    expect(applied.status).toBe(200);
    const entry = server.store.get('ContainerSource/default/emit');
    expect(entry?.origin).toEqual({ type: 'api', dir: elsewhere });
    expect(templateContainers(server, 'ContainerSource/default/emit')).toMatchObject([
      { command: ['node', join(elsewhere, 'emit.cjs')], workingDir: join(elsewhere, 'work') },
    ]);

    for (const [baseDir, error] of [
      ['relative/dir', '"baseDir" must be an absolute directory, found "relative/dir"'],
      [
        join(elsewhere, 'gone'),
        `"baseDir" ${join(elsewhere, 'gone')}: no such directory where eddy dev runs`,
      ],
      [7, '"baseDir" must be a string (an absolute directory), found 7'],
    ] as const) {
      const refused = await admin(server, 'POST', '/v1/apply', { text, file: 'x.yaml', baseDir });
      expect(refused).toMatchObject({ status: 400, body: { error } });
    }
    // Without one (an older client), eddy dev's own working directory.
    await admin(server, 'POST', '/v1/apply', { text, file: 'x.yaml' });
    expect(server.store.get('ContainerSource/default/emit')?.origin).toEqual({
      type: 'api',
      dir: process.cwd(),
    });
  });

  it('runs a Service as a process behind the router: a Trigger delivers to it, a SinkBinding gives it K_SINK', async () => {
    const sub = await startSubscriber();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    // The service relays every event it gets to $K_SINK, which only the SinkBinding provides.
    writeFileSync(
      join(dir, 'relay.cjs'),
      `require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', async () => {
    const r = await fetch(process.env.K_SINK, { method: 'POST', body: 'relayed', headers: {
      'ce-specversion': '1.0', 'ce-id': String(req.headers['ce-id']), 'ce-type': 'relayed',
      'ce-source': String(process.env.K_SERVICE), 'ce-override': JSON.parse(process.env.K_CE_OVERRIDES).extensions.override } });
    res.statusCode = r.status < 300 ? 202 : 502;
    res.end();
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
`,
    );
    const file = join(dir, 'svc.yaml');
    writeFileSync(
      file,
      `${brokerYaml()}---
${triggerYaml('to-relay', serviceSubscriber('relay'))}---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: relay, labels: {app: relay}}
spec:
${nodeTemplate(join(dir, 'relay.cjs'))}---
apiVersion: sources.knative.dev/v1
kind: SinkBinding
metadata: {name: bind-relay}
spec:
  subject:
    apiVersion: serving.knative.dev/v1
    kind: Service
    selector: {matchLabels: {app: relay}}
  ceOverrides:
    extensions: {override: from-binding}
  sink:
    uri: ${sub.url}/relayed
`,
    );
    const lines: string[] = [];
    const server = await start(join(dir, '.eddy'), [file], lines);
    expect(server.routerUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await waitFor('Service Ready', () => lines.includes('Service default/relay  Ready'), 25_000);
    expect(lines).toContain('SinkBinding default/bind-relay  Ready');
    expect(lines).toContain('Revision default/relay-00001  Ready');
    const svc = server.store.get('Service/default/relay')?.resource;
    expect(svc?.status?.url).toBe(`${server.routerUrl}/default/relay`);
    expect(server.store.get('Trigger/default/to-relay')?.resource.status?.subscriberUri).toBe(
      `${server.routerUrl}/default/relay`,
    );
    // Derived children carry their owner and go with it.
    expect(server.store.get('Configuration/default/relay')?.origin).toEqual({
      type: 'owner',
      owner: 'Service/default/relay',
    });

    expect(await send(server, 'com.example.any', 'via-service')).toBe(202);
    const relayed = await waitFor(
      'the relayed event',
      () => sub.received.find((e) => e.id === 'via-service'),
      20_000,
    );
    expect(relayed).toMatchObject({ type: 'relayed', path: '/relayed' });
    expect(relayed.headers['ce-source']).toBe('relay');
    expect(relayed.headers['ce-override']).toBe('from-binding');

    // The autoscaler's decisions show up in describe (one per tick).
    const described = await waitFor(
      'decisions in describe',
      async () => {
        const d = (await admin(server, 'GET', '/v1/describe/Service/default/relay'))
          .body as unknown as DescribeResponse;
        return d.decisions?.length ? d : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(described?.decisions?.[0]).toMatchObject({ revision: 'relay-00001' });

    rmSync(file);
    await waitFor('cascade', () => server.store.size === 0);
  }, 45_000);

  it('a Trigger added to an already running Service reaches the serving plane as a backlog route', async () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'ok.cjs'),
      `require('node:http').createServer((req, res) => { req.resume(); res.statusCode = 202; res.end(); })
  .listen(Number(process.env.PORT), '127.0.0.1');
`,
    );
    const service = `${brokerYaml()}---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: sink}
spec:
${nodeTemplate(join(dir, 'ok.cjs'))}`;
    const file = join(dir, 'svc.yaml');
    writeFileSync(file, service);
    const applied: ServingContract[] = [];
    const lines: string[] = [];
    const server = await startDevServer({
      dataDir: join(dir, '.eddy'),
      files: [file],
      port: 0,
      print: (l) => lines.push(l),
      watchIntervalMs: 200,
      serving: {
        reconcileServing,
        async createServingDataPlane(options) {
          const plane = await createServingDataPlane(options);
          const apply = plane.apply.bind(plane);
          plane.apply = (contract) => {
            applied.push(contract);
            return apply(contract);
          };
          return plane;
        },
      },
    });
    cleanups.push(() => server.close());
    await waitFor('Service Ready', () => lines.includes('Service default/sink  Ready'), 25_000);
    const backlogOf = (c: ServingContract | undefined) =>
      c?.revisions.find((r) => r.name === 'sink-00001')?.backlog.map((b) => b.routeId);
    expect(backlogOf(applied.at(-1))).toEqual([]);

    writeFileSync(file, `${service}---\n${triggerYaml('to-sink', serviceSubscriber('sink'))}`);
    await waitFor('the Trigger Ready', () => lines.includes('Trigger default/to-sink  Ready'), 15_000);
    await server.settled();
    expect(backlogOf(applied.at(-1))).toEqual([triggerRouteId('default', 'to-sink')]);
  }, 45_000);
});
