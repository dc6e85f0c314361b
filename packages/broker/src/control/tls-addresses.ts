// Knative's transport encryption in status: with TLS on, an ingress address is https and carries the
// CA that verifies it (`CACerts`); in permissive mode the plain-HTTP address stays `status.address`
// and `status.addresses` lists both, https first (the mt-broker reconciler's order).

import type { ResourceStatus, StatusAddress } from '@eddy/api';
import type { Settings } from './options.js';

/** `status.address` (and `status.addresses` when TLS is on) of an ingress `url` built on settings' bases. */
export function ingressAddressFields(
  settings: Settings,
  url: string,
  /** `{ audience }` with authentication on (ingress-audience.ts): every address has it. */
  audience: { audience?: string } = {},
): Pick<ResourceStatus, 'address' | 'addresses'> {
  const tls = settings.ingressTls;
  if (!tls) return { address: { url, ...audience } };
  const https: StatusAddress = { name: 'https', url, CACerts: tls.caCerts, ...audience };
  if (tls.httpOrigin === undefined) return { address: https, addresses: [https] };
  const parsed = new URL(url);
  const http: StatusAddress = {
    name: 'http',
    url: `${tls.httpOrigin.replace(/\/+$/, '')}${parsed.pathname}${parsed.search}`,
    ...audience,
  };
  return { address: http, addresses: [https, http] };
}

/** The CAs a route to one of Eddy's ingress addresses carries (undefined when it is http). */
export function ingressCACerts(settings: Settings): { caCerts?: string } {
  return settings.ingressTls ? { caCerts: settings.ingressTls.caCerts } : {};
}
