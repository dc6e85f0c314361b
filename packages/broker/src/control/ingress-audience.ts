// The OIDC audience of an Eddy ingress address (Knative's auth.GetAudience for the kind): what senders'
// tokens name, and what `status.address.audience` shows, when authentication is on.

import { oidcAudience } from '@eddy/api';
import type { Settings } from './options.js';

export function eddyIngressAudience(kind: string, namespace: string, name: string): string {
  const group = kind === 'Broker' || kind === 'KafkaSink' ? 'eventing.knative.dev' : 'messaging.knative.dev';
  return oidcAudience(group, kind, namespace, name);
}

/** `{ audience }` for a status address when authentication is on, else nothing. */
export function addressAudience(
  settings: Pick<Settings, 'authentication'>,
  kind: string,
  namespace: string,
  name: string,
): { audience?: string } {
  return settings.authentication ? { audience: eddyIngressAudience(kind, namespace, name) } : {};
}
