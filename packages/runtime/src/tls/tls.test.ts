import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTimeoutServer } from '../request-timeout.js';
import { waitFor } from '../wait-for.js';
import { type CertificateSet, createCertificates } from './certificates.js';
import { ServingCertificate } from './serving-certificate.js';
import { readTlsFiles, TlsConfigError, tlsFromSecretData } from './tls-material.js';
import { describeTlsFailure, TrustedAgents } from './trusted-agents.js';

let dir: string;
let first: CertificateSet;
let second: CertificateSet;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eddy-tls-'));
  [first, second] = await Promise.all([
    createCertificates(['localhost'], { caName: 'first CA' }),
    createCertificates(['localhost'], { caName: 'second CA' }),
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The CA subject of the certificate a TLS server on `port` presents. */
function presentedIssuer(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }, () => {
      const issuer = socket.getPeerCertificate().issuer.CN;
      socket.end();
      resolve(String(issuer));
    });
    socket.on('error', reject);
  });
}

describe('TLS material', () => {
  it('reads a cert, key and CA from files', () => {
    const m = readTlsFiles({
      cert: write('ok.crt', first.certPem),
      key: write('ok.key', first.keyPem),
      ca: write('ok-ca.crt', first.caPem),
    });
    expect(m.cert).toBe(first.certPem);
    expect(m.ca).toBe(first.caPem);
  });

  it('names the file at fault: missing, not PEM, not a key, key of another cert', () => {
    const key = write('k.key', first.keyPem);
    const cert = write('c.crt', first.certPem);
    const labels = { cert: '--tls-cert x', key: '--tls-key y' };
    expect(() => readTlsFiles({ cert: join(dir, 'nope.pem'), key, labels })).toThrow(
      '--tls-cert x: no such file',
    );
    expect(() => readTlsFiles({ cert: write('junk.pem', 'hello'), key, labels })).toThrow(
      '--tls-cert x: not a PEM certificate',
    );
    expect(() => readTlsFiles({ cert, key: write('junk.key', 'hello'), labels })).toThrow(
      '--tls-key y: not a PEM private key',
    );
    expect(() => readTlsFiles({ cert, key: write('other.key', second.keyPem), labels })).toThrow(
      '--tls-cert x and --tls-key y: cert and key do not match',
    );
    expect(() => readTlsFiles({ cert, key: join(dir, 'none.key') })).toThrow(TlsConfigError);
  });

  it('reads a kubernetes.io/tls Secret, naming the Secret and key when one is missing', () => {
    const data = new Map([
      ['tls.crt', Buffer.from(first.certPem)],
      ['tls.key', Buffer.from(first.keyPem)],
      ['ca.crt', Buffer.from(first.caPem)],
    ]);
    expect(tlsFromSecretData(data, 'Secret default/tls').ca).toBe(first.caPem);
    expect(() => tlsFromSecretData(new Map([['tls.crt', first.certPem]]), 'Secret default/tls')).toThrow(
      'Secret default/tls: a TLS Secret needs keys tls.crt and tls.key (has tls.crt)',
    );
    data.set('tls.key', Buffer.from(second.keyPem));
    expect(() => tlsFromSecretData(data, 'Secret default/tls')).toThrow(
      'Secret default/tls key tls.crt and Secret default/tls key tls.key: cert and key do not match',
    );
  });
});

describe('ServingCertificate', () => {
  it('serves a rotated certificate without a restart, and ignores a half-written rotation', async () => {
    const files = { cert: write('rot.crt', first.certPem), key: write('rot.key', first.keyPem) };
    const cert = ServingCertificate.fromFiles(files);
    const server = requestTimeoutServer(5_000, { tls: cert })((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      expect(await presentedIssuer(port)).toBe('first CA');
      // Half-written: the new cert with the old key does not match, so the old pair stays.
      writeFileSync(files.cert, second.certPem);
      await new Promise((r) => setTimeout(r, 400));
      expect(await presentedIssuer(port)).toBe('first CA');
      writeFileSync(files.key, second.keyPem);
      await waitFor(
        'the rotated certificate',
        async () => (await presentedIssuer(port)) === 'second CA',
        5_000,
      );
      expect(cert.reloads).toBe(1);
      expect(server.requestTimeout).toBe(5_000);
    } finally {
      cert.close();
      await new Promise((r) => server.close(r));
    }
  });

  it('refuses TLS older than 1.2', async () => {
    const cert = ServingCertificate.fromMaterial(
      { cert: first.certPem, key: first.keyPem },
      { cert: 'cert', key: 'key' },
    );
    const server = requestTimeoutServer(5_000, { tls: cert })((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    try {
      const outcome = await new Promise<string>((resolve) => {
        const socket = tlsConnect(
          { port, host: '127.0.0.1', rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' },
          () => resolve('connected'),
        );
        socket.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
      });
      expect(outcome).not.toBe('connected');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('TrustedAgents', () => {
  it('verifies against the given CA, one cached Agent per distinct CA set', async () => {
    const server = createHttpsServer({ cert: first.certPem, key: first.keyPem }, (_req, res) =>
      res.end('ok'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agents = new TrustedAgents();
    try {
      const ok = await agents.for(first.caPem).request({ origin, path: '/', method: 'GET' });
      expect(ok.statusCode).toBe(200);
      await ok.body.dump();
      expect(agents.for(`${first.caPem}\n`)).toBe(agents.for(first.caPem));
      expect(agents.size).toBe(1);
      for (const wrong of [undefined, second.caPem]) {
        const error = await agents
          .for(wrong)
          .request({ origin, path: '/', method: 'GET' })
          .then(
            () => undefined,
            (e: unknown) => e,
          );
        expect(describeTlsFailure(error, origin)).toMatch(
          /^TLS: the certificate of https:\/\/127\.0\.0\.1:\d+ did not verify/,
        );
      }
      expect(agents.size).toBe(2);
      await agents.retain([first.caPem]);
      expect(agents.size).toBe(1);
      expect(() => agents.for('not pem')).toThrow('CACerts: not a PEM certificate');
      expect(describeTlsFailure(new Error('ECONNREFUSED'), origin)).toBeUndefined();
    } finally {
      await agents.close();
      await new Promise((r) => server.close(r));
    }
  });
});
