// The router against real HTTP servers on 127.0.0.1 standing in for replicas: each test upstream
// records what it received and counts its own concurrency.

import { createHash, randomBytes } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { sleep } from '@eddy/runtime';
import pino from 'pino';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { Replica } from '../runtime/runtime.js';
import { waitFor } from '../testing/wait.js';
import { createRouter } from './create-router.js';
import type { Router, RouterRevision, RouterRoute } from './router.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
}

interface Upstream {
  name: string;
  url: string;
  seen: Seen[];
  active: number;
  maxActive: number;
  replica(ready?: boolean): Replica;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, upstream: Upstream) => void;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const client = new Agent({ connections: 200 });

/** Answers with its name and what it received, unless a handler says otherwise. */
async function startUpstream(name: string, handler?: Handler): Promise<Upstream> {
  let server: Server | undefined;
  const upstream: Upstream = {
    name,
    url: '',
    seen: [],
    active: 0,
    maxActive: 0,
    replica: (ready = true) => ({ id: `${name}#1`, url: upstream.url, ready }),
    close: () =>
      new Promise((resolve) => {
        server?.closeAllConnections();
        server?.close(() => resolve());
      }),
  };
  server = createServer((req, res) => {
    upstream.active++;
    upstream.maxActive = Math.max(upstream.maxActive, upstream.active);
    res.on('close', () => upstream.active--);
    upstream.seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
    });
    if (handler) {
      handler(req, res, upstream);
      return;
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream': name });
      res.end(name);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => upstream.close());
  return upstream;
}

async function startRouter(options: Parameters<typeof createRouter>[0] = {}): Promise<Router> {
  const router = await createRouter(options);
  cleanups.push(() => router.close());
  return router;
}

/** Route `hello` over two replicas: `dead` (its server closed: connections refused), then `live`. */
async function routerWithDeadReplicaBefore(live: Upstream): Promise<{ router: Router; dead: Upstream }> {
  const dead = await startUpstream('dead');
  await dead.close();
  const router = await startRouter({ logger: pino({ level: 'silent' }) });
  router.update([revision('hello-00001')], [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])]);
  router.setReplicas('default', 'hello-00001', [
    { id: 'dead', url: dead.url, ready: true },
    { id: live.name, url: live.url, ready: true },
  ]);
  return { router, dead };
}

function revision(name: string, extra: Partial<RouterRevision> = {}): RouterRevision {
  return { namespace: 'default', name, containerConcurrency: 0, timeoutMs: 10_000, ...extra };
}

function route(name: string, traffic: RouterRoute['traffic']): RouterRoute {
  return { namespace: 'default', name, traffic };
}

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  const response = await request(url, { dispatcher: client, headers });
  return { status: response.statusCode, body: await response.body.text(), headers: response.headers };
}

function nodeGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('router forwarding', () => {
  it('strips the path prefix, keeps the query, passes headers through and drops hop-by-hop ones', async () => {
    const upstream = await startUpstream('one', (req, res) => {
      req.resume();
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-reply', 'yes');
      res.setHeader('connection', 'keep-alive, x-upstream-hop');
      res.setHeader('x-upstream-hop', 'drop me');
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    const router = await startRouter();
    router.update(
      [revision('hello-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);

    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    // node:http, because undici refuses a Connection header that names other headers.
    const response = await nodeGet(`${router.routeUrl('default', 'hello')}/a/b?x=1&y=2`, {
      traceparent,
      'x-custom': 'kept',
      connection: 'keep-alive, x-hop',
      'x-hop': 'dropped',
      'x-forwarded-for': '10.0.0.1',
    });
    expect(response.status).toBe(201);
    expect(response.body).toBe('{"ok":true}');
    expect(response.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(response.headers['x-reply']).toBe('yes');
    expect(response.headers['x-upstream-hop']).toBeUndefined();

    expect(upstream.seen).toHaveLength(1);
    const seen = upstream.seen[0]!;
    expect(seen.url).toBe('/a/b?x=1&y=2');
    expect(seen.headers.traceparent).toBe(traceparent);
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.headers['x-hop']).toBeUndefined();
    expect(seen.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(router.url).host);
    expect(seen.headers['x-forwarded-prefix']).toBe('/default/hello');

    // The bare prefix forwards as `/`.
    await get(`${router.routeUrl('default', 'hello')}?q`);
    expect(upstream.seen[1]!.url).toBe('/?q');
  });

  it('streams a 10 MiB body up and down without waiting for either to complete', async () => {
    // Echo: the first request bytes go back at once, so the client sees response bytes before it has
    // finished sending; the client holds the rest of its body until then, which proves both directions stream.
    const upstream = await startUpstream('echo', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
    });
    const router = await startRouter();
    router.update([revision('echo-00001')], [route('echo', [{ revisionName: 'echo-00001', percent: 100 }])]);
    router.setReplicas('default', 'echo-00001', [upstream.replica()]);

    const payload = randomBytes(10 * 1024 * 1024);
    let firstResponseBytes: () => void = () => {};
    const sawResponseBytes = new Promise<void>((resolve) => {
      firstResponseBytes = resolve;
    });
    async function* body(): AsyncGenerator<Buffer> {
      yield payload.subarray(0, 64 * 1024);
      await sawResponseBytes; // would deadlock if the router buffered the request or the response
      for (let offset = 64 * 1024; offset < payload.length; offset += 256 * 1024) {
        yield payload.subarray(offset, Math.min(offset + 256 * 1024, payload.length));
      }
    }
    const response = await request(`${router.routeUrl('default', 'echo')}/upload`, {
      dispatcher: client,
      method: 'POST',
      body: Readable.from(body()),
      headers: { 'content-type': 'application/octet-stream' },
    });
    expect(response.statusCode).toBe(200);
    const hash = createHash('sha256');
    let received = 0;
    for await (const chunk of response.body) {
      if (received === 0) firstResponseBytes();
      received += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    expect(received).toBe(payload.length);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
    expect(upstream.seen[0]!.headers['transfer-encoding']).toBe('chunked');
  }, 20_000);

  it('routes by Host <name>.<namespace>[.anything] without stripping the path', async () => {
    const upstream = await startUpstream('one');
    const router = await startRouter();
    router.update(
      [revision('hello-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);

    for (const host of [
      'hello.default.example.com',
      'hello.default',
      'hello.default.svc.cluster.local:8080',
    ]) {
      const response = await get(`${router.url}/some/path?z=9`, { host });
      expect(response.status).toBe(200);
      expect(response.body).toBe('one');
    }
    // Even /healthz goes to the workload when the Host names a route.
    await get(`${router.url}/healthz`, { host: 'hello.default.example.com' });
    expect(upstream.seen.map((seen) => seen.url)).toEqual([
      '/some/path?z=9',
      '/some/path?z=9',
      '/some/path?z=9',
      '/healthz',
    ]);
    expect(upstream.seen[0]!.headers.host).toBe('hello.default.example.com');
    expect(upstream.seen[0]!.headers['x-forwarded-host']).toBe('hello.default.example.com');
    expect(upstream.seen[0]!.headers['x-forwarded-prefix']).toBeUndefined();
  });

  it('answers 404 with a reason for unknown addresses, and serves /healthz and /metrics', async () => {
    const upstream = await startUpstream('one');
    const registry = new Registry();
    const router = await startRouter({ registry });
    router.update(
      [revision('hello-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);
    expect((await get(router.routeUrl('default', 'hello'))).status).toBe(200);

    const unknownName = await get(`${router.url}/default/nope/x`);
    expect(unknownName.status).toBe(404);
    expect(unknownName.body).toBe('no route, tag or revision "nope" in namespace "default"\n');
    const unknownNamespace = await get(`${router.url}/other/hello`);
    expect(unknownNamespace.status).toBe(404);
    expect(unknownNamespace.body).toContain('namespace "other"');
    const shortPath = await get(`${router.url}/`);
    expect(shortPath.status).toBe(404);
    expect(shortPath.body).toContain('not /<namespace>/');
    const unknownHost = await get(`${router.url}/x`, { host: 'nope.default.example.com' });
    expect(unknownHost.status).toBe(404);
    expect(unknownHost.body).toContain('Host "nope.default.example.com"');

    const health = await get(`${router.url}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await get(`${router.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain(
      'eddy_serving_requests_total{namespace="default",revision="hello-00001",code="200"} 1',
    );
    expect(metrics.body).toContain('eddy_serving_request_duration_seconds_bucket');
    expect(metrics.body).toContain('eddy_serving_queue_depth{namespace="default",revision="hello-00001"} 0');
    expect(metrics.body).toContain('eddy_serving_in_flight{namespace="default",revision="hello-00001"} 0');
    expect(upstream.seen).toHaveLength(1);
  });

  it('retries once on another replica when a replica refuses the connection, else answers 502', async () => {
    const good = await startUpstream('good');
    const { router, dead } = await routerWithDeadReplicaBefore(good);
    for (let i = 0; i < 6; i++) {
      const response = await get(router.routeUrl('default', 'hello'));
      expect(response.status).toBe(200);
      expect(response.body).toBe('good');
    }
    router.setReplicas('default', 'hello-00001', [{ id: 'dead', url: dead.url, ready: true }]);
    const failed = await get(router.routeUrl('default', 'hello'));
    expect(failed.status).toBe(502);
    expect(failed.body).toContain('replica dead of revision default/hello-00001 failed');
  });
});

describe('router forwarding of methods and bodies', () => {
  it('sends a small POST body again, whole, to another replica when the first refuses the connection', async () => {
    const echo = await startUpstream('echo', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => res.writeHead(200).end(Buffer.concat(chunks)));
    });
    const { router } = await routerWithDeadReplicaBefore(echo);
    const body = Buffer.alloc(32 * 1024, 'e');
    for (let i = 0; i < 4; i++) {
      const response = await request(router.routeUrl('default', 'hello'), {
        dispatcher: client,
        method: 'POST',
        body: Buffer.concat([Buffer.from(`event ${i} `), body]),
      });
      expect(response.statusCode).toBe(200);
      expect(await response.body.text()).toBe(`event ${i} ${body.toString()}`);
    }
    expect(echo.seen).toHaveLength(4);
  });

  it('passes methods, fixed-length bodies without content-type, HEAD and 204 through', async () => {
    const upstream = await startUpstream('body', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method === 'DELETE') {
          res.writeHead(204, { 'x-deleted': 'yes' });
          res.end();
          return;
        }
        const text = `${req.method} ${Buffer.concat(chunks).toString()}`;
        res.writeHead(200, { 'content-length': String(Buffer.byteLength(text)) });
        res.end(req.method === 'HEAD' ? undefined : text);
      });
    });
    const router = await startRouter();
    router.update(
      [revision('hello-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);
    const url = `${router.routeUrl('default', 'hello')}/x`;

    for (const method of ['POST', 'PUT', 'PATCH', 'OPTIONS'] as const) {
      const response = await request(url, { dispatcher: client, method, body: 'payload' });
      expect(response.statusCode).toBe(200);
      expect(await response.body.text()).toBe(`${method} payload`);
    }
    expect(upstream.seen[0]!.headers['content-length']).toBe('7');
    expect(upstream.seen[0]!.headers['content-type']).toBeUndefined();
    const head = await request(url, { dispatcher: client, method: 'HEAD' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe('5');
    expect(await head.body.text()).toBe('');
    const deleted = await request(url, { dispatcher: client, method: 'DELETE' });
    expect(deleted.statusCode).toBe(204);
    expect(deleted.headers['x-deleted']).toBe('yes');
    await deleted.body.dump();
  });
});

describe('router traffic split', () => {
  it('splits 90/10 over 1000 requests', async () => {
    const blue = await startUpstream('blue');
    const green = await startUpstream('green');
    const router = await startRouter();
    router.update(
      [revision('hello-00001'), revision('hello-00002')],
      [
        route('hello', [
          { revisionName: 'hello-00001', percent: 90 },
          { revisionName: 'hello-00002', percent: 10 },
        ]),
      ],
    );
    router.setReplicas('default', 'hello-00001', [blue.replica()]);
    router.setReplicas('default', 'hello-00002', [green.replica()]);
    const counts = new Map<string, number>();
    const url = router.routeUrl('default', 'hello');
    for (let batch = 0; batch < 20; batch++) {
      const bodies = await Promise.all(Array.from({ length: 50 }, () => get(url).then((r) => r.body)));
      for (const body of bodies) counts.set(body, (counts.get(body) ?? 0) + 1);
    }
    expect((counts.get('blue') ?? 0) + (counts.get('green') ?? 0)).toBe(1000);
    expect(Math.abs((counts.get('blue') ?? 0) - 900)).toBeLessThanOrEqual(20);
    expect(Math.abs((counts.get('green') ?? 0) - 100)).toBeLessThanOrEqual(20);
  });

  it('addresses tags and revisions directly; a route name wins a clash with a revision', async () => {
    const v1 = await startUpstream('v1');
    const v2 = await startUpstream('v2');
    const clash = await startUpstream('clash');
    const router = await startRouter();
    router.update(
      [revision('hello-00001'), revision('hello-00002'), revision('hello')],
      [
        route('hello', [
          { revisionName: 'hello-00001', percent: 100, tag: 'current' },
          { revisionName: 'hello-00002', percent: 0, tag: 'candidate' },
        ]),
      ],
    );
    router.setReplicas('default', 'hello-00001', [v1.replica()]);
    router.setReplicas('default', 'hello-00002', [v2.replica()]);
    router.setReplicas('default', 'hello', [clash.replica()]);

    expect((await get(router.routeUrl('default', 'hello'))).body).toBe('v1');
    expect((await get(router.tagUrl('default', 'hello', 'candidate'))).body).toBe('v2');
    expect((await get(router.tagUrl('default', 'hello', 'current'))).body).toBe('v1');
    expect((await get(router.revisionUrl('default', 'hello-00002'))).body).toBe('v2');
    expect((await get(`${router.url}/x`, { host: 'candidate-hello.default.example.com' })).body).toBe('v2');
    expect((await get(`${router.url}/x`, { host: 'hello-00002.default' })).body).toBe('v2');
    expect(clash.seen).toHaveLength(0);
    expect(router.tagUrl('default', 'hello', 'candidate')).toBe(`${router.url}/default/candidate-hello`);
    expect(router.revisionUrl('default', 'hello-00002')).toBe(`${router.url}/default/hello-00002`);
  });

  it('answers 503 when a route has no target with percent > 0', async () => {
    const router = await startRouter();
    router.update(
      [revision('hello-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 0, tag: 't' }])],
    );
    const response = await get(router.routeUrl('default', 'hello'));
    expect(response.status).toBe(503);
    expect(response.body).toContain('no traffic target');
  });
});

describe('router concurrency and activation', () => {
  /** Holds every request `holdMs`, then answers with the upstream's name. */
  function slow(holdMs: number): Handler {
    return (req, res, upstream) => {
      req.resume();
      setTimeout(() => {
        res.writeHead(200);
        res.end(upstream.name);
      }, holdMs);
    };
  }

  it('never exceeds containerConcurrency 1 per replica under 50 concurrent requests', async () => {
    const a = await startUpstream('a', slow(20));
    const b = await startUpstream('b', slow(20));
    const router = await startRouter();
    router.update(
      [revision('hello-00001', { containerConcurrency: 1 })],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [
      { id: 'a', url: a.url, ready: true },
      { id: 'b', url: b.url, ready: true },
    ]);
    const url = router.routeUrl('default', 'hello');
    const responses = await Promise.all(Array.from({ length: 50 }, () => get(url)));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(a.maxActive).toBe(1);
    expect(b.maxActive).toBe(1);
    expect(a.seen.length + b.seen.length).toBe(50);
    expect(a.seen.length).toBeGreaterThan(10);
    expect(b.seen.length).toBeGreaterThan(10);
  });

  it('with capacity shares, two routers in front of the same replicas never exceed containerConcurrency 2 together', async () => {
    const a = await startUpstream('a', slow(20));
    const b = await startUpstream('b', slow(20));
    const replicas: Replica[] = [
      { id: 'default/hello-00001#1', url: a.url, ready: true },
      { id: 'default/hello-00001#2', url: b.url, ready: true },
    ];
    const routers = [await startRouter(), await startRouter()];
    routers.forEach((router, index) => {
      router.update(
        [revision('hello-00001', { containerConcurrency: 2 })],
        [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
      );
      router.setReplicas('default', 'hello-00001', replicas);
      router.setCapacityShare?.({ index, count: 2 });
    });
    const responses = await Promise.all(
      routers.flatMap((router) => Array.from({ length: 30 }, () => get(router.routeUrl('default', 'hello')))),
    );
    expect(responses.every((response) => response.status === 200)).toBe(true);
    // Each router may send each replica one request at a time: two at most together.
    expect(a.maxActive).toBe(2);
    expect(b.maxActive).toBe(2);
    // A router the primary does not count (index -1) gets no slot: its request waits.
    routers[0]?.setCapacityShare?.({ index: -1, count: 2 });
    const waiting = get(routers[0]!.routeUrl('default', 'hello'));
    await sleep(100);
    expect(routers[0]?.takeStats()[0]?.queued).toBe(1);
    routers[0]?.setCapacityShare?.({ index: 0, count: 1 });
    expect((await waiting).status).toBe(200);
  });

  it('shares its port with reusePort, and says what is missing when the other listener does not', async () => {
    const first = await startRouter({ reusePort: true });
    const port = Number(new URL(first.url).port);
    const second = await startRouter({ port, reusePort: true });
    expect(second.url).toBe(first.url);
    const plain = await startRouter();
    await expect(createRouter({ port: Number(new URL(plain.url).port), reusePort: true })).rejects.toThrow(
      /already in use by a process that does not share it: every router on one port needs --reuse-port true/,
    );
  });

  it('queues requests at zero replicas, asks for a replica at once, and forwards them in order once ready', async () => {
    const upstream = await startUpstream('late', (req, res) => {
      req.resume();
      res.end(req.url);
    });
    const router = await startRouter();
    const demands: { namespace: string; revision: string; at: number }[] = [];
    router.onDemand((namespace, revision) => demands.push({ namespace, revision, at: Date.now() }));
    router.update(
      [revision('hello-00001', { containerConcurrency: 1 })],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    const started = Date.now();
    const pending: Promise<{ status: number; body: string }>[] = [];
    for (let i = 0; i < 5; i++) {
      pending.push(get(`${router.routeUrl('default', 'hello')}/r${i}`));
      await waitFor(
        'the router state',
        () => router.takeStats().find((s) => s.revision === 'hello-00001')!.queued === i + 1,
      );
    }
    expect(demands.length).toBeGreaterThanOrEqual(1);
    expect(demands[0]).toMatchObject({ namespace: 'default', revision: 'hello-00001' });
    expect(demands[0]!.at - started).toBeLessThan(1_000);
    // Asked again while requests keep waiting, but at most once per second.
    await waitFor('the router state', () => demands.length >= 2, 3_000);
    await sleep(300);
    const elapsedSeconds = (Date.now() - started) / 1000;
    expect(demands.length).toBeGreaterThanOrEqual(2);
    expect(demands.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 1);
    for (let i = 1; i < demands.length; i++) {
      expect(demands[i]!.at - demands[i - 1]!.at).toBeGreaterThanOrEqual(990);
    }

    router.setReplicas('default', 'hello-00001', [upstream.replica(false)]);
    await sleep(50);
    expect(upstream.seen).toHaveLength(0); // not ready yet
    router.setReplicas('default', 'hello-00001', [upstream.replica(true)]);
    const responses = await Promise.all(pending);
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200, 200, 200]);
    expect(upstream.seen.map((seen) => seen.url)).toEqual(['/r0', '/r1', '/r2', '/r3', '/r4']);
    const demandsAfter = demands.length;
    await sleep(1_100);
    expect(demands.length).toBe(demandsAfter); // nothing waits any more
  });

  it('answers 504 when a queued request outlives the revision timeout', async () => {
    const router = await startRouter();
    router.update(
      [revision('hello-00001', { timeoutMs: 300 })],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    const started = Date.now();
    const response = await get(router.routeUrl('default', 'hello'));
    expect(response.status).toBe(504);
    expect(response.body).toContain('within its timeout of 300 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(router.takeStats()[0]).toMatchObject({ queued: 0, inFlight: 0 });
  });

  it('answers 504 when a replica does not answer within the timeout', async () => {
    const upstream = await startUpstream('stuck', (req) => {
      req.resume();
    });
    const router = await startRouter();
    router.update(
      [revision('hello-00001', { timeoutMs: 300 })],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);
    const response = await get(router.routeUrl('default', 'hello'));
    expect(response.status).toBe(504);
    expect(router.takeStats()[0]).toMatchObject({ queued: 0, inFlight: 0 });
  });

  it('answers 503 with Retry-After beyond the queue limit', async () => {
    const registry = new Registry();
    const router = await startRouter({ maxQueuePerRevision: 3, registry });
    router.update(
      [revision('hello-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    const url = router.routeUrl('default', 'hello');
    const waiting = Array.from({ length: 3 }, () => get(url));
    await waitFor('the router state', () => router.takeStats()[0]!.queued === 3);
    expect(await registry.metrics()).toContain(
      'eddy_serving_queue_depth{namespace="default",revision="hello-00001"} 3',
    );
    const overflow = await get(url);
    expect(overflow.status).toBe(503);
    expect(overflow.headers['retry-after']).toBe('1');
    expect(overflow.body).toContain('3 requests queued');
    // The queued ones fail when the revision goes away.
    router.update([], []);
    const results = await Promise.all(waiting);
    expect(results.map((result) => result.status)).toEqual([503, 503, 503]);
    expect(results[0]!.body).toContain('was removed');
  });

  it('fails requests queued for a removed revision with 503 while others keep working', async () => {
    const other = await startUpstream('other');
    const router = await startRouter();
    router.update(
      [revision('hello-00001'), revision('hello-00002')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00002', [other.replica()]);
    const waiting = get(router.routeUrl('default', 'hello'));
    await waitFor(
      'the router state',
      () => router.takeStats().find((s) => s.revision === 'hello-00001')!.queued === 1,
    );
    router.update(
      [revision('hello-00002')],
      [route('hello', [{ revisionName: 'hello-00002', percent: 100 }])],
    );
    const failed = await waiting;
    expect(failed.status).toBe(503);
    expect(failed.body).toContain('revision default/hello-00001 was removed');
    expect((await get(router.routeUrl('default', 'hello'))).body).toBe('other');
    expect(router.takeStats().map((s) => s.revision)).toEqual(['hello-00002']);
  });

  it('reports time-weighted concurrency, rps and current levels in takeStats', async () => {
    const upstream = await startUpstream('busy', slow(600));
    const router = await startRouter();
    router.update(
      [revision('hello-00001', { containerConcurrency: 2 }), revision('idle-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);
    const url = router.routeUrl('default', 'hello');
    router.takeStats();
    const t0 = Date.now();
    // 4 requests with capacity 2: two are served for 600 ms while two wait, then the other two are
    // served for 600 ms: 4 requests present for 0.6 s, then 2 for 0.6 s -> 3.6 request-seconds.
    const pending = Array.from({ length: 4 }, () => get(url));
    await waitFor('the router state', () => {
      const current = router.takeStats(Date.now());
      return current.find((s) => s.revision === 'hello-00001')!.queued === 2;
    });
    // takeStats() just above reset the interval; start a clean one here.
    const mid = router.takeStats().find((s) => s.revision === 'hello-00001')!;
    expect(mid).toMatchObject({ inFlight: 2, queued: 2 });
    const tMid = Date.now();
    await Promise.all(pending);
    await sleep(Math.max(0, 1_500 - (Date.now() - t0)));
    const now = Date.now();
    const stats = router.takeStats(now);
    const hello = stats.find((s) => s.revision === 'hello-00001')!;
    const idle = stats.find((s) => s.revision === 'idle-00001')!;
    const intervalSeconds = (now - tMid) / 1000;
    // Request-seconds left after tMid: ~3.6 minus what elapsed before tMid (4 requests present then).
    const expectedArea = 3.6 - 4 * ((tMid - t0) / 1000);
    expect(hello.concurrency * intervalSeconds).toBeGreaterThan(expectedArea - 0.5);
    expect(hello.concurrency * intervalSeconds).toBeLessThan(expectedArea + 0.5);
    expect(hello.rps).toBe(0); // all four arrived before tMid
    expect(hello).toMatchObject({ inFlight: 0, queued: 0 });
    expect(idle).toMatchObject({ concurrency: 0, rps: 0, inFlight: 0, queued: 0 });

    // rps: 10 quick requests over a measured interval.
    router.takeStats();
    const t1 = Date.now();
    await sleep(100);
    upstream.seen.length = 0;
    const fast = await startUpstream('fast');
    router.setReplicas('default', 'hello-00001', [fast.replica()]);
    for (let i = 0; i < 10; i++) await get(url);
    await sleep(Math.max(0, 1_000 - (Date.now() - t1)));
    const t2 = Date.now();
    const after = router.takeStats(t2).find((s) => s.revision === 'hello-00001')!;
    expect(Math.abs(after.rps - 10 / ((t2 - t1) / 1000))).toBeLessThan(0.3);
    expect(after.concurrency).toBeLessThan(0.5);
  });

  it('takes replicas given before the revision is in the table, and drains the queue when containerConcurrency rises', async () => {
    const upstream = await startUpstream('held', slow(300));
    const router = await startRouter();
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);
    router.update(
      [revision('hello-00001', { containerConcurrency: 1 })],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    const url = router.routeUrl('default', 'hello');
    const pending = Array.from({ length: 3 }, () => get(url));
    await waitFor('the router state', () => router.takeStats()[0]!.queued === 2);
    expect(upstream.active).toBe(1);
    router.update(
      [revision('hello-00001', { containerConcurrency: 3 })],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    await waitFor('the router state', () => upstream.active === 3);
    expect((await Promise.all(pending)).map((response) => response.status)).toEqual([200, 200, 200]);
  });

  it('forgets a queued request whose client went away', async () => {
    const registry = new Registry();
    const router = await startRouter({ registry });
    router.update(
      [revision('hello-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    const controller = new AbortController();
    const gone = request(router.routeUrl('default', 'hello'), {
      dispatcher: client,
      signal: controller.signal,
    }).catch((error: Error) => error);
    await waitFor('the router state', () => router.takeStats()[0]!.queued === 1);
    controller.abort();
    await gone;
    await waitFor('the router state', () => router.takeStats()[0]!.queued === 0);
    const upstream = await startUpstream('later');
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);
    expect((await get(router.routeUrl('default', 'hello'))).body).toBe('later');
    expect(upstream.seen).toHaveLength(1);
    await waitFor('the router state', async () => (await registry.metrics()).includes('code="499"} 1'));
  });

  it('closes promptly with requests queued and in flight', async () => {
    const upstream = await startUpstream('stuck', (req) => {
      req.resume();
    });
    const router = await createRouter();
    router.update(
      [revision('hello-00001', { containerConcurrency: 1 }), revision('cold-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);
    const inFlight = get(router.routeUrl('default', 'hello')).catch((error: Error) => error);
    const queued = get(router.routeUrl('default', 'hello')).catch((error: Error) => error);
    const cold = get(router.revisionUrl('default', 'cold-00001')).catch((error: Error) => error);
    await waitFor('the router state', () => {
      const stats = router.takeStats();
      return stats[0]!.inFlight === 1 && stats[0]!.queued === 1 && stats[1]!.queued === 1;
    });
    const started = Date.now();
    await router.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const outcomes = await Promise.all([inFlight, queued, cold]);
    for (const outcome of outcomes) {
      expect(outcome).toMatchObject({ status: 503, body: 'the router is shutting down\n' });
    }
  });

  it('fails requests at once while a revision is marked as unable to get a replica', async () => {
    const router = await startRouter();
    router.update(
      [revision('hello-00001')],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    const url = router.routeUrl('default', 'hello');
    const queued = get(url);
    await waitFor('the router state', () => router.takeStats()[0]!.queued === 1);
    router.setFailure?.('default', 'hello-00001', 'no command in embedded mode');
    const failed = await queued;
    expect(failed.status).toBe(503);
    expect(failed.body).toBe(
      'revision default/hello-00001 has no ready replica: no command in embedded mode\n',
    );
    expect((await get(url)).status).toBe(503);
    router.setFailure?.('default', 'hello-00001', undefined);
    const upstream = await startUpstream('fixed');
    const waiting = get(url);
    await waitFor('the router state', () => router.takeStats()[0]!.queued === 1);
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);
    expect((await waiting).body).toBe('fixed');
  });
});

describe('router requests from this process (requestInProcess)', () => {
  /** A request as the deliverer makes it: a CloudEvent POST with a Buffer body. */
  function inProcess(router: Router, url: string, signal = new AbortController().signal) {
    const target = new URL(url);
    const requestInProcess = router.requestInProcess?.bind(router);
    if (!requestInProcess) throw new Error('this router serves no in-process requests');
    return requestInProcess({
      host: target.host,
      path: `${target.pathname}${target.search}`,
      method: 'POST',
      headers: { 'ce-id': 'e-1', 'content-type': 'text/plain' },
      body: Buffer.from('payload'),
      signal,
    });
  }

  it('routes, rewrites headers and limits concurrency as the listener does; the lease lasts until the body is read', async () => {
    const upstream = await startUpstream('one', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => res.writeHead(200, { 'x-upstream': 'one' }).end(Buffer.concat(chunks)));
    });
    const registry = new Registry();
    const router = await startRouter({ registry });
    router.update(
      [revision('hello-00001', { containerConcurrency: 1 })],
      [route('hello', [{ revisionName: 'hello-00001', percent: 100 }])],
    );
    router.setReplicas('default', 'hello-00001', [upstream.replica()]);

    const first = await inProcess(router, `${router.routeUrl('default', 'hello')}/a?x=1`);
    if (first.kind !== 'response') throw new Error(`refused: ${JSON.stringify(first)}`);
    expect(first.response.statusCode).toBe(200);
    expect(first.response.headers['x-upstream']).toBe('one');
    const seen = upstream.seen[0]!;
    expect(seen.url).toBe('/a?x=1');
    expect(seen.headers['ce-id']).toBe('e-1');
    expect(seen.headers['x-forwarded-prefix']).toBe('/default/hello');
    expect(seen.headers['x-forwarded-host']).toBe(new URL(router.url).host);
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');

    // containerConcurrency 1: the second waits while the first response's body is unread.
    let secondDone = false;
    const second = inProcess(router, router.routeUrl('default', 'hello')).then((answer) => {
      secondDone = true;
      return answer;
    });
    await sleep(200);
    expect(secondDone).toBe(false);
    expect(router.takeStats()[0]).toMatchObject({ inFlight: 1, queued: 1 });
    expect(await first.response.body.text()).toBe('payload');
    const answer = await second;
    if (answer.kind !== 'response') throw new Error(`refused: ${JSON.stringify(answer)}`);
    await answer.response.body.dump();
    await waitFor('both leases released', () => router.takeStats()[0]?.inFlight === 0);
    expect(upstream.maxActive).toBe(1);
    // Counted as requests, and apart as in-process ones; a request through the listener is not one.
    const listened = await request(router.routeUrl('default', 'hello'), { method: 'POST', body: 'x' });
    await listened.body.dump();
    const metrics = await registry.metrics();
    expect(metrics).toContain(
      'eddy_serving_requests_total{namespace="default",revision="hello-00001",code="200"} 3',
    );
    expect(metrics).toContain(
      'eddy_serving_in_process_requests_total{namespace="default",revision="hello-00001"} 2',
    );
  });

  it('declines a limited revision when it has no share of containerConcurrency (the caller sends it through the network)', async () => {
    const upstream = await startUpstream('one');
    const registry = new Registry();
    const router = await startRouter({ registry });
    router.update(
      [revision('limited-00001', { containerConcurrency: 1 }), revision('open-00001')],
      [
        route('limited', [{ revisionName: 'limited-00001', percent: 100 }]),
        route('open', [{ revisionName: 'open-00001', percent: 100 }]),
      ],
    );
    router.setReplicas('default', 'limited-00001', [upstream.replica()]);
    router.setReplicas('default', 'open-00001', [upstream.replica()]);
    // A router that takes no share (a dispatcher's own): index -1 among the sharing routers.
    router.setCapacityShare?.({ index: -1, count: 1 });
    expect(await inProcess(router, router.routeUrl('default', 'limited'))).toEqual({ kind: 'declined' });
    const open = await inProcess(router, router.routeUrl('default', 'open'));
    if (open.kind !== 'response') throw new Error(`not served: ${JSON.stringify(open)}`);
    await open.response.body.dump();
    expect(upstream.seen).toHaveLength(1);
    // Declined is neither counted nor held.
    expect(await registry.metrics()).not.toContain(
      'eddy_serving_requests_total{namespace="default",revision="limited-00001"',
    );
    // With a share it serves the limited revision too.
    router.setCapacityShare?.({ index: 0, count: 1 });
    const limited = await inProcess(router, router.routeUrl('default', 'limited'));
    if (limited.kind !== 'response') throw new Error(`not served: ${JSON.stringify(limited)}`);
    await limited.response.body.dump();
  });

  it('refuses as the listener answers: unknown address 404, no target 503, timeout 504, dead replica 502, caller gone 499', async () => {
    const router = await startRouter({ logger: pino({ level: 'silent' }) });
    const stuck = await startUpstream('stuck', (req) => req.resume());
    const dead = await startUpstream('dead');
    await dead.close();
    router.update(
      [revision('slow-00001', { timeoutMs: 300 }), revision('gone-00001'), revision('cold-00001')],
      [
        route('slow', [{ revisionName: 'slow-00001', percent: 100 }]),
        route('gone', [{ revisionName: 'gone-00001', percent: 100 }]),
        route('cold', [{ revisionName: 'cold-00001', percent: 100 }]),
        route('none', [{ revisionName: 'slow-00001', percent: 0, tag: 't' }]),
      ],
    );
    router.setReplicas('default', 'slow-00001', [stuck.replica()]);
    router.setReplicas('default', 'gone-00001', [{ id: 'dead', url: dead.url, ready: true }]);

    expect(await inProcess(router, router.routeUrl('default', 'nope'))).toMatchObject({
      kind: 'refused',
      status: 404,
      message: expect.stringContaining('no route, tag or revision "nope"'),
    });
    expect(await inProcess(router, router.routeUrl('default', 'none'))).toMatchObject({
      kind: 'refused',
      status: 503,
      retryAfterSeconds: 1,
    });
    expect(await inProcess(router, router.routeUrl('default', 'slow'))).toMatchObject({
      kind: 'refused',
      status: 504,
      message: 'revision default/slow-00001 did not answer within 300 ms',
    });
    expect(await inProcess(router, router.routeUrl('default', 'gone'))).toMatchObject({
      kind: 'refused',
      status: 502,
      message: expect.stringContaining('replica dead of revision default/gone-00001 failed'),
    });
    const caller = new AbortController();
    const waiting = inProcess(router, router.routeUrl('default', 'cold'), caller.signal);
    await waitFor('queued at zero', () =>
      router.takeStats().some((s) => s.revision === 'cold-00001' && s.queued === 1),
    );
    caller.abort(new Error('delivery timed out'));
    expect(await waiting).toMatchObject({ kind: 'refused', status: 499 });
    for (const stats of router.takeStats())
      expect(stats, stats.revision).toMatchObject({ inFlight: 0, queued: 0 });
  });

  it('sends the request again to another replica when the first refuses the connection', async () => {
    const live = await startUpstream('live');
    const { router } = await routerWithDeadReplicaBefore(live);
    for (let i = 0; i < 4; i++) {
      const answer = await inProcess(router, router.routeUrl('default', 'hello'));
      if (answer.kind !== 'response') throw new Error(`refused: ${JSON.stringify(answer)}`);
      expect(await answer.response.body.text()).toBe('live');
    }
    expect(live.seen).toHaveLength(4);
  });
});
