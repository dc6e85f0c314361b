/**
 * The client verbs in process (`run(argv, output)`) against a real HTTP server on 127.0.0.1 that speaks
 * the admin protocol (protocol.ts) from a small in-memory table, plus a real broker ingress for `send`.
 * The end-to-end proof against `eddy dev` itself is test/cli/quickstart.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type {
  AdminFile,
  ApplyRequest,
  ApplyResponse,
  DescribeResponse,
  ErrorResponse,
  StoredResource,
} from '../admin/protocol.js';
import { waitFor } from '../dev/testing/wait.js';
import type { Output } from '../output.js';
import { run } from '../program.js';
import { MINIMAL_SEND_FLAGS } from '../testing/send-flags.js';

interface Captured extends Output {
  stdout: string[];
  stderr: string[];
}

function capture(): Captured {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
}

async function eddy(...argv: string[]): Promise<{ code: number; stdout: string[]; stderr: string[] }> {
  const o = capture();
  const code = await run(argv, o);
  return { code, stdout: o.stdout.flatMap((l) => l.split('\n')), stderr: o.stderr };
}

const TOKEN = `t-${randomUUID()}`;
// 10m10s ago: shown as `10m` for the next 50 s, so a slow run cannot tick the AGE column over.
const created = new Date(Date.now() - 610_000).toISOString();

function resource(kind: string, name: string, extra: Partial<StoredResource> = {}): StoredResource {
  return {
    apiVersion:
      kind === 'Service' || kind === 'Revision' ? 'serving.knative.dev/v1' : 'eventing.knative.dev/v1',
    kind,
    metadata: { name, namespace: 'default', generation: 1, creationTimestamp: created },
    ...extra,
  };
}

const ready = (status: 'True' | 'False' | 'Unknown', reason?: string, message?: string) => ({
  type: 'Ready',
  status,
  ...(reason ? { reason } : {}),
  ...(message ? { message } : {}),
});

interface Recorded {
  method: string;
  url: string;
  body: string;
  headers: IncomingMessage['headers'];
}

let admin: Server;
let ingress: Server;
let ingressUrl = '';
let dataDir = '';
let store: StoredResource[] = [];
let adminRequests: Recorded[] = [];
let ingressRequests: Recorded[] = [];
let ingressAnswer: { status: number; body: string } = { status: 202, body: '' };
const tailResponses: ServerResponse[] = [];

function json(res: ServerResponse, status: number, value: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
}

const notFound = (what: string): ErrorResponse => ({ error: `${what} not found` });

function handleAdmin(req: IncomingMessage, res: ServerResponse, body: string) {
  adminRequests.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
  if (req.headers.authorization !== `Bearer ${TOKEN}`)
    return json(res, 401, { error: 'missing or wrong admin token' });
  const url = new URL(req.url ?? '/', 'http://x');
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const find = (kind?: string, ns?: string, name?: string) =>
    store.find((r) => r.kind === kind && r.metadata.namespace === ns && r.metadata.name === name);
  if (req.method === 'GET' && url.pathname === '/v1/resources') {
    const kind = url.searchParams.get('kind');
    const ns = url.searchParams.get('namespace');
    return json(res, 200, {
      items: store.filter((r) => (!kind || r.kind === kind) && (!ns || r.metadata.namespace === ns)),
    });
  }
  if (parts[0] === 'v1' && parts[1] === 'resources' && parts.length === 5) {
    const r = find(parts[2], parts[3], parts[4]);
    if (!r) return json(res, 404, notFound(`${parts[2]} ${parts[3]}/${parts[4]}`));
    if (req.method === 'GET') return json(res, 200, r);
    if (req.method === 'DELETE') {
      store = store.filter((x) => x !== r);
      const out: ApplyResponse = {
        items: [{ kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name, action: 'deleted' }],
        warnings: [],
      };
      return json(res, 200, out);
    }
  }
  if (req.method === 'GET' && parts[1] === 'describe' && parts.length === 5) {
    const r = find(parts[2], parts[3], parts[4]);
    if (!r) return json(res, 404, notFound(`${parts[2]} ${parts[3]}/${parts[4]}`));
    const d: DescribeResponse = {
      resource: r,
      events: [{ time: created, type: 'Normal', reason: 'Created', message: 'applied from quickstart.yaml' }],
      ...(r.kind === 'Service'
        ? {
            decisions: [
              {
                at: created,
                revision: `${r.metadata.name}-00001`,
                desired: 3,
                reason: 'Backlog',
                detail: 'lag 250 / 100',
              },
            ],
          }
        : {}),
    };
    return json(res, 200, d);
  }
  if (req.method === 'POST' && (url.pathname === '/v1/apply' || url.pathname === '/v1/delete')) {
    const reqBody = JSON.parse(body) as ApplyRequest;
    const docs = reqBody.text
      .split(/^---$/m)
      .map((t) => parseYaml(t) as { kind: string; metadata: { name: string; namespace?: string } } | null)
      .filter((d) => d !== null);
    const deleting = url.pathname === '/v1/delete';
    const out: ApplyResponse = {
      items: docs.map((d) => ({
        kind: d.kind,
        namespace: d.metadata.namespace ?? 'default',
        name: d.metadata.name,
        action: deleting ? (d.metadata.name === 'ghost' ? 'not found' : 'deleted') : 'created',
      })),
      warnings: deleting ? [] : [`${reqBody.file}: a warning from the server`],
    };
    return json(res, 200, out);
  }
  if (req.method === 'GET' && url.pathname === '/v1/tail') {
    if (url.searchParams.get('broker') !== 'default') return json(res, 404, notFound('broker'));
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write(`${JSON.stringify({ tailing: `${url.searchParams.get('namespace')}/default` })}\n`);
    tailResponses.push(res);
    return;
  }
  json(res, 404, { error: `no route ${req.method} ${url.pathname}` });
}

function listen(server: Server): Promise<string> {
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
  );
}

function withBody(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, res, Buffer.concat(chunks).toString('utf8')));
  };
}

async function writeAdminFile(dir: string, file: Partial<AdminFile>) {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'admin.json'), JSON.stringify(file));
}

let adminUrl = '';

beforeAll(async () => {
  admin = createServer(withBody(handleAdmin));
  ingress = createServer(
    withBody((req, res, body) => {
      ingressRequests.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      res.writeHead(ingressAnswer.status).end(ingressAnswer.body);
    }),
  );
  adminUrl = await listen(admin);
  ingressUrl = await listen(ingress);
  dataDir = await mkdtemp(join(tmpdir(), 'eddy-verbs-'));
  await writeAdminFile(dataDir, { url: adminUrl, token: TOKEN, pid: process.pid, startedAt: created });
});

afterAll(async () => {
  for (const r of tailResponses) r.destroy();
  admin.closeAllConnections();
  await new Promise((done) => admin.close(done));
  await new Promise((done) => ingress.close(done));
  await rm(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  adminRequests = [];
  ingressRequests = [];
  ingressAnswer = { status: 202, body: '' };
  store = [
    resource('Broker', 'default', {
      metadata: {
        name: 'default',
        namespace: 'default',
        generation: 1,
        creationTimestamp: created,
        annotations: { 'eventing.knative.dev/broker.class': 'Kafka' },
      },
      status: {
        observedGeneration: 1,
        address: { url: `${ingressUrl}/default/default` },
        conditions: [ready('True')],
      },
    }),
    resource('Broker', 'pending', {
      status: { conditions: [ready('False', 'TopicNotReady', 'creating the topic')] },
    }),
    resource('Trigger', 'orders', {
      spec: { broker: 'default', filters: [{ cesql: "type LIKE 'com.example.%'" }] },
      status: { subscriberUri: 'http://127.0.0.1:1/default/orders', conditions: [ready('True')] },
    }),
    resource('Trigger', 'audit', {
      spec: { broker: 'default', filter: { attributes: { type: 'a.b' } } },
      status: { conditions: [ready('False', 'SubscriberNotReady', 'no ready revision')] },
    }),
    resource('Service', 'processor', {
      status: {
        url: 'http://127.0.0.1:9/default/processor',
        latestCreatedRevisionName: 'processor-00001',
        latestReadyRevisionName: 'processor-00001',
        conditions: [ready('True')],
      },
    }),
    resource('Revision', 'processor-00001', {
      metadata: {
        name: 'processor-00001',
        namespace: 'default',
        generation: 1,
        creationTimestamp: created,
        labels: {
          'serving.knative.dev/service': 'processor',
          'serving.knative.dev/configuration': 'processor',
        },
      },
      status: { actualReplicas: 2, desiredReplicas: 3, conditions: [ready('True')] },
    }),
  ];
});

const dd = () => ['--data-dir', dataDir];

describe('eddy get', () => {
  it('a table with kind-specific columns, Ready and reason, sorted by name', async () => {
    const r = await eddy('get', 'triggers', ...dd());
    expect(r.code).toBe(0);
    expect(r.stdout).toEqual([
      'NAME     BROKER    SUBSCRIBER_URI                      READY   REASON               AGE',
      'audit    default                                       False   SubscriberNotReady   10m',
      'orders   default   http://127.0.0.1:1/default/orders   True                         10m',
    ]);
    expect(adminRequests[0]?.url).toBe('/v1/resources?kind=Trigger&namespace=default');
  });

  it('services show URL, revisions and the replicas of their revisions', async () => {
    const r = await eddy('get', 'ksvc', ...dd());
    expect(r.stdout).toEqual([
      'NAME        URL                                    LATESTCREATED     LATESTREADY       REPLICAS   READY   REASON   AGE',
      'processor   http://127.0.0.1:9/default/processor   processor-00001   processor-00001   2/3        True             10m',
    ]);
  });

  it('-o wide adds columns; -A adds NAMESPACE and lists every namespace', async () => {
    const wide = await eddy('get', 'brokers', '-o', 'wide', ...dd());
    expect(wide.stdout[0]).toBe(
      'NAME      URL                                      CLASS   READY   REASON          AGE   MESSAGE',
    );
    expect(wide.stdout[2]).toMatch(/^pending\s+False\s+TopicNotReady\s+10m\s+creating the topic$/);
    const all = await eddy('get', 'broker', '-A', ...dd());
    expect(all.stdout[0]).toMatch(/^NAMESPACE\s+NAME\s+URL/);
    expect(adminRequests.at(-1)?.url).toBe('/v1/resources?kind=Broker');
  });

  it('-o json of a list is {"items": [...]}, of one name the object; -o yaml parses back', async () => {
    const list = await eddy('get', 'trigger', '-o', 'json', ...dd());
    const parsed = JSON.parse(list.stdout.join('\n')) as { items: StoredResource[] };
    expect(parsed.items.map((t) => t.metadata.name)).toEqual(['audit', 'orders']);
    const one = await eddy('get', 'trigger', 'orders', '-o', 'json', ...dd());
    expect((JSON.parse(one.stdout.join('\n')) as StoredResource).spec).toEqual({
      broker: 'default',
      filters: [{ cesql: "type LIKE 'com.example.%'" }],
    });
    const yaml = await eddy('get', 'broker', 'default', '-o', 'yaml', ...dd());
    expect((parseYaml(yaml.stdout.join('\n')) as StoredResource).status?.address?.url).toBe(
      `${ingressUrl}/default/default`,
    );
  });

  it('sources show URL (status.address.url) when their adapter listens for HTTP, and SINK', async () => {
    const sourceKind = { apiVersion: 'sources.knative.dev/v1alpha1' };
    store.push(
      resource('GitHubSource', 'hooks', {
        ...sourceKind,
        status: {
          address: { url: 'http://127.0.0.1:8099/' },
          sinkUri: 'http://127.0.0.1:1/broker',
          conditions: [ready('True')],
        },
      }),
      resource('GitHubSource', 'no-secret', {
        ...sourceKind,
        status: { conditions: [ready('False', 'StartFailed', 'secret not found')] },
      }),
      resource('KafkaSource', 'orders', {
        apiVersion: 'sources.knative.dev/v1',
        status: { sinkUri: 'http://127.0.0.1:9/x', conditions: [ready('True')] },
      }),
    );
    const github = await eddy('get', 'githubsources', ...dd());
    expect(github.stdout).toEqual([
      'NAME        URL                      SINK                        READY   REASON        AGE',
      'hooks       http://127.0.0.1:8099/   http://127.0.0.1:1/broker   True                  10m',
      'no-secret                                                        False   StartFailed   10m',
    ]);
    // No source of the kind has an address: no URL column.
    const kafka = await eddy('get', 'kafkasources', ...dd());
    expect(kafka.stdout[0]).toMatch(/^NAME\s+SINK\s+READY\s+REASON\s+AGE$/);
    // Any source kind whose adapter reported one gets it.
    store.push(
      resource('KafkaSource', 'listening', {
        apiVersion: 'sources.knative.dev/v1',
        status: { address: { url: 'http://127.0.0.1:7/' }, conditions: [ready('True')] },
      }),
    );
    const withUrl = await eddy('get', 'kafkasources', ...dd());
    expect(withUrl.stdout[0]).toMatch(/^NAME\s+URL\s+SINK\s+READY/);
    expect(withUrl.stdout[1]).toMatch(/^listening\s+http:\/\/127\.0\.0\.1:7\/\s+True/);
    const one = await eddy('get', 'githubsource', 'hooks', '-o', 'json', ...dd());
    expect((JSON.parse(one.stdout.join('\n')) as StoredResource).status?.address).toEqual({
      url: 'http://127.0.0.1:8099/',
    });
  });

  it("nothing found: kubectl's message on stderr, exit 0; an unknown name: one line, exit 1", async () => {
    const none = await eddy('get', 'routes', ...dd());
    expect(none).toEqual({ code: 0, stdout: [], stderr: ['No resources found in default namespace.'] });
    const missing = await eddy('get', 'trigger', 'nope', ...dd());
    expect(missing).toEqual({
      code: 1,
      stdout: [],
      stderr: ['eddy: trigger.eventing.knative.dev "nope" not found'],
    });
  });

  it('bad arguments are one usage line, exit 2, before any request', async () => {
    expect(await eddy('get', 'brokr', ...dd())).toEqual({
      code: 2,
      stdout: [],
      stderr: ['eddy: unknown kind "brokr" (did you mean broker?)'],
    });
    expect((await eddy('get', 'brokers', '-o', 'xml', ...dd())).stderr).toEqual([
      'eddy: unknown output format "xml" for -o (expected yaml, json, wide)',
    ]);
    expect((await eddy('get', ...dd())).stderr[0]).toMatch(
      /^eddy: missing the kind: eddy get <kind> \[name\] \(kinds: broker, /,
    );
    expect((await eddy('get', 'trigger', 'Bad_Name', ...dd())).stderr).toEqual([
      "eddy: invalid trigger \"Bad_Name\": expected a lower-case name (letters, digits, '-', '.'), such as my-trigger",
    ]);
    expect(adminRequests).toEqual([]);
  });
});

describe('finding the server', () => {
  it('no admin.json: says no eddy dev runs for that data dir and how to start one', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'eddy-none-'));
    const r = await eddy('get', 'brokers', '--data-dir', empty);
    expect(r).toEqual({
      code: 1,
      stdout: [],
      stderr: [
        `eddy: no eddy dev is running for data dir ${empty} (start one with: eddy dev -f <dir> --data-dir ${empty})`,
      ],
    });
    await rm(empty, { recursive: true });
  });

  it('EDDY_DATA_DIR is used when --data-dir is absent', async () => {
    const saved = process.env.EDDY_DATA_DIR;
    process.env.EDDY_DATA_DIR = dataDir;
    try {
      expect((await eddy('get', 'brokers')).code).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.EDDY_DATA_DIR;
      else process.env.EDDY_DATA_DIR = saved;
    }
  });

  it('a dead pid, a refused connection, a wrong token, a missing token, broken JSON: one line each', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eddy-stale-'));
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default range of 2^22: never a live process
    await writeAdminFile(dir, { url: adminUrl, token: TOKEN, pid: dead, startedAt: created });
    expect((await eddy('get', 'brokers', '--data-dir', dir)).stderr).toEqual([
      `eddy: no eddy dev is running for data dir ${dir} (admin.json names pid ${dead}, which has exited) (start one with: eddy dev -f <dir> --data-dir ${dir})`,
    ]);

    const closed = createServer();
    const closedUrl = await listen(closed);
    await new Promise((done) => closed.close(done));
    await writeAdminFile(dir, { url: closedUrl, token: TOKEN, pid: process.pid, startedAt: created });
    expect((await eddy('get', 'brokers', '--data-dir', dir)).stderr).toEqual([
      `eddy: no eddy dev is running for data dir ${dir} (nothing answers at ${closedUrl}) (start one with: eddy dev -f <dir> --data-dir ${dir})`,
    ]);

    await writeAdminFile(dir, { url: adminUrl, token: 'wrong', pid: process.pid, startedAt: created });
    const wrong = await eddy('get', 'brokers', '--data-dir', dir);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toEqual([
      `eddy: eddy dev at ${adminUrl} rejected the token from ${dir}/admin.json (401: missing or wrong admin token); is that file from another eddy dev?`,
    ]);

    await writeAdminFile(dir, { url: adminUrl, pid: process.pid, startedAt: created });
    expect((await eddy('get', 'brokers', '--data-dir', dir)).stderr).toEqual([
      `eddy: ${dir}/admin.json has no token; restart eddy dev to rewrite it`,
    ]);

    await writeFile(join(dir, 'admin.json'), '{"url": ');
    const broken = await eddy('get', 'brokers', '--data-dir', dir);
    expect(broken.stderr).toHaveLength(1);
    expect(broken.stderr[0]).toMatch(
      new RegExp(`^eddy: ${dir}/admin.json is not valid JSON \\(.+\\); restart eddy dev to rewrite it$`),
    );
    await rm(dir, { recursive: true });
  });
});

describe('eddy describe', () => {
  it('metadata, spec, status, conditions, events and autoscaler decisions', async () => {
    const r = await eddy('describe', 'ksvc', 'processor', ...dd());
    expect(r.code).toBe(0);
    const text = r.stdout.join('\n');
    expect(r.stdout.slice(0, 3)).toEqual([
      'Name:         processor',
      'Namespace:    default',
      'Kind:         Service (serving.knative.dev/v1)',
    ]);
    expect(text).toContain('URL:          http://127.0.0.1:9/default/processor');
    expect(text).toContain('  latestReadyRevisionName: processor-00001');
    expect(text).toMatch(/Conditions:\n {2}TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE\n {2}Ready\s+True/);
    expect(text).toMatch(
      /Autoscaler decisions:\n {2}AGE\s+REVISION\s+DESIRED\s+REASON\s+DETAIL\n {2}10m\s+processor-00001\s+3\s+Backlog\s+lag 250 \/ 100/,
    );
    expect(text).toMatch(
      /Events:\n {2}TYPE\s+REASON\s+AGE\s+MESSAGE\n {2}Normal\s+Created\s+10m\s+applied from quickstart.yaml/,
    );
  });

  it('an unknown resource or kind, a missing name: one line', async () => {
    expect(await eddy('describe', 'trigger', 'nope', ...dd())).toEqual({
      code: 1,
      stdout: [],
      stderr: ['eddy: trigger.eventing.knative.dev "nope" not found'],
    });
    expect((await eddy('describe', 'trigger', ...dd())).stderr).toEqual([
      'eddy: missing the name: eddy describe trigger <name>',
    ]);
    expect((await eddy('describe', 'triger', 'x', ...dd())).stderr).toEqual([
      'eddy: unknown kind "triger" (did you mean trigger?)',
    ]);
  });
});

describe('eddy apply and delete', () => {
  const manifest = [
    'apiVersion: eventing.knative.dev/v1',
    'kind: Broker',
    'metadata:',
    '  name: default',
    '---',
    'apiVersion: eventing.knative.dev/v1',
    'kind: Trigger',
    'metadata:',
    '  name: t1',
    '  namespace: shop',
    'spec:',
    '  broker: default',
    '  subscriber:',
    '    uri: http://127.0.0.1:1/',
    '',
  ].join('\n');

  it('apply sends each file as it is and prints what happened, kubectl-style', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eddy-apply-'));
    await writeFile(join(dir, 'mesh.yaml'), manifest);
    const r = await eddy('apply', '-f', dir, ...dd());
    expect(r).toEqual({
      code: 0,
      stdout: [
        'broker.eventing.knative.dev/default created',
        'trigger.eventing.knative.dev/t1 created -n shop',
      ],
      stderr: [`warning: ${dir}/mesh.yaml: a warning from the server`],
    });
    // With the directory the file's relative paths resolve against.
    expect(JSON.parse(adminRequests[0]!.body)).toEqual({
      text: manifest,
      file: `${dir}/mesh.yaml`,
      baseDir: dir,
    });
    await rm(dir, { recursive: true });
  });

  it('apply checks first: a YAML error or an invalid field is located and nothing is sent', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eddy-apply-'));
    await writeFile(
      join(dir, 'a.yaml'),
      'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: [x\n',
    );
    const syntax = await eddy('apply', '-f', join(dir, 'a.yaml'), ...dd());
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toHaveLength(1);
    expect(syntax.stderr[0]).toMatch(
      new RegExp(`^eddy: nothing applied: ${dir}/a.yaml:\\d+:\\d+: error: .*YAML syntax error`),
    );
    await writeFile(
      join(dir, 'a.yaml'),
      'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\nspec:\n  broker: 3\n  subscriber:\n    uri: http://x/\n',
    );
    const invalid = await eddy('apply', '-f', join(dir, 'a.yaml'), ...dd());
    expect(invalid.stderr).toEqual([
      `eddy: nothing applied: ${dir}/a.yaml:6:11: error: #0 Trigger default/t: spec.broker: expected a string, found integer 3`,
    ]);
    expect(adminRequests).toEqual([]);
    expect((await eddy('apply', ...dd())).stderr).toEqual([
      'eddy: missing -f <file|dir>: say which manifests to apply',
    ]);
    expect((await eddy('apply', '-f', join(dir, 'nope.yaml'), ...dd())).stderr).toEqual([
      `eddy: no such file or directory: ${join(dir, 'nope.yaml')}`,
    ]);
    await rm(dir, { recursive: true });
  });

  it('delete <kind> <name> and delete -f; a missing one fails unless --ignore-not-found', async () => {
    const r = await eddy('delete', 'trigger', 'orders', ...dd());
    expect(r).toEqual({ code: 0, stdout: ['trigger.eventing.knative.dev "orders" deleted'], stderr: [] });
    expect(adminRequests[0]).toMatchObject({ method: 'DELETE', url: '/v1/resources/Trigger/default/orders' });
    expect(await eddy('delete', 'trigger', 'orders', ...dd())).toEqual({
      code: 1,
      stdout: [],
      stderr: ['eddy: trigger.eventing.knative.dev "orders" not found'],
    });
    expect((await eddy('delete', 'trigger', 'orders', '--ignore-not-found', ...dd())).code).toBe(0);

    const dir = await mkdtemp(join(tmpdir(), 'eddy-delete-'));
    await writeFile(join(dir, 'm.yaml'), manifest.replace('name: t1', 'name: ghost'));
    const byFile = await eddy('delete', '-f', dir, ...dd());
    expect(byFile).toEqual({
      code: 1,
      stdout: ['broker.eventing.knative.dev "default" deleted'],
      stderr: ['eddy: trigger.eventing.knative.dev "ghost" not found in namespace shop'],
    });
    expect(adminRequests.at(-1)?.url).toBe('/v1/delete');
    expect((await eddy('delete', 'trigger', '-f', dir, ...dd())).stderr).toEqual([
      'eddy: give either -f <file|dir> or <kind> <name>, not both',
    ]);
    expect((await eddy('delete', 'trigger', ...dd())).stderr).toEqual([
      'eddy: missing the name of the trigger to delete: eddy delete <kind> <name>',
    ]);
    await rm(dir, { recursive: true });
  });
});

describe('eddy send', () => {
  it('POSTs one binary-mode CloudEvent to the broker address and prints its id', async () => {
    const r = await eddy(
      'send',
      '--broker',
      'default',
      '--type',
      'com.example.order.created',
      '--source',
      '/shop',
      '--subject',
      'order 42',
      '--data',
      '{"amount": 3}',
      '--extension',
      'region=eu',
      ...dd(),
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toEqual([]);
    const id = r.stdout[0]!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const got = ingressRequests[0]!;
    expect(got.method).toBe('POST');
    expect(got.url).toBe('/default/default');
    expect(got.body).toBe('{"amount": 3}');
    expect(got.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-type': 'com.example.order.created',
      'ce-source': '/shop',
      'ce-subject': 'order%2042',
      'ce-region': 'eu',
      'content-type': 'application/json',
    });
    expect(Date.parse(String(got.headers['ce-time']))).toBeGreaterThan(Date.now() - 60_000);
  });

  it('text data and a given id; a data file with its content type from the extension', async () => {
    const r = await eddy('send', ...MINIMAL_SEND_FLAGS, '--id', 'my-1', '--data', 'hi', ...dd());
    expect(r.stdout).toEqual(['my-1']);
    expect(ingressRequests[0]?.headers['content-type']).toBe('text/plain');
    const dir = await mkdtemp(join(tmpdir(), 'eddy-send-'));
    await writeFile(join(dir, 'e.json'), '[1,2]');
    await eddy('send', ...MINIMAL_SEND_FLAGS, '--data-file', join(dir, 'e.json'), ...dd());
    expect(ingressRequests[1]).toMatchObject({
      body: '[1,2]',
      headers: { 'content-type': 'application/json' },
    });
    await rm(dir, { recursive: true });
  });

  it('a refusal by the broker is one line with the status and body', async () => {
    ingressAnswer = { status: 400, body: 'invalid event: type must not be empty' };
    expect(await eddy('send', ...MINIMAL_SEND_FLAGS, ...dd())).toEqual({
      code: 1,
      stdout: [],
      stderr: ['eddy: broker default/default answered 400: invalid event: type must not be empty'],
    });
  });

  it('bad flags, an unknown broker, a broker without an address: one line each', async () => {
    const send = (...a: string[]) => eddy('send', ...a, ...dd());
    expect((await send('--type', 't', '--source', 's')).stderr).toEqual([
      'eddy: missing --broker <name>: which broker to send the event to',
    ]);
    expect((await send('--broker', 'default', '--source', 's')).stderr[0]).toMatch(
      /^eddy: missing --type <type>/,
    );
    expect((await send('--broker', 'default', '--type', 't')).stderr[0]).toMatch(
      /^eddy: missing --source <uri-ref>/,
    );
    expect((await send(...MINIMAL_SEND_FLAGS, '--extension', 'Region=eu')).stderr).toEqual([
      'eddy: invalid --extension "Region=eu": an extension name is 1-20 lower-case letters or digits and not a context attribute (id, type, ...)',
    ]);
    expect(
      (await send(...MINIMAL_SEND_FLAGS, '--data', '{x', '--content-type', 'application/json')).stderr[0],
    ).toMatch(/^eddy: the data is not valid JSON but the content type is application\/json: /);
    expect(ingressRequests).toEqual([]);
    expect(await send('--broker', 'nope', '--type', 't', '--source', 's')).toEqual({
      code: 1,
      stdout: [],
      stderr: ['eddy: broker "nope" not found in namespace default (see: eddy get brokers -A)'],
    });
    expect((await send('--broker', 'pending', '--type', 't', '--source', 's')).stderr).toEqual([
      'eddy: broker default/pending has no address yet (Ready=False TopicNotReady: creating the topic); see: eddy describe broker pending',
    ]);
  });
});

describe('eddy tail', () => {
  it('streams events as text lines, and ends quietly (exit 0) when interrupted', async () => {
    const o = capture();
    const { runTail } = await import('./tail.js');
    const stop = new AbortController();
    let live!: () => void;
    const isLive = new Promise<void>((done) => {
      live = done;
    });
    const done = runTail('default', { namespace: 'default', dataDir, filter: "type LIKE 'com.%'" }, o, {
      signal: stop.signal,
      onLive: () => live(),
    });
    await isLive;
    expect(new URL(adminRequests.at(-1)!.url, 'http://x').searchParams.get('filter')).toBe(
      "type LIKE 'com.%'",
    );
    const res = tailResponses.at(-1)!;
    res.write(
      `${JSON.stringify({ specversion: '1.0', id: '1', type: 'com.a', source: '/s', time: '2026-01-01T00:00:00Z', subject: 'x', data: { n: 1 } })}\n`,
    );
    res.write(
      `${JSON.stringify({ specversion: '1.0', id: '2', type: 'com.b', source: '/s', data_base64: 'AAEC' })}\n`,
    );
    await waitFor('2 lines', () => o.stdout.length >= 2, { intervalMs: 10 });
    stop.abort();
    expect(await done).toBe(0);
    expect(o.stderr).toEqual(["tailing default/default where type LIKE 'com.%' (Ctrl-C to stop)"]);
    expect(o.stdout).toEqual([
      '2026-01-01T00:00:00Z  com.a  /s  id=1  subject=x  {"n":1}',
      '-  com.b  /s  id=2  <3 bytes>',
    ]);
  });

  it('-o json prints each CloudEvent as one JSON line', async () => {
    const o = capture();
    const { runTail } = await import('./tail.js');
    const stop = new AbortController();
    const done = runTail('default', { namespace: 'default', dataDir, output: 'json' }, o, {
      signal: stop.signal,
      onLive: () => {
        tailResponses.at(-1)!.write('{"specversion":"1.0","id":"9","type":"t","source":"s"}\n');
      },
    });
    await waitFor('a line', () => o.stdout.length >= 1, { intervalMs: 10 });
    stop.abort();
    expect(await done).toBe(0);
    expect(o.stdout).toEqual(['{"specversion":"1.0","id":"9","type":"t","source":"s"}']);
  });

  it('a bad filter is reported with its position before connecting; an unknown broker is one line', async () => {
    const bad = await eddy('tail', 'default', '--filter', "type = 'a' AND", ...dd());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toHaveLength(1);
    expect(bad.stderr[0]).toMatch(/^eddy: invalid --filter: .* at column \d+/);
    expect(adminRequests).toEqual([]);
    expect(await eddy('tail', 'nope', ...dd())).toEqual({
      code: 1,
      stdout: [],
      stderr: ['eddy: broker "nope" not found in namespace default (see: eddy get brokers -A)'],
    });
  });

  it('a stream the server ends is an error (eddy dev went away)', async () => {
    const o = capture();
    const { runTail } = await import('./tail.js');
    const { CliError } = await import('../cli-error.js');
    const done = runTail('default', { namespace: 'default', dataDir }, o, {
      signal: new AbortController().signal,
      onLive: () => tailResponses.at(-1)!.end(),
    });
    await expect(done).rejects.toThrow(CliError);
    await expect(done).rejects.toThrow('eddy dev ended the stream (was it stopped?)');
  });
});
