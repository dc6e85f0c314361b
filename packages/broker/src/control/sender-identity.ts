// Who a Trigger's or Subscription's deliveries say they are: with an audience on the subscriber,
// dead-letter sink or reply, the dispatcher attaches a token of Eddy's issuer whose `sub` is the
// route's OIDC service account (Knative's naming). With authentication on, the status shows that
// service account (`status.auth.serviceAccountName`) as Knative's does.

import {
  type DispatchRoute,
  oidcSenderSubject,
  oidcServiceAccountName,
  type ResourceStatus,
} from '@eddy/api';

export interface RouteAudiences {
  subscriber?: string | undefined;
  deadLetterSink?: string | undefined;
  reply?: string | undefined;
}

/**
 * The route's `subscriberAudience` and `senderSubject` (only those set); fills `status.auth` when given
 * (a Replay's status has no such field).
 */
export function senderIdentity(
  group: string,
  kind: string,
  namespace: string,
  name: string,
  audiences: RouteAudiences,
  authentication: boolean,
  status: ResourceStatus | undefined,
): Pick<DispatchRoute, 'subscriberAudience' | 'senderSubject'> {
  if (authentication && status)
    status.auth = { serviceAccountName: oidcServiceAccountName(group, kind, name) };
  const fields: Pick<DispatchRoute, 'subscriberAudience' | 'senderSubject'> = {};
  if (audiences.subscriber) fields.subscriberAudience = audiences.subscriber;
  if (audiences.subscriber || audiences.deadLetterSink || audiences.reply)
    fields.senderSubject = oidcSenderSubject(group, kind, namespace, name);
  return fields;
}
