// The ingress' sender check, run before anything is appended (authentication before the body is
// parsed, authorization after): a route with `auth` (authentication on) admits a request only from a
// verified sender its EventPolicies allow, with every event passing the
// allowing policy's filters; without policies, the default authorization mode decides. A route
// without `auth` costs one branch in the ingress and nothing here.
//   401 + WWW-Authenticate: Bearer   no token, or a token that does not verify
//   403                              a verified sender no policy allows (or an event a filter refuses)
//   503                              the issuer's keys could not be fetched (try again)
// Rejections are counted by route and reason in eddy_ingress_auth_rejected_total.
//
// Unlike Knative, which stops at the first policy listing the subject, every policy listing it is
// tried: policies add permissions, so a second policy with other filters is not shadowed by a first.

import {
  compileFilter,
  type EventFilter,
  type IngressAuth,
  type PlainEvent,
  type ResolvedEventPolicy,
  type SenderTrust,
  serviceAccountSubject,
} from '@eddy/api';
import { bearerToken, TokenRejectedError, TokenVerifier, type TokenVerifierOptions } from '@eddy/runtime';
import type { Counter, Registry } from 'prom-client';
import { registeredCounter } from '../metrics/registered-metric.js';

export interface AuthDenial {
  status: 401 | 403 | 503;
  /** The `reason` label (and the ingress' rejected reason). */
  reason: string;
  message: string;
  /** For a 401: the WWW-Authenticate header. */
  challenge?: string;
}

export interface AuthTarget {
  kind: string;
  namespace: string;
  name: string;
  auth?: IngressAuth | undefined;
}

export class SenderAuth {
  readonly #rejected: Counter<'kind' | 'namespace' | 'name' | 'reason'>;
  readonly #verifierOptions: Omit<TokenVerifierOptions, 'issuers' | 'staticTokens'>;
  #verifier = new TokenVerifier();
  #trust: SenderTrust | undefined;
  readonly #filters = new WeakMap<ResolvedEventPolicy, EventFilter>();

  constructor(
    registry: Registry,
    verifierOptions: Omit<TokenVerifierOptions, 'issuers' | 'staticTokens'> = {},
  ) {
    this.#rejected = registeredCounter(
      registry,
      'eddy_ingress_auth_rejected_total',
      'Requests the ingress refused because of their sender (401 unauthenticated, 403 not allowed), by reason',
      ['kind', 'namespace', 'name', 'reason'],
    );
    this.#verifierOptions = verifierOptions;
  }

  /** New issuers/static tokens; the verifier (and its cache) is replaced only when they changed. */
  update(trust: SenderTrust | undefined): void {
    if (JSON.stringify(trust) === JSON.stringify(this.#trust)) return;
    this.#trust = trust;
    this.#verifier = new TokenVerifier({
      ...this.#verifierOptions,
      issuers: trust?.issuers ?? [],
      staticTokens: trust?.staticTokens ?? [],
    });
  }

  /** The sender's subject, or why it is refused (counted). Only for a target with `auth`. */
  async authenticate(target: AuthTarget, authorization: string | undefined): Promise<string | AuthDenial> {
    const auth = target.auth!;
    const token = bearerToken(authorization);
    if (token === undefined) {
      const what = authorization
        ? 'the Authorization header is not "Bearer <token>"'
        : 'no Authorization header';
      return this.#count(target, {
        status: 401,
        reason: 'missing_token',
        message: `${what}: this target requires a bearer token with audience "${auth.audience}"`,
        challenge: 'Bearer',
      });
    }
    try {
      return (await this.#verifier.verify(token, auth.audience)).subject;
    } catch (error) {
      if (!(error instanceof TokenRejectedError)) throw error;
      if (error.reason === 'unavailable')
        return this.#count(target, { status: 503, reason: 'issuer_unavailable', message: error.message });
      return this.#count(target, unauthenticated(error.reason, error.message));
    }
  }

  /** Undefined = `subject` may send these events to the target; else why not (counted). */
  authorize(target: AuthTarget, subject: string, events: readonly PlainEvent[]): AuthDenial | undefined {
    const denial = this.#decide(target.auth!, target.namespace, subject, events);
    return denial && this.#count(target, denial);
  }

  #count(target: AuthTarget, denial: AuthDenial): AuthDenial {
    this.#rejected.inc({
      kind: target.kind,
      namespace: target.namespace,
      name: target.name,
      reason: denial.reason,
    });
    return denial;
  }

  #decide(
    auth: IngressAuth,
    namespace: string,
    subject: string,
    events: readonly PlainEvent[],
  ): AuthDenial | undefined {
    if (auth.policies.length === 0) {
      if (auth.defaultMode === 'allow-all') return undefined;
      if (
        auth.defaultMode === 'allow-same-namespace' &&
        subject.startsWith(serviceAccountSubject(namespace, ''))
      )
        return undefined;
      return {
        status: 403,
        reason: 'no_policy',
        message: `no EventPolicy applies to this target and the default authorization mode is ${auth.defaultMode}: subject "${subject}" is not allowed`,
      };
    }
    const listing = auth.policies.filter((p) => p.subjects.some((s) => subjectMatches(s, subject)));
    if (listing.length === 0)
      return {
        status: 403,
        reason: 'subject_not_allowed',
        message: `subject "${subject}" is not allowed by the EventPolicies of this target (${auth.policies.map((p) => p.name).join(', ')})`,
      };
    // Each event must be allowed by one of the policies listing the sender; one refused event refuses the request.
    const refused = events.find((e) => listing.every((p) => this.#filterOf(p)(e) === 'fail'));
    if (!refused) return undefined;
    return {
      status: 403,
      reason: 'filtered',
      message: `subject "${subject}" may send here only events passing the filters of EventPolicy ${listing.map((p) => p.name).join(', ')}; event ${JSON.stringify(refused.id)} of type ${JSON.stringify(refused.type)} does not (nothing of the request was stored)`,
    };
  }

  #filterOf(policy: ResolvedEventPolicy): EventFilter {
    let filter = this.#filters.get(policy);
    if (!filter) {
      filter = compileFilter(
        policy.filters ? { filters: policy.filters } : undefined,
        `EventPolicy ${policy.name}`,
      );
      this.#filters.set(policy, filter);
    }
    return filter;
  }
}

/** Knative's match: equal ignoring case, or a `*`-suffixed pattern as a prefix. */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern.endsWith('*')) return subject.startsWith(pattern.slice(0, -1));
  return pattern.toLowerCase() === subject.toLowerCase();
}

function unauthenticated(reason: string, message: string): AuthDenial {
  return {
    status: 401,
    reason,
    message,
    challenge: `Bearer error="invalid_token", error_description=${JSON.stringify(message.replace(/"/g, "'"))}`,
  };
}
