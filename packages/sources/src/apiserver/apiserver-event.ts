// ApiServerSource's pure parts: the CloudEvent for one observed change of a Kubernetes object, the
// `owner` filter, label selectors as the API's query string, and the permission message. They follow
// Knative's receive adapter (knative/eventing pkg/adapter/apiserver) so a consumer written for
// Knative sees the same attributes and data. README "ApiServerSource".

import type { ApiServerSource } from '@eddy/api';
import type { EventInit } from '../sdk/adapter.js';

export type ApiServerSourceSpec = ApiServerSource['spec'];
export type LabelSelector = NonNullable<ApiServerSourceSpec['namespaceSelector']>;
export type EventMode = 'Reference' | 'Resource';
/** What the watch saw happen to an object. */
export type ChangeAction = 'add' | 'update' | 'delete';

import type { KubeObject, OwnerReference } from '@eddy/api';

export type { KubeObject, OwnerReference };

/** Knative's event types (knative/eventing pkg/apis/sources, ApiServerSource*EventType). */
export const APISERVER_EVENT_TYPES: Readonly<Record<EventMode, Readonly<Record<ChangeAction, string>>>> = {
  Resource: {
    add: 'dev.knative.apiserver.resource.add',
    update: 'dev.knative.apiserver.resource.update',
    delete: 'dev.knative.apiserver.resource.delete',
  },
  Reference: {
    add: 'dev.knative.apiserver.ref.add',
    update: 'dev.knative.apiserver.ref.update',
    delete: 'dev.knative.apiserver.ref.delete',
  },
};

/** The spec's mode: Knative treats anything but `Resource` as `Reference` (its default). */
export function eventMode(spec: Pick<ApiServerSourceSpec, 'mode'>): EventMode {
  return spec.mode === 'Resource' ? 'Resource' : 'Reference';
}

/**
 * The plural resource name Kubernetes' `UnsafeGuessKindToResource` derives from a kind (lower case;
 * `...s` -> `...ses`, `...y` -> `...ies`, `...endpoints` unchanged, else `+s`). Knative builds the
 * event's subject with it, so Eddy does too, even where discovery knows better (it would differ only
 * for irregular plurals such as a kind `Policy` whose resource is `policies`, which the guess gets right,
 * or `Endpoints`).
 */
export function guessResource(kind: string): string {
  const singular = kind.toLowerCase();
  if (singular === '') return '';
  if (singular.endsWith('endpoints')) return singular;
  if (singular.endsWith('s')) return `${singular}es`;
  if (singular.endsWith('y')) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/**
 * The event's `subject`: the object's path in the style of the selfLinks Kubernetes dropped, built as
 * Knative does: always `/apis/<apiVersion>/namespaces/<namespace>/<guessed plural>/<name>`, also for
 * core objects (`/apis/v1/namespaces/demo/configmaps/app`) and with an empty namespace segment for
 * cluster-scoped ones; an apiVersion that is a bare group gets `/versionUnknown`.
 */
export function selfLink(apiVersion: string, kind: string, namespace: string, name: string): string {
  const version =
    apiVersion.includes('.') && !apiVersion.includes('/') ? `${apiVersion}/versionUnknown` : apiVersion;
  return `/apis/${version}/namespaces/${namespace}/${guessResource(kind)}/${name}`;
}

/**
 * Reference mode's data: a `corev1.ObjectReference` of the object with the members Knative fills
 * (kind, namespace, name, apiVersion; empty ones left out, as Go's `omitempty` does). Knative sends
 * no uid or resourceVersion, so neither does Eddy.
 */
export function objectReference(object: KubeObject): Record<string, string> {
  const ref: Record<string, string> = {};
  const set = (key: string, value: string | undefined) => {
    if (value) ref[key] = value;
  };
  set('kind', object.kind);
  set('namespace', object.metadata?.namespace);
  set('name', object.metadata?.name);
  set('apiVersion', object.apiVersion);
  return ref;
}

/**
 * The CloudEvent for one change (without `id` and `time`, which the emitter completes; `id` given
 * when the caller needs it before sending, e.g. for filters). As Knative: `source` = the API server
 * URL, `subject` = selfLink(), extensions `kind`, `apiversion`, `name`, `namespace` copied from the
 * object so Triggers can filter on them, data = the object (Resource mode) or its reference, JSON.
 */
export function apiServerEvent(
  source: string,
  mode: EventMode,
  action: ChangeAction,
  object: KubeObject,
  id?: string,
): EventInit {
  const apiVersion = object.apiVersion ?? '';
  const kind = object.kind ?? '';
  const name = object.metadata?.name ?? '';
  const namespace = object.metadata?.namespace ?? '';
  return {
    ...(id !== undefined ? { id } : {}),
    type: APISERVER_EVENT_TYPES[mode][action],
    source,
    subject: selfLink(apiVersion, kind, namespace, name),
    datacontenttype: 'application/json',
    kind,
    apiversion: apiVersion,
    name,
    namespace,
    data: mode === 'Resource' ? object : objectReference(object),
  };
}

/** The owner reference with `controller: true` (metav1.GetControllerOf), if any. */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata?.ownerReferences?.find((ref) => ref.controller === true);
}

/**
 * The `owner` filter, as Knative's: with an owner set, only objects whose *controller* (the owner
 * reference with `controller: true`; other owners do not count) matches it pass; an empty
 * `apiVersion` or `kind` of the owner matches any. Without an owner every object passes.
 */
export function ownerFilterPasses(owner: ApiServerSourceSpec['owner'], object: KubeObject): boolean {
  if (!owner) return true;
  const controller = controllerOf(object);
  if (!controller) return false;
  if (owner.apiVersion !== '' && owner.apiVersion !== controller.apiVersion) return false;
  if (owner.kind !== '' && owner.kind !== controller.kind) return false;
  return true;
}

/**
 * A label selector as the `labelSelector` query parameter, the way Kubernetes' LabelSelectorAsSelector
 * prints it: requirements sorted by key, values sorted, `k=v`, `k in (a,b)`, `k notin (a,b)`, `k`,
 * `!k`, joined by commas. An empty or missing selector is `''` (everything).
 */
export function labelSelectorString(selector: LabelSelector | undefined): string {
  if (!selector) return '';
  const requirements: Array<{ key: string; text: string }> = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    requirements.push({ key, text: `${key}=${value}` });
  for (const expr of selector.matchExpressions ?? []) {
    const values = [...(expr.values ?? [])].sort().join(',');
    const text =
      expr.operator === 'In'
        ? `${expr.key} in (${values})`
        : expr.operator === 'NotIn'
          ? `${expr.key} notin (${values})`
          : expr.operator === 'Exists'
            ? expr.key
            : `!${expr.key}`;
    requirements.push({ key: expr.key, text });
  }
  return requirements
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => r.text)
    .join(',');
}

/** Whether a selector selects everything: Knative's `namespaceSelector: {}` means all namespaces. */
export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  return (
    selector !== undefined &&
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  );
}

/** The Kubernetes user name of a ServiceAccount, which the adapter impersonates. */
export function serviceAccountUser(namespace: string, serviceAccountName: string): string {
  return `system:serviceaccount:${namespace}:${serviceAccountName}`;
}

/** Verbs the watch needs on every resource in every namespace it watches (Knative checks the same). */
export const REQUIRED_VERBS = ['get', 'list', 'watch'] as const;

export interface MissingPermission {
  verbs: string[];
  resource: string;
  group: string;
  /** `''` for a cluster-wide watch (all namespaces). */
  namespace: string;
}

/**
 * The NotReady message for missing rights, worded as Knative's SufficientPermissions condition:
 * `User system:serviceaccount:demo:watcher cannot get, list, watch resource "configmaps" in API group ""
 * in Namespace "demo"` (several joined with ", "; a cluster-wide watch says `in all namespaces`).
 */
export function missingPermissionsMessage(user: string, missing: readonly MissingPermission[]): string {
  const parts = missing.map(
    (m) =>
      `${m.verbs.join(', ')} resource "${m.resource}" in API group "${m.group}" ${
        m.namespace === '' ? 'in all namespaces' : `in Namespace "${m.namespace}"`
      }`,
  );
  return `User ${user} cannot ${parts.join(', ')}`;
}
