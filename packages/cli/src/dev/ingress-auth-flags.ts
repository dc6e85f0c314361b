// `--ingress-auth off|required` and `--oidc-issuer <url>` (repeatable), shared by `eddy dev` and
// `eddy controller`: turned into the eventing reconciler's sender-auth options.

import type { SenderAuthOptions } from '@eddy/broker';
import type { Issuer } from '@eddy/runtime';
import { UsageError } from '../usage-error.js';

export const INGRESS_AUTH_MODES = ['off', 'required'] as const;

export interface IngressAuthFlags {
  ingressAuth?: string;
  oidcIssuer?: string[];
}

export const INGRESS_AUTH_HELP =
  'sender authentication at the ingress: off (default, as Knative: everyone may send) or required (senders need a bearer token; EventPolicies decide who may send, deny-all where none applies). Also on with `authentication-oidc: enabled` in ConfigMap knative-eventing/config-features';
export const OIDC_ISSUER_HELP =
  'trust OIDC tokens from this issuer (its discovery document names its keys); repeatable';

/** @throws UsageError naming the flag. */
export function senderAuthFromFlags(flags: IngressAuthFlags): SenderAuthOptions | undefined {
  const mode = flags.ingressAuth;
  if (mode !== undefined && !(INGRESS_AUTH_MODES as readonly string[]).includes(mode))
    throw new UsageError(
      `--ingress-auth must be ${INGRESS_AUTH_MODES.map((m) => `"${m}"`).join(' or ')}, got "${mode}"`,
    );
  const issuers = (flags.oidcIssuer ?? []).map((issuer) => {
    let url: URL;
    try {
      url = new URL(issuer);
    } catch {
      throw new UsageError(`--oidc-issuer must be an http(s) URL, got "${issuer}"`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new UsageError(`--oidc-issuer must be an http(s) URL, got "${issuer}"`);
    return { issuer };
  });
  if (mode === undefined && issuers.length === 0) return undefined;
  return { ...(mode === 'required' ? { required: true } : {}), issuers };
}

/**
 * The sender-auth options with Eddy's own issuer trusted too, so the ingress accepts the tokens Eddy's
 * senders attach. Read on every reconcile pass: the issuer's URL is known only once its server listens.
 */
export function trustingEddyIssuer(
  options: SenderAuthOptions | undefined,
  issuer: Pick<Issuer, 'trust'> | undefined,
): SenderAuthOptions | undefined {
  if (!issuer) return options;
  const flagged = options?.issuers ?? [];
  return {
    ...(options?.required ? { required: true } : {}),
    get issuers() {
      return [...flagged, issuer.trust()];
    },
  };
}
