// HTTP clients that verify https destinations against the system's CAs plus a Destination's own
// `CACerts` (Knative's eventingtls: the pool is the system roots with the given PEM appended). One
// undici Agent per distinct CA set, cached: an Agent owns keep-alive pools, so one per request would
// handshake every time and leak sockets.

import { getCACertificates, rootCertificates } from 'node:tls';
import { Agent } from 'undici';
import { MIN_TLS_VERSION, parseCertificates } from './tls-material.js';

/** The CAs Node trusts by default (bundled roots, NODE_EXTRA_CA_CERTS, --use-system-ca). */
function defaultCAs(): string[] {
  return typeof getCACertificates === 'function' ? getCACertificates('default') : [...rootCertificates];
}

export class TrustedAgents {
  readonly #options: Agent.Options;
  readonly #agents = new Map<string, Agent>();
  readonly #default: Agent;
  #closed = false;

  /** `options` apply to every Agent (pool sizes, timeouts); TLS verification is added per CA set. */
  constructor(options: Agent.Options = {}) {
    this.#options = options;
    this.#default = new Agent({ ...options, connect: { minVersion: MIN_TLS_VERSION } });
  }

  /**
   * The Agent for destinations trusting `caCerts` (PEM) besides the system's CAs; the default one
   * when undefined or empty. @throws TlsConfigError when `caCerts` holds no valid certificate.
   */
  for(caCerts: string | undefined): Agent {
    if (this.#closed) throw new Error('TrustedAgents: closed');
    const key = caCerts?.trim() ?? '';
    if (key === '') return this.#default;
    let agent = this.#agents.get(key);
    if (!agent) {
      parseCertificates(key, 'CACerts');
      agent = new Agent({
        ...this.#options,
        connect: { minVersion: MIN_TLS_VERSION, ca: [...defaultCAs(), key] },
      });
      this.#agents.set(key, agent);
    }
    return agent;
  }

  /** Distinct CA sets with an Agent (the default one not counted). */
  get size(): number {
    return this.#agents.size;
  }

  /** Drops the Agents of CA sets not in `keep` (e.g. after a contract no longer names them). */
  async retain(keep: Iterable<string | undefined>): Promise<void> {
    const wanted = new Set([...keep].map((k) => k?.trim() ?? ''));
    const gone = [...this.#agents].filter(([key]) => !wanted.has(key));
    for (const [key] of gone) this.#agents.delete(key);
    await Promise.all(gone.map(([, agent]) => agent.close()));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [this.#default, ...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(all.map((a) => a.close()));
  }
}

const TLS_VERIFY_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);

/**
 * `TLS: the certificate of https://x did not verify (<code>: <message>)` when `err` is a certificate
 * verification failure, so a log or dead-lettered event says it was TLS; undefined otherwise.
 */
export function describeTlsFailure(err: unknown, origin: string): string | undefined {
  for (
    let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined;
    e;
    e = e.cause as typeof e
  ) {
    if (typeof e.code === 'string' && TLS_VERIFY_CODES.has(e.code))
      return `TLS: the certificate of ${origin} did not verify (${e.code}: ${String(e.message)}); set the Destination's CACerts to the CA that signed it`;
    if (typeof e !== 'object') break;
  }
  return undefined;
}
