// Who sent a request: the subject of its bearer token. Two kinds of token are accepted:
//   - an OIDC JWT from a trusted issuer, checked with jose: signature by the issuer's keys (its
//     discovery document's jwks_uri, fetched once and again on an unknown kid; or a JWKS given inline,
//     as Eddy's own issuer hands it), `iss`, `aud` = the target's audience, `exp`/`nbf` with a small
//     clock tolerance, and an asymmetric algorithm (never `none`, never HMAC with a public key);
//   - a static token (from a Secret), compared in constant time, standing for the subject it names.
// Verified JWTs are remembered until they expire, so a sender reusing its token costs a map lookup.

import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  errors,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import { sameSecret } from '../secret-compare.js';

/** An issuer whose tokens are trusted (structurally @eddy/api's TrustedIssuer). */
export interface TrustedIssuerConfig {
  issuer: string;
  jwks?: { keys: Record<string, unknown>[] };
}

export interface TokenVerifierOptions {
  issuers?: readonly TrustedIssuerConfig[];
  staticTokens?: readonly { token: string; subject: string }[];
  /** Seconds of clock skew tolerated on exp/nbf. Default 30. */
  clockToleranceSeconds?: number;
  /** Least time between two JWKS fetches of one issuer (a flood of unknown kids must not flood it). Default 10 s. */
  jwksCooldownMs?: number;
  /** Timeout of discovery and JWKS requests. Default 5 s. */
  fetchTimeoutMs?: number;
  /** Verified tokens remembered. Default 10 000. */
  cacheSize?: number;
}

export interface VerifiedSender {
  subject: string;
  /** The issuer, or `static` for a static token. */
  issuer: string;
}

/**
 * Why a token was not accepted. `unavailable` = the issuer's keys could not be fetched (the sender may
 * retry: not its fault); every other reason is the token's.
 */
export class TokenRejectedError extends Error {
  override readonly name = 'TokenRejectedError';
  constructor(
    readonly reason:
      | 'malformed_token'
      | 'untrusted_issuer'
      | 'expired'
      | 'not_yet_valid'
      | 'wrong_audience'
      | 'bad_signature'
      | 'invalid_token'
      | 'unavailable',
    message: string,
  ) {
    super(message);
  }
}

const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export class TokenVerifier {
  readonly #issuers = new Map<string, { config: TrustedIssuerConfig; keys?: Promise<JWTVerifyGetKey> }>();
  readonly #static: readonly { token: string; subject: string }[];
  readonly #tolerance: number;
  readonly #cooldownMs: number;
  readonly #timeoutMs: number;
  readonly #cacheSize: number;
  /** `<audience> <token>` -> sender and expiry (epoch s). */
  readonly #cache = new Map<string, { sender: VerifiedSender; exp: number }>();

  constructor(options: TokenVerifierOptions = {}) {
    for (const config of options.issuers ?? []) {
      let url: URL;
      try {
        url = new URL(config.issuer);
      } catch {
        throw new TypeError(`trusted issuer ${JSON.stringify(config.issuer)} is not a URL`);
      }
      if (!config.jwks && url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new TypeError(`trusted issuer ${config.issuer}: discovery needs an http(s) URL`);
      this.#issuers.set(config.issuer, { config });
    }
    this.#static = options.staticTokens ?? [];
    this.#tolerance = options.clockToleranceSeconds ?? 30;
    this.#cooldownMs = options.jwksCooldownMs ?? 10_000;
    this.#timeoutMs = options.fetchTimeoutMs ?? 5_000;
    this.#cacheSize = options.cacheSize ?? 10_000;
  }

  /** The sender of `token`, for a target whose audience is `audience`. @throws TokenRejectedError */
  async verify(token: string, audience: string): Promise<VerifiedSender> {
    const cacheKey = `${audience} ${token}`;
    const hit = this.#cache.get(cacheKey);
    if (hit && hit.exp + this.#tolerance > Date.now() / 1000) return hit.sender;
    if (hit) this.#cache.delete(cacheKey);

    let matched: string | undefined;
    // Every static token is compared, so timing does not tell which (or whether one) matched.
    for (const s of this.#static)
      if (sameSecret(token, s.token) && matched === undefined) matched = s.subject;
    if (matched !== undefined) return { subject: matched, issuer: 'static' };

    let claims: ReturnType<typeof decodeJwt>;
    try {
      claims = decodeJwt(token);
    } catch {
      throw new TokenRejectedError(
        'malformed_token',
        'the bearer token is neither a known static token nor a JWT',
      );
    }
    const issuer = typeof claims.iss === 'string' ? this.#issuers.get(claims.iss) : undefined;
    if (!issuer)
      throw new TokenRejectedError(
        'untrusted_issuer',
        `the token's issuer ${JSON.stringify(claims.iss ?? null)} is not trusted`,
      );
    const keys = await this.#keys(issuer);
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: issuer.config.issuer,
        audience,
        clockTolerance: this.#tolerance,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
      });
      const sender = { subject: payload.sub as string, issuer: issuer.config.issuer };
      this.#remember(cacheKey, sender, payload.exp as number);
      return sender;
    } catch (error) {
      throw rejection(error, audience);
    }
  }

  #remember(key: string, sender: VerifiedSender, exp: number): void {
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, { sender, exp });
  }

  #keys(issuer: { config: TrustedIssuerConfig; keys?: Promise<JWTVerifyGetKey> }): Promise<JWTVerifyGetKey> {
    if (!issuer.keys) {
      const { config } = issuer;
      issuer.keys = config.jwks
        ? Promise.resolve(createLocalJWKSet(config.jwks as Parameters<typeof createLocalJWKSet>[0]))
        : this.#discover(config.issuer);
      // A failed discovery is tried again by the next request, not remembered.
      issuer.keys.catch(() => {
        issuer.keys = undefined;
      });
    }
    return issuer.keys;
  }

  async #discover(issuer: string): Promise<JWTVerifyGetKey> {
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    let jwksUri: unknown;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(this.#timeoutMs) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      jwksUri = ((await response.json()) as { jwks_uri?: unknown }).jwks_uri;
    } catch (error) {
      throw new TokenRejectedError(
        'unavailable',
        `OIDC discovery at ${url} failed: ${(error as Error).message}`,
      );
    }
    if (typeof jwksUri !== 'string')
      throw new TokenRejectedError('unavailable', `OIDC discovery at ${url} has no jwks_uri`);
    return createRemoteJWKSet(new URL(jwksUri), {
      cooldownDuration: this.#cooldownMs,
      timeoutDuration: this.#timeoutMs,
    });
  }
}

function rejection(error: unknown, audience: string): TokenRejectedError {
  if (error instanceof TokenRejectedError) return error;
  if (error instanceof errors.JWTExpired) return new TokenRejectedError('expired', 'the token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud')
      return new TokenRejectedError(
        'wrong_audience',
        `the token's audience is not ${JSON.stringify(audience)}`,
      );
    if (error.claim === 'nbf')
      return new TokenRejectedError('not_yet_valid', 'the token is not valid yet (nbf)');
    return new TokenRejectedError(
      'invalid_token',
      `the token's ${error.claim} claim is invalid: ${error.message}`,
    );
  }
  if (
    error instanceof errors.JWKSTimeout ||
    (error instanceof errors.JOSEError && error.code === 'ERR_JOSE_GENERIC')
  )
    return new TokenRejectedError('unavailable', `the issuer's keys could not be fetched: ${error.message}`);
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed)
    return new TokenRejectedError('bad_signature', 'the token is not signed by a key of its issuer');
  if (error instanceof errors.JOSEAlgNotAllowed)
    return new TokenRejectedError(
      'invalid_token',
      `the token's algorithm is not allowed (${ALGORITHMS.join(', ')})`,
    );
  if (error instanceof errors.JOSEError)
    return new TokenRejectedError('invalid_token', `invalid token: ${error.message}`);
  return new TokenRejectedError(
    'unavailable',
    `the token could not be verified: ${(error as Error).message}`,
  );
}

/** The token of an `Authorization: Bearer <token>` header; undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}
