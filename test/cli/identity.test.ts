// Eddy's own identity under `eddy dev`: deliveries whose destination has an OIDC `audience` carry
// `Authorization: Bearer <jwt>` of Eddy's issuer, which a subscriber verifies with jose against the
// discovery document and JWKS the admin API serves without a token (iss, aud, and the sender's Knative
// OIDC subject); no audience, no header. A PingSource and a dead-letter sink likewise, and a
// ContainerSource's own process through the token file Eddy keeps for it; `eddy send
// --token` passes a given token; the admin token never shows in the logs; and under `--kafka` the
// dispatcher process signs with the same key.

import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../harness/wait.ts';
import { buildCli, type RunningDev, runEddy, sendJsonEvent, spawnEddyDev } from './helpers.ts';

interface Received {
  path: string;
  authorization: string | undefined;
  type: string | undefined;
  tokenFileMode: string | undefined;
}

/** An HTTP subscriber recording what arrives; `/fail` answers 500 (so delivery dead-letters). */
async function subscriber(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        type: req.headers['ce-type'] as string | undefined,
        tokenFileMode: req.headers['x-token-file-mode'] as string | undefined,
      });
      res.statusCode = req.url === '/fail' ? 500 : 202;
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

const subject = (ns: string, name: string, group: string, kind: string) =>
  `system:serviceaccount:${ns}:${name}-oidc-${group}-${kind}`.toLowerCase();

/**
 * A ContainerSource's own code, as a user writes it for Knative: reads its token (Knative's /oidc/token,
 * here the file K_OIDC_TOKEN_FILE names) and sends one event to K_SINK with it, then stays up.
 */
const CONTAINER_SENDER = `
const { readFileSync, statSync } = require('node:fs');
const file = process.env.K_OIDC_TOKEN_FILE ?? '/oidc/token';
fetch(process.env.K_SINK, {
  method: 'POST',
  headers: {
    'ce-specversion': '1.0', 'ce-id': 'c-1', 'ce-type': 'container.test', 'ce-source': '/container',
    authorization: 'Bearer ' + readFileSync(file, 'utf8'),
    'x-token-file-mode': (statSync(file).mode & 0o777).toString(8),
  },
  body: '{}',
}).then(() => setInterval(() => {}, 60_000));
`;

function manifests(sub: string): string {
  return `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: with-audience }
spec:
  broker: default
  filter: { attributes: { type: audience.test } }
  subscriber: { uri: ${sub}/with, audience: my-sub }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: without-audience }
spec:
  broker: default
  filter: { attributes: { type: audience.test } }
  subscriber: { uri: ${sub}/without }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: to-dls }
spec:
  broker: default
  filter: { attributes: { type: dls.test } }
  subscriber: { uri: ${sub}/fail }
  delivery:
    retry: 0
    deadLetterSink: { uri: ${sub}/dls, audience: my-dls }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: pinger }
spec:
  schedule: "* * * * *"
  data: '{"hello": "ping"}'
  sink: { uri: ${sub}/ping, audience: my-ping }
---${containerSource('default', sub)}`;
}

let dir: string;
beforeAll(() => {
  buildCli();
  dir = mkdtempSync(join(tmpdir(), 'eddy-identity-'));
  writeFileSync(senderScript(), CONTAINER_SENDER);
});
const senderScript = () => join(dir, 'container-sender.cjs');

/** The ContainerSource running CONTAINER_SENDER, its sink with an audience. */
const containerSource = (namespace: string, sub: string) => `
apiVersion: sources.knative.dev/v1
kind: ContainerSource
metadata: { name: own-sender, namespace: ${namespace} }
spec:
  template:
    spec:
      containers:
        - name: sender
          command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(senderScript())}]
  sink: { uri: ${sub}/container, audience: my-container }
`;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function stop(dev: RunningDev): Promise<void> {
  if (dev.child.exitCode === null) {
    dev.child.kill('SIGINT');
    await dev.exited;
  }
}

/** Verifies `authorization` as a subscriber would: discovery -> jwks_uri -> jose. */
async function verify(adminUrl: string, authorization: string | undefined, audience: string) {
  expect(authorization).toMatch(/^Bearer ey/);
  const discovery = (await (await fetch(`${adminUrl}/.well-known/openid-configuration`)).json()) as {
    issuer: string;
    jwks_uri: string;
  };
  expect(discovery.issuer).toBe(adminUrl);
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const { payload } = await jwtVerify((authorization ?? '').slice('Bearer '.length), jwks, {
    issuer: discovery.issuer,
    audience,
  });
  return payload;
}

describe('eddy dev: Eddy as an OIDC issuer', () => {
  it('signs deliveries to subscribers, dead-letter sinks and source sinks that have an audience; eddy send --token; no admin token in logs', async () => {
    const sub = await subscriber();
    const data = join(dir, 'embedded');
    writeFileSync(join(dir, 'identity.yaml'), manifests(sub.url));
    const dev = spawnEddyDev(
      ['-f', 'identity.yaml', '--port', '0', '--data-dir', data, '--log-level', 'debug'],
      dir,
    );
    try {
      const ingress = (await dev.waitFor(/^ {2}ingress {2}http:\/\/127\.0\.0\.1:\d+/)).split(/\s+/)[2] ?? '';
      await dev.waitFor(/^Trigger default\/to-dls {2}Ready$/);
      await dev.waitFor(/^Trigger default\/with-audience {2}Ready$/);
      const admin = JSON.parse(readFileSync(join(data, 'admin.json'), 'utf8')) as {
        url: string;
        token: string;
      };
      // The key lives in the data dir, the owner's only.
      expect(statSync(join(data, 'oidc-signing-key.pem')).mode & 0o777).toBe(0o600);

      expect(await sendJsonEvent(`${ingress}/default/default`, 'audience.test', { n: 1 })).toBe(202);
      expect(await sendJsonEvent(`${ingress}/default/default`, 'dls.test', { n: 2 })).toBe(202);
      const at = (path: string) =>
        waitFor(`a request to ${path}`, () => sub.received.find((r) => r.path === path), {
          timeoutMs: 30_000,
        });
      const withAudience = await at('/with');
      const payload = await verify(admin.url, withAudience.authorization, 'my-sub');
      expect(payload.sub).toBe(subject('default', 'with-audience', 'eventing.knative.dev', 'Trigger'));
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
      expect((await at('/without')).authorization).toBeUndefined();
      // The failing subscriber has no audience; its dead-letter sink does.
      expect((await at('/fail')).authorization).toBeUndefined();
      const dls = await verify(admin.url, (await at('/dls')).authorization, 'my-dls');
      expect(dls.sub).toBe(subject('default', 'to-dls', 'eventing.knative.dev', 'Trigger'));
      // A token for one audience is no good for another.
      await expect(verify(admin.url, withAudience.authorization, 'my-dls')).rejects.toThrow(/aud/);

      // The PingSource fires on the minute.
      const ping = await waitFor('the PingSource event', () => sub.received.find((r) => r.path === '/ping'), {
        timeoutMs: 75_000,
      });
      const pingClaims = await verify(admin.url, ping.authorization, 'my-ping');
      expect(pingClaims.sub).toBe(subject('default', 'pinger', 'sources.knative.dev', 'PingSource'));

      // The ContainerSource's own process sent with the token Eddy wrote for it (a file only it reads).
      const fromContainer = await at('/container');
      expect(fromContainer.tokenFileMode).toBe('600');
      const containerClaims = await verify(admin.url, fromContainer.authorization, 'my-container');
      expect(containerClaims.sub).toBe(
        subject('default', 'own-sender', 'sources.knative.dev', 'ContainerSource'),
      );

      // The token endpoint needs the admin token; discovery and JWKS do not.
      const tokenUrl = `${admin.url}/v1/identity/token`;
      const denied = await fetch(tokenUrl, { method: 'POST', body: '{"audience":"x"}' });
      expect(denied.status).toBe(401);
      const minted = await fetch(tokenUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ audience: 'eventing.knative.dev/broker/default/default' }),
      });
      const { token } = (await minted.json()) as { token: string };
      const cli = await verify(admin.url, `Bearer ${token}`, 'eventing.knative.dev/broker/default/default');
      expect(cli.sub).toBe('system:serviceaccount:default:eddy-cli');
      const bad = await fetch(tokenUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: string }).error).toMatch(/"audience"/);

      // eddy send --token: the given token reaches the subscribers' side untouched (the broker does not
      // check tokens without authentication, so it takes the event); it is never printed.
      const sent = await runEddy(
        [
          'send',
          '--data-dir',
          data,
          '--broker',
          'default',
          '--type',
          'send.test',
          '--source',
          '/t',
          '--token',
          token,
        ],
        { cwd: dir },
      );
      expect(sent.code).toBe(0);
      expect(sent.stdout + sent.stderr).not.toContain(token);

      const logs = dev.lines.join('\n');
      expect(logs).toContain('"level":'); // debug logs really ran
      expect(logs).not.toContain(admin.token);
      expect(logs).not.toContain(token);
      expect(logs).not.toMatch(/Bearer ey/);
    } finally {
      await stop(dev);
      sub.server.close();
    }
  }, 150_000);

  it("--ingress-auth required: Eddy addresses get audiences, and the ingress admits Eddy's own senders that EventPolicies allow (eddy send, a Trigger forwarding to another Broker)", async () => {
    const sub = await subscriber();
    const data = join(dir, 'auth');
    writeFileSync(
      join(dir, 'auth.yaml'),
      `
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: default }
---
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: { name: audit }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: forward }
spec:
  broker: default
  subscriber: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: audit } }
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: audited }
spec:
  broker: audit
  subscriber: { uri: ${sub.url}/audited }
---
apiVersion: sources.knative.dev/v1
kind: PingSource
metadata: { name: pinger }
spec:
  schedule: "0 0 1 1 *"
  sink: { ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata: { name: default-senders }
spec:
  to: [{ ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: default } }]
  from:
    - sub: system:serviceaccount:default:eddy-cli
    - ref: { apiVersion: sources.knative.dev/v1, kind: PingSource, name: pinger }
---
apiVersion: eventing.knative.dev/v1alpha1
kind: EventPolicy
metadata: { name: audit-senders }
spec:
  to: [{ ref: { apiVersion: eventing.knative.dev/v1, kind: Broker, name: audit } }]
  from:
    - ref: { apiVersion: eventing.knative.dev/v1, kind: Trigger, name: forward }
`,
    );
    const dev = spawnEddyDev(
      [
        '-f',
        'auth.yaml',
        '--port',
        '0',
        '--data-dir',
        data,
        '--ingress-auth',
        'required',
        '--log-level',
        'debug',
      ],
      dir,
    );
    try {
      await dev.waitFor(/^Trigger default\/forward {2}Ready$/);
      await dev.waitFor(/^Trigger default\/audited {2}Ready$/);
      await dev.waitFor(/^PingSource default\/pinger {2}Ready$/);
      const admin = JSON.parse(readFileSync(join(data, 'admin.json'), 'utf8')) as {
        url: string;
        token: string;
      };
      const status = async (kind: string, name: string) =>
        (
          (await (
            await fetch(`${admin.url}/v1/resources/${kind}/default/${name}`, {
              headers: { authorization: `Bearer ${admin.token}` },
            })
          ).json()) as { status: Record<string, unknown> }
        ).status;
      expect((await status('Broker', 'audit')).address).toMatchObject({
        audience: 'eventing.knative.dev/broker/default/audit',
      });
      expect(await status('Trigger', 'forward')).toMatchObject({
        subscriberAudience: 'eventing.knative.dev/broker/default/audit',
        auth: { serviceAccountName: 'forward-oidc-eventing.knative.dev-trigger' },
      });
      expect(await status('PingSource', 'pinger')).toMatchObject({
        sinkAudience: 'eventing.knative.dev/broker/default/default',
        auth: { serviceAccountName: 'pinger-oidc-sources.knative.dev-pingsource' },
      });
      // eddy send gets a token of Eddy's issuer (subject eddy-cli) from the admin API on its own; the
      // ingress trusts Eddy's issuer and default-senders allows that subject. The Trigger then forwards
      // to audit with its own token, which audit-senders allows: the event reaches audit's subscriber.
      const sent = await runEddy(
        ['send', '--data-dir', data, '--broker', 'default', '--type', 'auth.test', '--source', '/t'],
        { cwd: dir },
      );
      expect(sent.stderr).toBe('');
      expect(sent.code).toBe(0);
      await waitFor(
        'the event forwarded by Trigger forward (its token admitted by audit) at the subscriber',
        () => sub.received.find((r) => r.path === '/audited' && r.type === 'auth.test'),
      );
      // eddy-cli is not among audit's senders: 403, nothing stored.
      const refused = await runEddy(
        ['send', '--data-dir', data, '--broker', 'audit', '--type', 'refused.test', '--source', '/t'],
        { cwd: dir },
      );
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('403');
      expect(dev.lines.join('\n')).not.toContain(admin.token);
    } finally {
      await stop(dev);
      sub.server.close();
    }
  }, 90_000);

  it('--kafka: the dispatcher and sources processes sign with the same key (the key file reaches the child processes)', async () => {
    const brokers = inject('kafkaBrokers').join(',');
    const sub = await subscriber();
    const data = join(dir, 'kafka');
    const ns = `idk${Date.now().toString(36)}`;
    writeFileSync(
      join(dir, 'kafka.yaml'),
      manifests(sub.url).split('---')[0]!.replace('name: default }', `name: default, namespace: ${ns} }`) +
        `---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: { name: with-audience, namespace: ${ns} }
spec:
  broker: default
  subscriber: { uri: ${sub.url}/with, audience: my-sub }
---${containerSource(ns, sub.url)}`,
    );
    const dev = spawnEddyDev(
      [
        '-f',
        'kafka.yaml',
        '--kafka',
        brokers,
        '--ingresses',
        '1',
        '--dispatchers',
        '1',
        '--port',
        '0',
        '--data-dir',
        data,
        '--log-level',
        'debug',
      ],
      dir,
    );
    try {
      const ingress =
        (await dev.waitFor(/^ {2}ingress {2}http:\/\/127\.0\.0\.1:\d+/, 60_000)).split(/\s+/)[2] ?? '';
      await dev.waitFor(new RegExp(`^Trigger ${ns}/with-audience {2}Ready$`), 90_000);
      const admin = JSON.parse(readFileSync(join(data, 'admin.json'), 'utf8')) as {
        url: string;
        token: string;
      };
      await waitFor(
        'the event through the dispatcher process',
        async () =>
          (await sendJsonEvent(`${ingress}/${ns}/default`, 'kafka.test', {})) === 202 &&
          sub.received.find((r) => r.path === '/with'),
        { timeoutMs: 60_000, intervalMs: 2_000 },
      );
      const received = sub.received.find((r) => r.path === '/with');
      const payload = await verify(admin.url, received?.authorization, 'my-sub');
      expect(payload.sub).toBe(subject(ns, 'with-audience', 'eventing.knative.dev', 'Trigger'));
      // The ContainerSource runs in the eddy sources process, which signs its token file with the key too.
      const fromContainer = await waitFor(
        'the ContainerSource event',
        () => sub.received.find((r) => r.path === '/container'),
        { timeoutMs: 60_000 },
      );
      const containerClaims = await verify(admin.url, fromContainer.authorization, 'my-container');
      expect(containerClaims.sub).toBe(subject(ns, 'own-sender', 'sources.knative.dev', 'ContainerSource'));
      // The child processes' logs come through eddy dev's stderr: no admin/feed token there either.
      expect(dev.lines.join('\n')).not.toContain(admin.token);
      expect(dev.lines.join('\n')).not.toMatch(/Bearer ey/);
    } finally {
      await stop(dev);
      sub.server.close();
    }
  }, 180_000);
});
