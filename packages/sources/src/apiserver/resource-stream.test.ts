// ResourceStream against a scripted API server on 127.0.0.1: what a real cluster will not do on cue
// (answer a watch with 410 Gone, expire a continue token, refuse with 403), checked with the exact requests.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil as until } from '../testing/wait-until.js';
import type { ChangeAction, KubeObject } from './apiserver-event.js';
import { ResourceStream, type StreamProblem } from './resource-stream.js';

const cm = (name: string, rv: string): KubeObject => ({
  metadata: { name, namespace: 'demo', resourceVersion: rv },
  data: { rv },
});

type Handler = (req: IncomingMessage, url: URL, res: ServerResponse) => void;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function fakeApi(handler: Handler): Promise<{ config: KubeConfig; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${url.pathname}?${url.searchParams.toString()}`);
    handler(req, url, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: 'c',
        server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        skipTLSVerify: true,
      },
    ],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return { config, requests };
}

function run(config: KubeConfig) {
  const changes: string[] = [];
  const problems: Array<StreamProblem | undefined> = [];
  const stop = new AbortController();
  const stream = new ResourceStream({
    config,
    resource: { apiVersion: 'v1', kind: 'ConfigMap', group: '', resource: 'configmaps', namespaced: true },
    namespace: 'demo',
    labelSelector: 'app=web',
    logger: pino({ level: 'silent' }),
    signal: stop.signal,
    onChange: (action: ChangeAction, o: KubeObject) =>
      changes.push(`${action} ${o.metadata?.name}@${o.metadata?.resourceVersion} ${o.apiVersion}/${o.kind}`),
    congested: () => false,
    uncongested: async () => {},
    onProblem: (p) => problems.push(p),
  });
  const done = stream.run();
  cleanups.push(async () => {
    stop.abort();
    await done;
  });
  return { changes, problems };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('ResourceStream', () => {
  it('410 Gone on the watch: lists again and sends the differences (add, update, delete with the last state)', async () => {
    let lists = 0;
    let watches = 0;
    const { config, requests } = await fakeApi((_req, url, res) => {
      if (url.searchParams.get('watch') !== 'true') {
        lists++;
        const items = lists === 1 ? [cm('a', '1'), cm('b', '2')] : [cm('a', '5'), cm('c', '6')];
        json(res, 200, { metadata: { resourceVersion: lists === 1 ? '2' : '6' }, items });
        return;
      }
      watches++;
      res.writeHead(200, { 'content-type': 'application/json' });
      if (watches === 1) {
        // One change, then the version is gone.
        res.write(
          `${JSON.stringify({ type: 'MODIFIED', object: { apiVersion: 'v1', kind: 'ConfigMap', ...cm('b', '3') } })}\n`,
        );
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' } })}\n`,
        );
        return;
      }
      // Later watches stay open (until the test stops the stream).
      res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } })}\n`);
    });
    const { changes, problems } = run(config);
    await until(() => changes.length >= 4, 10_000, 'the watched change and three differences');
    // The first list is the starting state: nothing for `a` and `b` as they were.
    expect(changes).toEqual([
      'update b@3 v1/ConfigMap',
      'update a@5 v1/ConfigMap',
      'add c@6 v1/ConfigMap',
      'delete b@3 v1/ConfigMap',
    ]);
    expect(problems.filter(Boolean)).toEqual([]);
    expect(requests[0]).toBe('/api/v1/namespaces/demo/configmaps?labelSelector=app%3Dweb&limit=500');
    expect(requests[1]).toMatch(
      /^\/api\/v1\/namespaces\/demo\/configmaps\?watch=true&labelSelector=app%3Dweb&resourceVersion=2&allowWatchBookmarks=true&timeoutSeconds=25$/,
    );
    expect(requests[2]).toBe('/api/v1/namespaces/demo/configmaps?labelSelector=app%3Dweb&limit=500');
    expect(requests[3]).toContain('resourceVersion=6');
  });

  it('pages a list with continue tokens and starts over when a token expired', async () => {
    let calls = 0;
    const { config, requests } = await fakeApi((_req, url, res) => {
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return;
      }
      calls++;
      const token = url.searchParams.get('continue');
      if (calls === 2) return json(res, 410, { kind: 'Status', code: 410, message: 'continue expired' });
      if (!token)
        return json(res, 200, { metadata: { resourceVersion: '9', continue: 'p2' }, items: [cm('a', '1')] });
      json(res, 200, { metadata: { resourceVersion: '9' }, items: [cm('b', '2')] });
    });
    run(config);
    await until(() => requests.some((r) => r.includes('watch=true')), 10_000, 'the watch after the list');
    expect(requests.slice(0, 4)).toEqual([
      '/api/v1/namespaces/demo/configmaps?labelSelector=app%3Dweb&limit=500',
      '/api/v1/namespaces/demo/configmaps?labelSelector=app%3Dweb&limit=500&continue=p2',
      '/api/v1/namespaces/demo/configmaps?labelSelector=app%3Dweb&limit=500',
      '/api/v1/namespaces/demo/configmaps?labelSelector=app%3Dweb&limit=500&continue=p2',
    ]);
    expect(requests[4]).toContain('resourceVersion=9');
  });

  it('a 403 is reported with its status and the verb, and retried', async () => {
    let calls = 0;
    const { config } = await fakeApi((_req, url, res) => {
      if (url.searchParams.get('watch') === 'true') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return;
      }
      calls++;
      if (calls === 1)
        return json(res, 403, {
          kind: 'Status',
          code: 403,
          reason: 'Forbidden',
          message: 'configmaps is forbidden',
        });
      json(res, 200, { metadata: { resourceVersion: '1' }, items: [] });
    });
    const { problems } = run(config);
    await until(() => problems.length >= 2, 10_000, 'the problem and its end');
    expect(problems[0]).toEqual({ status: 403, verb: 'list', message: 'configmaps is forbidden' });
    // Cleared (undefined) as soon as the retried list worked.
    expect(problems[1]).toBeUndefined();
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
