import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createIssuer,
  issuerFromEnv,
  issuerTokens,
  loadOrCreateSigningKey,
  readSigningKey,
} from './index.js';
import { SenderTokens } from './sender-tokens.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'eddy-identity-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('issuer', () => {
  it('signs tokens a jose verifier accepts against its JWKS, with iss, sub, aud, iat, exp (1 h) and kid', async () => {
    const key = await loadOrCreateSigningKey(join(tempDir(), 'oidc.pem'));
    const issuer = createIssuer({ key, url: 'http://127.0.0.1:4000/' });
    const { token, expiresAt } = await issuer.sign({
      subject: 'system:serviceaccount:ns:t-oidc',
      audience: 'my-sub',
    });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(issuer.jwks()), {
      issuer: 'http://127.0.0.1:4000',
      audience: 'my-sub',
    });
    expect(payload.sub).toBe('system:serviceaccount:ns:t-oidc');
    expect(payload.exp).toBe((payload.iat ?? 0) + 3600);
    expect(expiresAt).toBe((payload.exp ?? 0) * 1000);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', kid: key.kid });
    await expect(jwtVerify(token, createLocalJWKSet(issuer.jwks()), { audience: 'another' })).rejects.toThrow(
      /aud/,
    );
    expect(issuer.discovery()).toMatchObject({
      issuer: 'http://127.0.0.1:4000',
      jwks_uri: 'http://127.0.0.1:4000/openid/v1/jwks',
      id_token_signing_alg_values_supported: ['ES256'],
    });
    expect(JSON.stringify(issuer.jwks())).not.toMatch(/"d"/);
  });

  it('a token of another key does not verify', async () => {
    const a = createIssuer({ key: await loadOrCreateSigningKey(join(tempDir(), 'a.pem')), url: 'http://x' });
    const b = createIssuer({ key: await loadOrCreateSigningKey(join(tempDir(), 'b.pem')), url: 'http://x' });
    const { token } = await a.sign({ subject: 's', audience: 'a' });
    await expect(jwtVerify(token, createLocalJWKSet(b.jwks()))).rejects.toThrow();
  });
});

describe('signing key file', () => {
  it('is created once with mode 0600 and reused across restarts (same kid, old tokens still verify)', async () => {
    const file = join(tempDir(), 'oidc-signing-key.pem');
    const first = await loadOrCreateSigningKey(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const pem = readFileSync(file, 'utf8');
    const { token } = await createIssuer({ key: first, url: 'http://i' }).sign({
      subject: 's',
      audience: 'a',
    });
    const again = await loadOrCreateSigningKey(file);
    expect(readFileSync(file, 'utf8')).toBe(pem);
    expect(again.kid).toBe(first.kid);
    const restarted = createIssuer({ key: again, url: 'http://i' });
    await expect(jwtVerify(token, createLocalJWKSet(restarted.jwks()))).resolves.toBeDefined();
  });

  it('accepts a SEC1 "EC PRIVATE KEY" (what Helm genPrivateKey "ecdsa" writes)', async () => {
    const file = join(tempDir(), 'sec1.pem');
    writeFileSync(file, execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout']));
    expect(readFileSync(file, 'utf8')).toContain('BEGIN EC PRIVATE KEY');
    const issuer = createIssuer({ key: await readSigningKey(file), url: 'http://i' });
    const { token } = await issuer.sign({ subject: 's', audience: 'a' });
    expect(decodeProtectedHeader(token).alg).toBe('ES256');
  });

  it('names the file when it is missing or not a P-256 key', async () => {
    const dir = tempDir();
    await expect(readSigningKey(join(dir, 'nope.pem'))).rejects.toThrow(
      /OIDC signing key .*nope\.pem.*ENOENT/,
    );
    const rsa = join(dir, 'rsa.pem');
    writeFileSync(
      rsa,
      execFileSync('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']),
    );
    await expect(readSigningKey(rsa)).rejects.toThrow(
      /rsa\.pem: the OIDC signing key must be an ECDSA P-256 key/,
    );
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'hello');
    await expect(readSigningKey(junk)).rejects.toThrow(/junk\.pem: not a PEM private key/);
  });

  it('a child process gets the same issuer from EDDY_OIDC_SIGNING_KEY and EDDY_OIDC_ISSUER', async () => {
    const file = join(tempDir(), 'k.pem');
    const parent = createIssuer({ key: await loadOrCreateSigningKey(file), url: 'http://127.0.0.1:9/' });
    const child = await issuerFromEnv({
      EDDY_OIDC_SIGNING_KEY: file,
      EDDY_OIDC_ISSUER: 'http://127.0.0.1:9/',
    });
    const { token } = await (child ?? parent).sign({ subject: 's', audience: 'a' });
    await expect(
      jwtVerify(token, createLocalJWKSet(parent.jwks()), { issuer: parent.url }),
    ).resolves.toBeDefined();
    expect(child?.url).toBe(parent.url);
    expect(await issuerFromEnv({})).toBeUndefined();
    await expect(issuerFromEnv({ EDDY_OIDC_ISSUER: 'http://x' })).rejects.toThrow(/must be set together/);
  });
});

describe('sender tokens', () => {
  it('reuses a token per (subject, audience) until shortly before expiry, then refreshes', async () => {
    let now = 1_000_000_000_000;
    const issuer = createIssuer({
      key: await loadOrCreateSigningKey(join(tempDir(), 'k.pem')),
      url: 'http://i',
      now: () => now,
    });
    let minted = 0;
    const tokens = new SenderTokens(
      (r) => {
        minted++;
        return issuer.sign(r);
      },
      { now: () => now },
    );
    const first = await tokens.authorization('s1', 'a1');
    expect(first).toMatch(/^Bearer ey/);
    // A hit answers synchronously with the same header.
    expect(tokens.authorization('s1', 'a1')).toBe(first);
    expect(await tokens.authorization('s1', 'a2')).not.toBe(first);
    expect(await tokens.authorization('s2', 'a1')).not.toBe(first);
    expect(minted).toBe(3);
    // 56 minutes later: still valid, due for refresh: the old one is used while a new one is minted.
    now += 56 * 60_000;
    expect(tokens.authorization('s1', 'a1')).toBe(first);
    expect(minted).toBe(4);
    await new Promise((r) => setTimeout(r, 50));
    const second = tokens.authorization('s1', 'a1');
    expect(typeof second).toBe('string');
    expect(second).not.toBe(first);
    // Past expiry a caller waits for a fresh one.
    now += 2 * 3_600_000;
    const third = tokens.authorization('s1', 'a1');
    expect(third).toBeInstanceOf(Promise);
    expect(await third).not.toBe(second);
  });

  it('concurrent misses mint once', async () => {
    const issuer = createIssuer({
      key: await loadOrCreateSigningKey(join(tempDir(), 'k.pem')),
      url: 'http://i',
    });
    let minted = 0;
    const tokens = new SenderTokens((r) => {
      minted++;
      return issuer.sign(r);
    });
    const all = await Promise.all([1, 2, 3].map(() => tokens.authorization('s', 'a')));
    expect(new Set(all).size).toBe(1);
    expect(minted).toBe(1);
    expect(issuerTokens(issuer)).toBeInstanceOf(SenderTokens);
  });
});
