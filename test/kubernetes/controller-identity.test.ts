// `eddy controller` as Eddy's OIDC issuer in Kubernetes mode, wired as the Helm chart wires it: the
// controller reads the signing key (a SEC1 PEM, what the chart's genPrivateKey "ecdsa" makes) with
// --oidc-signing-key, serves discovery and JWKS without the contract token and POST
// /v1/identity/token behind it; an `eddy dispatcher` started with EDDY_OIDC_SIGNING_KEY and
// EDDY_OIDC_ISSUER (the chart's env) signs a Trigger's deliveries to a subscriber with an audience,
// and the subscriber verifies them against the controller's JWKS.

import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eddyJs } from '../broker/data-plane-processes.ts';
import { freePorts } from '../harness/free-ports.ts';
import { type Kubectl, kubectlFor } from '../harness/kubernetes.ts';
import { spawnNodeScript } from '../harness/node-process.ts';
import { waitFor } from '../harness/wait.ts';
import { controllerArgs, installCrds, mustKubectl } from './helpers.ts';

const cluster = inject('kubernetes');
const brokers = inject('kafkaBrokers');
const kubectl: Kubectl = kubectlFor(cluster);
const must = mustKubectl(kubectl);

let dir: string;
let sink: { server: Server; url: string; received: { path: string; authorization?: string | undefined }[] };

beforeAll(async () => {
  await installCrds(kubectl);
  dir = mkdtempSync(join(tmpdir(), 'eddy-ctl-identity-'));
  const received: { path: string; authorization?: string | undefined }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received.push({ path: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(202).end();
    });
  });
  const [port] = (await freePorts(1)) as [number];
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  sink = { server, url: `http://127.0.0.1:${port}`, received };
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => sink.server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

describe('eddy controller: Eddy as an OIDC issuer', () => {
  it('serves discovery and JWKS, mints send tokens behind the contract token, and its dispatcher signs deliveries', async () => {
    const ns = `ctl-id-${randomUUID().slice(0, 8)}`;
    await must(['create', 'namespace', ns]);
    const keyFile = join(dir, 'signing-key.pem');
    writeFileSync(keyFile, execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout']));
    const [port, ingressPort] = (await freePorts(2)) as [number, number];
    const url = `http://127.0.0.1:${port}`;
    const contractToken = randomUUID();
    const controller = spawnNodeScript(
      eddyJs,
      controllerArgs({
        kubeconfig: cluster.kubeconfigPath,
        kafka: brokers.join(','),
        ingressUrl: `http://127.0.0.1:${ingressPort}`,
        port,
        namespace: ns,
        extra: ['--id', 'identity', '--webhook-port', '0', '--oidc-signing-key', keyFile],
      }),
      { EDDY_CONTRACT_TOKEN: contractToken },
    );
    await controller.waitForLine(/listening on http/, 60_000);

    // Public: no token needed.
    const discovery = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    expect(discovery).toMatchObject({ issuer: url, jwks_uri: `${url}/openid/v1/jwks` });
    const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
    // The token endpoint is behind the contract token.
    const tokenUrl = `${url}/v1/identity/token`;
    const body = JSON.stringify({ audience: 'aud-1', namespace: ns });
    const headers = { 'content-type': 'application/json' };
    expect((await fetch(tokenUrl, { method: 'POST', headers, body })).status).toBe(401);
    const minted = (await (
      await fetch(tokenUrl, {
        method: 'POST',
        headers: { ...headers, authorization: `Bearer ${contractToken}` },
        body,
      })
    ).json()) as { token: string };
    const { payload } = await jwtVerify(minted.token, jwks, { issuer: url, audience: 'aud-1' });
    expect(payload.sub).toBe(`system:serviceaccount:${ns}:eddy-cli`);

    // The data plane as the chart runs it: the key file and issuer URL in its environment.
    const common = [
      '--contract',
      `${url}/v1/contract/broker`,
      '--log',
      'kafka',
      '--brokers',
      brokers.join(','),
    ];
    const env = { EDDY_CONTRACT_TOKEN: contractToken };
    spawnNodeScript(
      eddyJs,
      ['ingress', ...common, '--port', String(ingressPort), '--member-id', 'ingress-1'],
      env,
    );
    spawnNodeScript(eddyJs, ['dispatcher', ...common, '--port', '0', '--member-id', 'dispatcher-1'], {
      ...env,
      EDDY_OIDC_SIGNING_KEY: keyFile,
      EDDY_OIDC_ISSUER: url,
    });
    await must(
      ['apply', '-n', ns, '-f', '-'],
      `apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: signed}
spec:
  broker: default
  subscriber: {uri: "${sink.url}/${ns}", audience: my-sub}
`,
    );
    const delivered = await waitFor(
      'a signed delivery',
      async () => {
        const res = await fetch(`http://127.0.0.1:${ingressPort}/${ns}/default`, {
          method: 'POST',
          headers: { 'ce-specversion': '1.0', 'ce-id': randomUUID(), 'ce-source': '/t', 'ce-type': 't' },
        }).catch(() => undefined);
        await res?.body?.cancel();
        return sink.received.find((r) => r.path === `/${ns}`);
      },
      { timeoutMs: 90_000, intervalMs: 2_000 },
    );
    expect(delivered.authorization).toMatch(/^Bearer ey/);
    const claims = await jwtVerify((delivered.authorization ?? '').slice(7), jwks, {
      issuer: url,
      audience: 'my-sub',
    });
    expect(claims.payload.sub).toBe(`system:serviceaccount:${ns}:signed-oidc-eventing.knative.dev-trigger`);
  }, 180_000);
});
