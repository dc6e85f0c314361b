// `eddy dev` with TLS (issue 17): the ingress, the router and the GitHub webhook endpoint serve HTTPS
// from --tls-cert/--tls-key; Broker addresses are https with CACerts; Triggers deliver to https
// subscribers verified against system roots + their CACerts, and a subscriber whose certificate does
// not verify is retried then dead-lettered (never accepted); permissive mode serves plain HTTP too;
// the certificate rotates without a restart; a bad certificate flag is a one-line error.

import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { type CertificateSet, createCertificates } from '@eddy/runtime';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  brokerSink,
  brokerYaml,
  nodeTemplate,
  triggerYaml,
} from '../../packages/cli/src/testing/manifests.ts';
import { waitFor } from '../harness/wait.ts';
import { buildCli, expectOneLine, type RunningDev, runEddy, spawnEddyDev } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'eddy-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let eddyCerts: CertificateSet;
let rotated: CertificateSet;
let subscriberCerts: CertificateSet;
let wrongCerts: CertificateSet;
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return name;
};

interface Seen {
  path: string;
  id: string;
  type: string;
  errorDest?: string;
}
const atSubscriber: Seen[] = [];
const atDls: Seen[] = [];
let subscriberUrl = '';
let dlsUrl = '';
const servers: { close(cb: () => void): void }[] = [];

function record(into: Seen[]) {
  return (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    into.push({
      path: req.url ?? '',
      id: String(req.headers['ce-id']),
      type: String(req.headers['ce-type']),
      ...(req.headers['ce-knativeerrordest']
        ? { errorDest: String(req.headers['ce-knativeerrordest']) }
        : {}),
    });
    req.resume().on('end', () => res.writeHead(202).end());
  };
}

beforeAll(async () => {
  buildCli();
  [eddyCerts, rotated, subscriberCerts, wrongCerts] = await Promise.all([
    createCertificates(['localhost'], { caName: 'eddy test CA' }),
    createCertificates(['localhost'], { caName: 'eddy rotated CA' }),
    createCertificates([], { caName: 'subscriber CA' }),
    createCertificates([], { caName: 'wrong CA' }),
  ]);
  const subscriber = createHttpsServer(
    { cert: subscriberCerts.certPem, key: subscriberCerts.keyPem },
    record(atSubscriber),
  );
  const dls = createHttpServer(record(atDls));
  for (const s of [subscriber, dls]) {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
  }
  subscriberUrl = `https://127.0.0.1:${(subscriber.address() as AddressInfo).port}`;
  dlsUrl = `http://127.0.0.1:${(dls.address() as AddressInfo).port}`;
}, 180_000);
afterAll(async () => {
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
});

const delivery = `  delivery:
    deadLetterSink: {uri: "DLS"}
    retry: 1
    backoffDelay: PT0.1S
`;

function mesh(): string {
  const dlsDelivery = delivery.replace('DLS', dlsUrl);
  const trigger = (name: string, subscriber: string, withDls = false) =>
    `${triggerYaml(name, subscriber)}  filter: {attributes: {type: tls.test}}\n${withDls ? dlsDelivery : ''}`;
  return [
    brokerYaml(),
    trigger('good', `{uri: "${subscriberUrl}/good", CACerts: ${JSON.stringify(subscriberCerts.caPem)}}`),
    trigger('nocerts', `{uri: "${subscriberUrl}/none"}`, true),
    trigger('wrongca', `{uri: "${subscriberUrl}/wrong", CACerts: ${JSON.stringify(wrongCerts.caPem)}}`, true),
    `${triggerYaml('github', `{uri: "${subscriberUrl}/github", CACerts: ${JSON.stringify(subscriberCerts.caPem)}}`)}  filter: {attributes: {type: dev.knative.source.github.issues}}\n`,
    `apiVersion: sources.knative.dev/v1alpha1
kind: GitHubSource
metadata: {name: github}
spec:
  ownerAndRepository: o/r
  eventTypes: [issues]
  accessToken: {secretKeyRef: {name: github-webhook, key: secret}}
  secretToken: {secretKeyRef: {name: github-webhook, key: secret}}
${brokerSink()}`,
    `apiVersion: v1
kind: Secret
metadata: {name: github-webhook}
stringData: {secret: tls-webhook-secret}
`,
    `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: hello}
spec:
${nodeTemplate(file('hello.mjs', "import { createServer } from 'node:http';\ncreateServer((q, s) => s.end('hello over tls')).listen(Number(process.env.PORT), '127.0.0.1');\n"))}`,
  ].join('---\n');
}

const trusting = (ca: string) => new Agent({ connect: { ca } });

async function post(
  url: string,
  dispatcher: Agent | undefined,
  id: string,
  type = 'tls.test',
): Promise<number> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'ce-specversion': '1.0', 'ce-id': id, 'ce-type': type, 'ce-source': '/tls-test' },
    body: '{}',
    ...(dispatcher ? { dispatcher } : {}),
  });
  await res.body.dump();
  return res.statusCode;
}

/** The issuer CN of the certificate the server at `url` presents. */
function presentedIssuer(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      resolve(String(socket.getPeerCertificate().issuer.CN));
      socket.end();
    });
    socket.on('error', reject);
  });
}

async function getJson(
  dataDir: string,
  kind: string,
  name: string,
): Promise<{ status?: Record<string, unknown> }> {
  const r = await runEddy(['get', kind, name, '-o', 'json', '--data-dir', dataDir], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { status?: Record<string, unknown> };
}

const urlOf = (line: string) => line.trim().split(/\s+/)[1] ?? '';

describe('eddy dev --tls-cert (strict)', () => {
  let dev: RunningDev;
  let ingress = '';
  let router = '';

  beforeAll(async () => {
    writeFileSync(join(dir, 'mesh.yaml'), mesh());
    file('eddy.crt', eddyCerts.certPem);
    file('eddy.key', eddyCerts.keyPem);
    file('eddy-ca.crt', eddyCerts.caPem);
    dev = spawnEddyDev(
      [
        '-f',
        'mesh.yaml',
        '--port',
        '0',
        '--data-dir',
        'strict',
        '--log-level',
        'warn',
        '--no-service-output',
        '--tls-cert',
        'eddy.crt',
        '--tls-key',
        'eddy.key',
        '--tls-ca',
        'eddy-ca.crt',
      ],
      dir,
    );
    ingress = urlOf(await dev.waitFor(/^ {2}ingress {2}https:\/\/127\.0\.0\.1:\d+/));
    router = urlOf(await dev.waitFor(/^ {2}router {3}https:\/\/127\.0\.0\.1:\d+/));
    for (const t of ['good', 'nocerts', 'wrongca', 'github'])
      await dev.waitFor(new RegExp(`^Trigger default/${t} {2}Ready$`), 30_000);
    await dev.waitFor(/^GitHubSource default\/github {2}Ready$/, 30_000);
  }, 90_000);
  afterAll(async () => {
    if (dev.child.exitCode === null) {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  });

  it('the ingress serves HTTPS only: a client trusting the CA gets 202, others cannot', async () => {
    expect(await post(`${ingress}/default/default`, trusting(eddyCerts.caPem), 'plain-check')).toBe(202);
    const untrusted = await post(`${ingress}/default/default`, undefined, 'untrusted').catch(
      (e: Error & { code?: string }) => e.code,
    );
    expect(untrusted).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    const plain = await post(
      `${ingress.replace('https:', 'http:')}/default/default`,
      undefined,
      'plain',
    ).catch(() => 'refused');
    expect(plain).not.toBe(202);
  });

  it('Broker status.address is https with the CA as CACerts; eddy send verifies with it or --cacert', async () => {
    const broker = await getJson('strict', 'broker', 'default');
    expect(broker.status?.address).toEqual({
      name: 'https',
      url: `${ingress}/default/default`,
      CACerts: eddyCerts.caPem,
    });
    expect(broker.status?.addresses).toEqual([broker.status?.address]);
    for (const extra of [[], ['--cacert', 'eddy-ca.crt']]) {
      const sent = await runEddy(
        [
          'send',
          '--broker',
          'default',
          '--type',
          'tls.send',
          '--source',
          '/cli',
          '--data-dir',
          'strict',
          ...extra,
        ],
        { cwd: dir },
      );
      expect(sent.code, sent.stderr).toBe(0);
    }
    const bad = await runEddy(
      [
        'send',
        '--broker',
        'default',
        '--type',
        't',
        '--source',
        '/s',
        '--data-dir',
        'strict',
        '--cacert',
        'hello.mjs',
      ],
      { cwd: dir },
    );
    expectOneLine(bad, 'non-zero', 'eddy: --cacert hello.mjs: not a PEM certificate');
  });

  it('delivers to an https subscriber its CACerts verify; without them or with a wrong CA: retried, then the DLS, logged as TLS', async () => {
    const id = `tls-${randomUUID()}`;
    expect(await post(`${ingress}/default/default`, trusting(eddyCerts.caPem), id)).toBe(202);
    await waitFor('the event at the verified subscriber', () =>
      atSubscriber.some((s) => s.id === id && s.path === '/good'),
    );
    const dead = await waitFor('both failed deliveries at the DLS', () => {
      const got = atDls.filter((s) => s.id === id);
      return got.length === 2 && got;
    });
    expect(dead.map((d) => d.errorDest).sort()).toEqual([`${subscriberUrl}/none`, `${subscriberUrl}/wrong`]);
    expect(atSubscriber.filter((s) => s.id === id).map((s) => s.path)).toEqual(['/good']);
    const tlsLines = dev.lines.filter((l) => l.includes('delivery refused: TLS'));
    expect(tlsLines.some((l) => l.includes('did not verify'))).toBe(true);
  });

  it('the GitHub webhook endpoint serves HTTPS and its events reach the https Broker', async () => {
    const source = await getJson('strict', 'githubsource', 'github');
    const url = String((source.status?.address as { url?: string } | undefined)?.url ?? '');
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    const body = JSON.stringify({
      action: 'opened',
      issue: { number: 1 },
      repository: { name: 'r', owner: { login: 'o' } },
    });
    const delivery = randomUUID();
    const res = await request(url, {
      method: 'POST',
      dispatcher: trusting(eddyCerts.caPem),
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'issues',
        'x-github-delivery': delivery,
        'x-hub-signature-256': `sha256=${createHmac('sha256', 'tls-webhook-secret').update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.statusCode, await res.body.text()).toBe(202);
    await waitFor('the webhook event at the subscriber', () =>
      atSubscriber.some((s) => s.id === delivery && s.path === '/github'),
    );
  });

  it('the router serves a Service over HTTPS', async () => {
    await dev.waitFor(/^Service default\/hello {2}Ready$/, 60_000);
    const res = await request(`${router}/default/hello`, { dispatcher: trusting(eddyCerts.caPem) });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('hello over tls');
  }, 70_000);

  it('serves a rotated certificate without a restart', async () => {
    expect(await presentedIssuer(ingress)).toBe('eddy test CA');
    file('eddy.key', rotated.keyPem);
    file('eddy.crt', rotated.certPem);
    await waitFor(
      'the rotated certificate',
      async () => (await presentedIssuer(ingress)) === 'eddy rotated CA',
      10_000,
    );
    expect(await presentedIssuer(router)).toBe('eddy rotated CA');
    expect(await post(`${ingress}/default/default`, trusting(rotated.caPem), 'after-rotation')).toBe(202);
  });
});

describe('eddy dev --transport-encryption permissive', () => {
  it('serves HTTPS and plain HTTP; status.addresses lists both, status.address is the http one', async () => {
    file('broker.yaml', brokerYaml());
    file('p.crt', eddyCerts.certPem);
    file('p.key', eddyCerts.keyPem);
    const dev = spawnEddyDev(
      [
        '-f',
        'broker.yaml',
        '--port',
        '0',
        '--data-dir',
        'permissive',
        '--tls-cert',
        'p.crt',
        '--tls-key',
        'p.key',
        '--transport-encryption',
        'permissive',
      ],
      dir,
    );
    try {
      const https = urlOf(await dev.waitFor(/^ {2}ingress {2}https:\/\//));
      const http = urlOf(await dev.waitFor(/^ {2}ingress {2}http:\/\/.*permissive/));
      await dev.waitFor(/^Broker default\/default {2}Ready$/);
      expect(await post(`${https}/default/default`, trusting(eddyCerts.caPem), 'p-https')).toBe(202);
      expect(await post(`${http}/default/default`, undefined, 'p-http')).toBe(202);
      const broker = await getJson('permissive', 'broker', 'default');
      const httpsAddress = { name: 'https', url: `${https}/default/default`, CACerts: eddyCerts.certPem };
      const httpAddress = { name: 'http', url: `${http}/default/default` };
      expect(broker.status?.addresses).toEqual([httpsAddress, httpAddress]);
      expect(broker.status?.address).toEqual(httpAddress);
    } finally {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  }, 60_000);
});

describe('eddy dev --kafka --tls-cert (component processes)', () => {
  it('the ingress processes serve HTTPS; the dispatcher delivers to the verified https subscriber', async () => {
    const topicSafe = `k${randomUUID().slice(0, 8)}`;
    file(
      'kafka-mesh.yaml',
      [
        brokerYaml(topicSafe),
        `${triggerYaml('good', `{uri: "${subscriberUrl}/kafka", CACerts: ${JSON.stringify(subscriberCerts.caPem)}}`, topicSafe)}`,
      ].join('---\n'),
    );
    file('k.crt', eddyCerts.certPem);
    file('k.key', eddyCerts.keyPem);
    const dev = spawnEddyDev(
      [
        '-f',
        'kafka-mesh.yaml',
        '--kafka',
        inject('kafkaBrokers').join(','),
        '--ingresses',
        '1',
        '--dispatchers',
        '1',
        '--port',
        '0',
        '--data-dir',
        'kafka',
        '--tls-cert',
        'k.crt',
        '--tls-key',
        'k.key',
      ],
      dir,
    );
    try {
      const ingress = urlOf(await dev.waitFor(/^ {2}ingress {2}https:\/\/127\.0\.0\.1:\d+/, 60_000));
      expect(urlOf(await dev.waitFor(/^ {2}router {3}https:\/\/127\.0\.0\.1:\d+/, 60_000))).toMatch(
        /^https:/,
      );
      await dev.waitFor(/^Trigger default\/good {2}Ready$/, 90_000);
      const id = `kafka-${randomUUID()}`;
      const target = `${ingress}/default/${topicSafe}`;
      await waitFor(
        'the ingress process accepting over HTTPS',
        async () => (await post(target, trusting(eddyCerts.caPem), id).catch(() => 0)) === 202,
        60_000,
      );
      await waitFor(
        'the event at the https subscriber',
        () => atSubscriber.some((s) => s.id === id && s.path === '/kafka'),
        60_000,
      );
    } finally {
      dev.child.kill('SIGINT');
      await dev.exited;
    }
  }, 240_000);
});

describe('eddy dev: bad TLS flags', () => {
  it('a missing, non-PEM or mismatched certificate is a one-line error naming the flag, exit 2', async () => {
    file('junk.pem', 'not a certificate');
    file('other.key', wrongCerts.keyPem);
    file('ok.crt', eddyCerts.certPem);
    file('ok.key', eddyCerts.keyPem);
    const cases: [string[], string][] = [
      [['--tls-cert', 'nope.pem', '--tls-key', 'ok.key'], 'eddy: --tls-cert nope.pem: no such file'],
      [['--tls-cert', 'junk.pem', '--tls-key', 'ok.key'], 'eddy: --tls-cert junk.pem: not a PEM certificate'],
      [
        ['--tls-cert', 'ok.crt', '--tls-key', 'other.key'],
        'eddy: --tls-cert ok.crt and --tls-key other.key: cert and key do not match',
      ],
      [['--tls-cert', 'ok.crt'], 'eddy: --tls-cert and --tls-key go together: give both'],
      [
        ['--tls-secret', 'default/none', '-f', 'broker.yaml'],
        'eddy: --tls-secret default/none: no Secret none in namespace default in the -f manifests',
      ],
    ];
    for (const [flags, line] of cases) {
      const r = await runEddy(['dev', '--port', '0', '--data-dir', 'bad', ...flags], { cwd: dir });
      expectOneLine(r, 2, line);
    }
  }, 60_000);
});
