// Eddy as an OIDC issuer: it signs short-lived JWTs naming a sender (`sub`, a Knative OIDC service
// account subject) for one receiver (`aud`), and publishes the public key (JWKS) and a discovery
// document so any receiver can verify them, as a Kubernetes API server does for service-account tokens.

import { type JWK, SignJWT } from 'jose';
import { SIGNING_ALGORITHM, type SigningKey } from './signing-key.js';

export const DISCOVERY_PATH = '/.well-known/openid-configuration';
/** Where Kubernetes serves its service-account issuer's keys; Eddy uses the same path. */
export const JWKS_PATH = '/openid/v1/jwks';
export const DEFAULT_TOKEN_LIFETIME_MS = 3_600_000;

export interface SignedToken {
  token: string;
  /** Epoch ms of `exp`. */
  expiresAt: number;
}

export interface TokenRequest {
  subject: string;
  audience: string;
}

/** What a verifier needs to trust Eddy's tokens (an inline JWKS, no fetch). */
export interface IssuerTrust {
  issuer: string;
  jwks: { keys: JWK[] };
}

export interface Issuer {
  /** The issuer URL (`iss`); discovery and JWKS are served under it. */
  readonly url: string;
  sign(request: TokenRequest): Promise<SignedToken>;
  jwks(): { keys: JWK[] };
  discovery(): Record<string, unknown>;
  trust(): IssuerTrust;
}

export interface IssuerOptions {
  key: SigningKey;
  /** The issuer URL, or a getter when it is known only once a server listens (`eddy dev`'s admin API). */
  url: string | (() => string);
  /** Default 1 h, Knative's and Kubernetes' default token lifetime. */
  lifetimeMs?: number;
  now?: () => number;
}

export function createIssuer(options: IssuerOptions): Issuer {
  const { key } = options;
  const lifetimeMs = options.lifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS;
  const now = options.now ?? Date.now;
  const urlOf = typeof options.url === 'string' ? () => options.url as string : options.url;
  const jwks = { keys: [key.publicJwk] };
  return {
    get url() {
      return urlOf().replace(/\/+$/, '');
    },
    async sign({ subject, audience }) {
      if (subject === '' || audience === '') throw new Error('a token needs a subject and an audience');
      if (this.url === '')
        throw new Error('the OIDC issuer URL is not known yet (its server is not listening)');
      const iat = Math.floor(now() / 1000);
      const exp = iat + Math.floor(lifetimeMs / 1000);
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid: key.kid, typ: 'JWT' })
        .setIssuer(this.url)
        .setSubject(subject)
        .setAudience(audience)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key.privateKey);
      return { token, expiresAt: exp * 1000 };
    },
    jwks: () => jwks,
    discovery() {
      const issuer = this.url;
      return {
        issuer,
        jwks_uri: `${issuer}${JWKS_PATH}`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: [SIGNING_ALGORITHM],
      };
    },
    trust() {
      return { issuer: this.url, jwks };
    },
  };
}
