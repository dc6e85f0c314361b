// Knative's OIDC naming, so EventPolicies written for Knative name the same senders and targets here:
// every addressable has an audience (`status.address.audience`), every sender (source, Trigger,
// Subscription, ...) an OIDC service account (`status.auth.serviceAccountName`) whose token subject is
// `system:serviceaccount:<namespace>:<name>`.

import { childName } from './child-name.js';

/** `<group>/<kind>/<namespace>/<name>`, lower-cased (Knative's auth.GetAudience). */
export function oidcAudience(group: string, kind: string, namespace: string, name: string): string {
  return `${group}/${kind}/${namespace}/${name}`.toLowerCase();
}

/** `<name>-oidc-<group>-<kind>`, shortened like any child name, lower-cased (Knative's auth package). */
export function oidcServiceAccountName(group: string, kind: string, name: string): string {
  return childName(name, `-oidc-${group}-${kind}`).toLowerCase();
}

/** The `sub` claim of a Kubernetes service account's token. */
export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccount}`;
}

/** The group of an apiVersion (`sources.knative.dev/v1` -> `sources.knative.dev`; `v1` -> ``). */
export function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The token subject of a sender (a Trigger, Subscription or source): its OIDC service account's. */
export function oidcSenderSubject(group: string, kind: string, namespace: string, name: string): string {
  return serviceAccountSubject(namespace, oidcServiceAccountName(group, kind, name));
}
