// The verifier against a real OIDC issuer (HTTP discovery + JWKS) on 127.0.0.1.

import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOidcIssuer, type TestOidcIssuer } from '../../../../test/harness/oidc-issuer.ts';
import { bearerToken, TokenRejectedError, TokenVerifier } from './token-verifier.js';

const AUD = 'eventing.knative.dev/broker/shop/orders';
let issuer: TestOidcIssuer;
beforeAll(async () => {
  issuer = await startOidcIssuer();
});
afterAll(() => issuer?.close());

async function rejected(p: Promise<unknown>): Promise<string> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenRejectedError);
  return (error as TokenRejectedError).reason;
}

describe('TokenVerifier', () => {
  it('accepts a token of a trusted issuer (discovery) for the right audience, and remembers it', async () => {
    const v = new TokenVerifier({ issuers: [{ issuer: issuer.issuer }] });
    const token = await issuer.mint({ subject: 'system:serviceaccount:shop:a', audience: AUD });
    expect(await v.verify(token, AUD)).toEqual({
      subject: 'system:serviceaccount:shop:a',
      issuer: issuer.issuer,
    });
    const fetched = issuer.jwksRequests;
    await v.verify(token, AUD);
    expect(issuer.jwksRequests).toBe(fetched);
  });

  it('refuses expired, not-yet-valid, wrong audience, untrusted issuer, unsigned and foreign-key tokens', async () => {
    const v = new TokenVerifier({ issuers: [{ issuer: issuer.issuer }], clockToleranceSeconds: 5 });
    expect(
      await rejected(v.verify(await issuer.mint({ subject: 'a', audience: AUD, expiresIn: -60 }), AUD)),
    ).toBe('expired');
    // Within the clock tolerance, a just-expired token still passes.
    await v.verify(await issuer.mint({ subject: 'a', audience: AUD, expiresIn: -2 }), AUD);
    expect(
      await rejected(v.verify(await issuer.mint({ subject: 'a', audience: AUD, notBefore: 120 }), AUD)),
    ).toBe('not_yet_valid');
    expect(await rejected(v.verify(await issuer.mint({ subject: 'a', audience: 'other' }), AUD))).toBe(
      'wrong_audience',
    );
    expect(
      await rejected(
        v.verify(await issuer.mint({ subject: 'a', audience: AUD, issuer: 'https://evil' }), AUD),
      ),
    ).toBe('untrusted_issuer');
    const none = new UnsecuredJWT({ sub: 'a' })
      .setIssuer(issuer.issuer)
      .setAudience(AUD)
      .setExpirationTime('10m')
      .encode();
    expect(['invalid_token', 'bad_signature']).toContain(await rejected(v.verify(none, AUD)));
    // Signed by a key the issuer never published, with a kid it does publish.
    const { privateKey } = await generateKeyPair('RS256');
    const kid = issuer.jwks().keys[0]!.kid!;
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid })
      .setIssuer(issuer.issuer)
      .setSubject('a')
      .setAudience(AUD)
      .setExpirationTime('10m')
      .sign(privateKey);
    expect(await rejected(v.verify(forged, AUD))).toBe('bad_signature');
    expect(await rejected(v.verify('not-a-jwt', AUD))).toBe('malformed_token');
  });

  it('fetches the JWKS again for an unknown kid after a key rotation', async () => {
    const v = new TokenVerifier({ issuers: [{ issuer: issuer.issuer }], jwksCooldownMs: 0 });
    await v.verify(await issuer.mint({ subject: 'a', audience: AUD }), AUD);
    await issuer.rotate();
    issuer.retire();
    const before = issuer.jwksRequests;
    expect((await v.verify(await issuer.mint({ subject: 'b', audience: AUD }), AUD)).subject).toBe('b');
    expect(issuer.jwksRequests).toBeGreaterThan(before);
  });

  it('trusts an issuer whose keys are given inline, without fetching', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'inline-1', alg: 'ES256' };
    const v = new TokenVerifier({ issuers: [{ issuer: 'https://eddy.local', jwks: { keys: [jwk] } }] });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'inline-1' })
      .setIssuer('https://eddy.local')
      .setSubject('system:serviceaccount:shop:trigger')
      .setAudience(AUD)
      .setExpirationTime('5m')
      .sign(privateKey);
    expect((await v.verify(token, AUD)).subject).toBe('system:serviceaccount:shop:trigger');
  });

  it('an unreachable issuer is "unavailable" (a retry may succeed), not the token\'s fault', async () => {
    const v = new TokenVerifier({ issuers: [{ issuer: 'http://127.0.0.1:1' }], fetchTimeoutMs: 1000 });
    const token = await issuer.mint({ subject: 'a', audience: AUD, issuer: 'http://127.0.0.1:1' });
    expect(await rejected(v.verify(token, AUD))).toBe('unavailable');
  });

  it('static tokens stand for their subject, for any audience', async () => {
    const v = new TokenVerifier({ staticTokens: [{ token: 'abc123', subject: 'ci-bot' }] });
    expect(await v.verify('abc123', AUD)).toEqual({ subject: 'ci-bot', issuer: 'static' });
    expect(await rejected(v.verify('abc124', AUD))).toBe('malformed_token');
  });

  it('reads Bearer tokens only', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
