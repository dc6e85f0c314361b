// The tokens Eddy's senders attach (`Authorization: Bearer ...`), one per (subject, audience), reused
// until shortly before they expire, as Knative's token provider caches them. A cache hit is two map
// lookups and a clock read: no allocation on the delivery path.

import { createIssuer, type Issuer, type SignedToken, type TokenRequest } from './issuer.js';
import { readSigningKey } from './signing-key.js';

/** Env of a data-plane process started by `eddy dev --kafka` or the controller: the key file and issuer URL. */
export const OIDC_SIGNING_KEY_ENV = 'EDDY_OIDC_SIGNING_KEY';
export const OIDC_ISSUER_ENV = 'EDDY_OIDC_ISSUER';

/** Knative refreshes a token this long before it expires. */
export const DEFAULT_REFRESH_BEFORE_MS = 5 * 60_000;

interface Entry {
  /** `Bearer <jwt>`. */
  header: string;
  expiresAt: number;
  refreshAt: number;
  pending: Promise<string> | undefined;
}

export interface SenderTokensOptions {
  refreshBeforeMs?: number;
  now?: () => number;
}

export class SenderTokens {
  readonly #mint: (request: TokenRequest) => Promise<SignedToken>;
  readonly #refreshBeforeMs: number;
  readonly #now: () => number;
  readonly #bySubject = new Map<string, Map<string, Entry>>();

  constructor(mint: (request: TokenRequest) => Promise<SignedToken>, options: SenderTokensOptions = {}) {
    this.#mint = mint;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? DEFAULT_REFRESH_BEFORE_MS;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The Authorization header value for `subject` sending to `audience`: synchronous on a hit. A token
   * due for refresh but still valid is returned while a new one is minted in the background.
   */
  authorization(subject: string, audience: string): string | Promise<string> {
    let byAudience = this.#bySubject.get(subject);
    if (byAudience === undefined) {
      byAudience = new Map();
      this.#bySubject.set(subject, byAudience);
    }
    const entry = byAudience.get(audience);
    const now = this.#now();
    if (entry !== undefined && now < entry.refreshAt) return entry.header;
    const refreshing = entry?.pending ?? this.#refresh(byAudience, subject, audience);
    // Still valid for a while: senders keep using it until the new one is there.
    if (entry !== undefined && now < entry.expiresAt - 30_000) return entry.header;
    return refreshing;
  }

  #refresh(byAudience: Map<string, Entry>, subject: string, audience: string): Promise<string> {
    const pending = this.#mint({ subject, audience }).then(
      ({ token, expiresAt }) => {
        const header = `Bearer ${token}`;
        const lifetime = expiresAt - this.#now();
        // A short-lived token is refreshed halfway instead of `refreshBeforeMs` before its end.
        const refreshAt = expiresAt - Math.min(this.#refreshBeforeMs, lifetime / 2);
        byAudience.set(audience, { header, expiresAt, refreshAt, pending: undefined });
        return header;
      },
      (error: unknown) => {
        const entry = byAudience.get(audience);
        if (entry) entry.pending = undefined;
        throw error;
      },
    );
    const entry = byAudience.get(audience);
    if (entry) entry.pending = pending;
    else byAudience.set(audience, { header: '', expiresAt: 0, refreshAt: 0, pending });
    return pending;
  }
}

/** The sender tokens of an issuer in this process. */
export function issuerTokens(issuer: Issuer, options?: SenderTokensOptions): SenderTokens {
  return new SenderTokens((request) => issuer.sign(request), options);
}

/**
 * A child process's issuer, from EDDY_OIDC_SIGNING_KEY (the key file) and EDDY_OIDC_ISSUER (its URL);
 * undefined when neither is set. Its tokens are the parent's: same key, same `kid`, same `iss`.
 */
export async function issuerFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): Promise<Issuer | undefined> {
  const file = env[OIDC_SIGNING_KEY_ENV];
  const url = env[OIDC_ISSUER_ENV];
  if (!file && !url) return undefined;
  if (!file || !url)
    throw new Error(
      `${OIDC_SIGNING_KEY_ENV} and ${OIDC_ISSUER_ENV} must be set together (only ${file ? OIDC_SIGNING_KEY_ENV : OIDC_ISSUER_ENV} is)`,
    );
  return createIssuer({ key: await readSigningKey(file), url });
}
