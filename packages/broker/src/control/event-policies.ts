// Who may send to which Broker, channel and KafkaSink, pure, as Knative's pkg/auth/event_policy.go:
//   - an EventPolicy applies to the targets of its namespace its `to` names (a ref by group, kind and
//     name; a selector by group, kind and labels), or to all of them when `to` is empty;
//   - `from.ref` becomes the subject of the sender's OIDC service account
//     (`system:serviceaccount:<ns>:<name>-oidc-<group>-<kind>`), `from.sub` is taken as written (a
//     trailing `*` matches by prefix);
//   - with authentication on, a target with policies admits a sender matching one of them (and whose
//     events pass that policy's filters); without, `default-authorization-mode` decides.
// Authentication is on when the host says so (`--ingress-auth required`) or Knative's config-features
// ConfigMap has `authentication-oidc: enabled`. Off (the default, as Knative's), every target admits
// everyone and policies are reported as not enforced.
//
// Static tokens: Secrets labelled `eddy.dev/sender-token` hold a bearer token (key `token`) and the
// subject it stands for (key `subject`); for setups without an OIDC issuer.

import {
  type AuthorizationMode,
  apiGroup,
  type BrokerRoute,
  type ChannelRoute,
  type Condition,
  type ContractInput,
  collectEntries,
  type EventPolicy,
  type IngressAuth,
  type KafkaSinkRoute,
  matchesLabelSelector,
  oidcAudience,
  oidcServiceAccountName,
  type ResolvedEventPolicy,
  type ResourceStatus,
  resolveKeyRef,
  resourceKey,
  SENDER_TOKEN_LABEL,
  type SenderTrust,
  serviceAccountSubject,
  type TrustedIssuer,
  type ValueLookupOptions,
} from '@eddy/api';
import { FEATURES_CONFIG_MAP } from './event-types.js';
import type { ComputeContractOptions } from './options.js';

export const EVENT_POLICY_API_VERSION = 'eventing.knative.dev/v1alpha1';
/** Knative's flags in config-features. */
export const OIDC_AUTHENTICATION_FLAG = 'authentication-oidc';
export const DEFAULT_AUTHORIZATION_MODE_FLAG = 'default-authorization-mode';
export const AUTHORIZATION_MODES: readonly AuthorizationMode[] = [
  'allow-all',
  'allow-same-namespace',
  'deny-all',
];

/** What the host decides (flags); config-features fills what it leaves open. */
export interface SenderAuthOptions {
  /** true = authentication on whatever config-features says (`--ingress-auth required`). */
  required?: boolean;
  /** Issuers whose tokens are trusted (`--oidc-issuer`, Eddy's own issuer). */
  issuers?: readonly TrustedIssuer[];
}

/** The sender-auth settings of one reconcile pass. */
export interface SenderAuthPlan {
  enabled: boolean;
  defaultMode: AuthorizationMode;
  policies: PlannedPolicy[];
  /** Present when enabled. */
  trust?: SenderTrust;
  /** Static-token Secrets that could not be read (by `Secret/<ns>/<name>`), for the log. */
  problems: string[];
}

interface PlannedPolicy {
  namespace: string;
  name: string;
  spec: NonNullable<EventPolicy['spec']>;
  resolved: ResolvedEventPolicy;
}

/** A target of EventPolicies, as the reconcilers know it. */
export interface PolicyTarget {
  group: string;
  kind: string;
  namespace: string;
  name: string;
  labels?: Readonly<Record<string, string>>;
}

/** config-features' data, if the ConfigMap is among the resources. */
function features(inputs: readonly ContractInput[]): Record<string, string> {
  const cm = inputs.find(
    (r) =>
      r.kind === 'ConfigMap' &&
      r.namespace === FEATURES_CONFIG_MAP.namespace &&
      r.name === FEATURES_CONFIG_MAP.name,
  );
  return (cm?.resource as { data?: Record<string, string> } | undefined)?.data ?? {};
}

/**
 * Whether sender authentication is on in this pass: `--ingress-auth required`, or Knative's
 * `authentication-oidc: enabled` in config-features. The one switch for both sides: the ingress checks
 * tokens, Eddy's addresses get audiences and Eddy's senders attach tokens.
 */
export function senderAuthEnabled(
  inputs: readonly ContractInput[],
  options: Pick<SenderAuthOptions, 'required'> | undefined,
): boolean {
  return (
    options?.required === true ||
    features(inputs)[OIDC_AUTHENTICATION_FLAG]?.trim().toLowerCase() === 'enabled'
  );
}

/** Knative's flag value (`Allow-Same-Namespace`, any case); undefined when unset or unknown. */
function modeOf(value: string | undefined): AuthorizationMode | undefined {
  const v = value?.trim().toLowerCase();
  return AUTHORIZATION_MODES.find((m) => m === v);
}

/** The subjects an EventPolicy's `from` allows (Knative's ResolveSubjects). */
export function resolveSubjects(policy: Pick<EventPolicy, 'spec'>, namespace: string): string[] {
  const subjects: string[] = [];
  for (const from of policy.spec?.from ?? []) {
    if (from.ref) {
      const ns = from.ref.namespace || namespace;
      const sa = oidcServiceAccountName(apiGroup(from.ref.apiVersion), from.ref.kind, from.ref.name);
      subjects.push(serviceAccountSubject(ns, sa));
    } else if (from.sub) subjects.push(from.sub);
  }
  return subjects;
}

/**
 * Reads the EventPolicies, the features and the static tokens, and sets every EventPolicy's status
 * (AuthenticationEnabled, SubjectsResolved, Ready; `from`).
 */
export function planSenderAuth(
  inputs: readonly ContractInput[],
  options: SenderAuthOptions,
  values: ValueLookupOptions,
  statuses: Map<string, ResourceStatus>,
): SenderAuthPlan {
  const flags = features(inputs);
  const enabled = senderAuthEnabled(inputs, options);
  // Knative's default is allow-same-namespace; `--ingress-auth required` means "nobody unless a policy says so".
  const defaultMode =
    modeOf(flags[DEFAULT_AUTHORIZATION_MODE_FLAG]) ??
    (options.required ? 'deny-all' : 'allow-same-namespace');
  const policies: PlannedPolicy[] = [];
  for (const entry of [
    ...collectEntries<EventPolicy>(inputs, 'eventing.knative.dev', 'EventPolicy').values(),
  ].sort((a, b) => (a.namespace + a.name < b.namespace + b.name ? -1 : 1))) {
    const spec = entry.resource.spec ?? {};
    const subjects = resolveSubjects(entry.resource, entry.namespace);
    policies.push({
      namespace: entry.namespace,
      name: entry.name,
      spec,
      resolved: { name: entry.name, subjects, ...(spec.filters?.length ? { filters: spec.filters } : {}) },
    });
    const auth: Condition = enabled
      ? { type: 'AuthenticationEnabled', status: 'True' }
      : {
          type: 'AuthenticationEnabled',
          status: 'False',
          reason: 'OIDCAuthenticationDisabled',
          message: `sender authentication is off (eddy dev --ingress-auth required, or ${OIDC_AUTHENTICATION_FLAG}: enabled in ${FEATURES_CONFIG_MAP.namespace}/${FEATURES_CONFIG_MAP.name}); the policy is not enforced`,
        };
    const ready: Condition = enabled
      ? { type: 'Ready', status: 'True' }
      : { type: 'Ready', status: 'False', reason: auth.reason!, message: auth.message! };
    statuses.set(resourceKey('EventPolicy', entry.namespace, entry.name), {
      observedGeneration: entry.generation,
      conditions: [auth, ready, { type: 'SubjectsResolved', status: 'True' }],
      ...(subjects.length > 0 ? { from: subjects } : {}),
    });
  }
  const problems: string[] = [];
  const staticTokens: { token: string; subject: string }[] = [];
  if (enabled) {
    for (const entry of collectEntries<unknown>(inputs, '', 'Secret').values()) {
      if (entry.metadata.labels?.[SENDER_TOKEN_LABEL] === undefined) continue;
      const read = (key: string) =>
        resolveKeyRef({ source: 'Secret', name: entry.name, key }, entry.namespace, values);
      const token = read('token');
      const subject = read('subject');
      if (token.ok && subject.ok && token.value && subject.value)
        staticTokens.push({ token: token.value.trim(), subject: subject.value.trim() });
      else
        problems.push(
          `Secret ${entry.namespace}/${entry.name} (label ${SENDER_TOKEN_LABEL}) needs keys "token" and "subject"`,
        );
    }
    staticTokens.sort((a, b) => (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  }
  return {
    enabled,
    defaultMode,
    policies,
    ...(enabled
      ? {
          trust: {
            issuers: [...(options.issuers ?? [])],
            ...(staticTokens.length > 0 ? { staticTokens } : {}),
          },
        }
      : {}),
    problems,
  };
}

/** Whether a policy applies to the target (Knative's GetEventPoliciesForResource). */
export function policyApplies(
  policy: Pick<PlannedPolicy, 'namespace' | 'spec'>,
  target: PolicyTarget,
): boolean {
  if (policy.namespace !== target.namespace) return false;
  const to = policy.spec.to ?? [];
  if (to.length === 0) return true;
  const sameKind = (apiVersion: string, kind: string) =>
    apiGroup(apiVersion).toLowerCase() === target.group.toLowerCase() &&
    kind.toLowerCase() === target.kind.toLowerCase();
  return to.some((t) => {
    if (t.ref)
      return sameKind(t.ref.apiVersion, t.ref.kind) && t.ref.name.toLowerCase() === target.name.toLowerCase();
    if (t.selector)
      return (
        sameKind(t.selector.apiVersion, t.selector.kind) &&
        matchesLabelSelector(t.selector, target.labels ?? {})
      );
    return false;
  });
}

/**
 * A target's share of the plan: its ingress check (when authentication is on), and its status
 * (`policies`, EventPoliciesReady, `address.audience`), applied to `status` when given.
 */
export function targetAuth(
  plan: SenderAuthPlan,
  target: PolicyTarget,
  status: ResourceStatus | undefined,
): IngressAuth | undefined {
  const applying = plan.policies.filter((p) => policyApplies(p, target));
  const audience = oidcAudience(target.group, target.kind, target.namespace, target.name);
  if (status) {
    let condition: Condition;
    if (applying.length > 0 && plan.enabled) {
      status.policies = applying.map((p) => ({ apiVersion: EVENT_POLICY_API_VERSION, name: p.name }));
      condition = { type: 'EventPoliciesReady', status: 'True' };
    } else if (applying.length > 0) {
      // Knative refuses EventPolicies while authentication is off; here they are kept, not enforced.
      condition = {
        type: 'EventPoliciesReady',
        status: 'True',
        reason: 'OIDCDisabled',
        message: `event policies ${applying.map((p) => p.name).join(', ')} are not enforced: feature "${OIDC_AUTHENTICATION_FLAG}" is off`,
      };
    } else if (plan.enabled)
      condition = {
        type: 'EventPoliciesReady',
        status: 'True',
        reason: 'DefaultAuthorizationMode',
        message: `Default authz mode is "${plan.defaultMode}"`,
      };
    else
      condition = {
        type: 'EventPoliciesReady',
        status: 'True',
        reason: 'OIDCDisabled',
        message: `Feature "${OIDC_AUTHENTICATION_FLAG}" must be enabled to support Authorization`,
      };
    status.conditions = [...status.conditions.filter((c) => c.type !== condition.type), condition].sort(
      (a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0),
    );
    if (plan.enabled && status.address) status.address = { ...status.address, audience };
  }
  if (!plan.enabled) return undefined;
  return { audience, policies: applying.map((p) => p.resolved), defaultMode: plan.defaultMode };
}

const TARGET_KINDS = [
  ['eventing.knative.dev', 'Broker'],
  ['messaging.knative.dev', 'Channel'],
  ['messaging.knative.dev', 'InMemoryChannel'],
  ['messaging.knative.dev', 'KafkaChannel'],
  ['eventing.knative.dev', 'KafkaSink'],
] as const;

/**
 * computeContract's sender-auth pass: every EventPolicy's status, every target's status, each route's
 * `auth`; returns the contract's `senderTrust` (undefined while authentication is off).
 */
export function applySenderAuth(
  inputs: readonly ContractInput[],
  options: Pick<ComputeContractOptions, 'senderAuth' | 'values'>,
  brokers: BrokerRoute[],
  channels: ChannelRoute[],
  kafkaSinks: KafkaSinkRoute[],
  statuses: Map<string, ResourceStatus>,
): SenderTrust | undefined {
  const plan = planSenderAuth(inputs, options.senderAuth ?? {}, options.values ?? {}, statuses);
  const routes = new Map<string, { auth?: IngressAuth }>();
  for (const r of brokers) routes.set(resourceKey('Broker', r.namespace, r.name), r);
  for (const r of channels) routes.set(resourceKey(r.kind, r.namespace, r.name), r);
  for (const r of kafkaSinks) routes.set(resourceKey('KafkaSink', r.namespace, r.name), r);
  for (const [group, kind] of TARGET_KINDS) {
    for (const entry of collectEntries<unknown>(inputs, group, kind).values()) {
      const key = resourceKey(kind, entry.namespace, entry.name);
      const target = {
        group,
        kind,
        namespace: entry.namespace,
        name: entry.name,
        labels: entry.metadata.labels ?? {},
      };
      const auth = targetAuth(plan, target, statuses.get(key));
      const route = routes.get(key);
      if (route && auth) route.auth = auth;
    }
  }
  return plan.trust;
}
