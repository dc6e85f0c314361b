// Knative-style status of the eventing resources, as the control plane computes it together with the
// contract. `lastTransitionTime` is left to the caller (computeContract is pure and has no clock): it
// compares with the previous status and stamps conditions whose status changed.

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  /** CamelCase, machine-readable (`BrokerDoesNotExist`); absent on a plain True. */
  reason?: string;
  message?: string;
}

/** Knative's duck Addressable: `name` is `http` or `https` when TLS is on. */
export interface StatusAddress {
  name?: string;
  url: string;
  CACerts?: string;
  /** The OIDC audience of tokens for it, when authentication is on (Knative's `audience`). */
  audience?: string;
}

/** The parts of Knative's status Eddy fills for Broker, Trigger, channels and Subscription. */
export interface ResourceStatus {
  /** The `metadata.generation` this status was computed from (1 when the resource carries none). */
  observedGeneration: number;
  /** Sorted by type, as Knative stores them; always contains `Ready`. */
  conditions: Condition[];
  /** Broker, channels, KafkaSink: the Ready EventPolicies that apply (Knative's AppliedEventPolicyRef). */
  policies?: { apiVersion: string; name: string }[];
  /** EventPolicy: the subjects it allows, resolved. */
  from?: string[];
  /** Trigger (Knative's fields): the subscriber's and dead-letter sink's OIDC audience. */
  subscriberAudience?: string;
  deadLetterSinkAudience?: string;
  /** Senders (Triggers, Subscriptions, sources) when authentication is on: the identity their tokens carry. */
  auth?: { serviceAccountName: string };
  /** Broker and channels: where to send events (`CACerts`: the PEM that verifies an https one). */
  address?: StatusAddress;
  /** With TLS on (Knative's transport-encryption): every address, https first; permissive adds http. */
  addresses?: StatusAddress[];
  /** Trigger: the resolved subscriber. */
  subscriberUri?: string;
  /** Broker, Trigger, channels: the resolved dead-letter sink of the delivery that applies. */
  deadLetterSinkUri?: string;
  /** Subscription (Knative's field name): the resolved subscriber, reply and dead-letter sink. */
  physicalSubscription?: {
    subscriberUri?: string;
    subscriberAudience?: string;
    replyUri?: string;
    replyAudience?: string;
    deadLetterSinkUri?: string;
    deadLetterSinkAudience?: string;
  };
  /** Sequence (Knative's field names): each step's channel and subscription, in step order. */
  channelStatuses?: FlowChildStatus<'channel'>[];
  subscriptionStatuses?: FlowChildStatus<'subscription'>[];
  /** Parallel: its ingress channel, and per branch its filter subscription, channel and subscription. */
  ingressChannelStatus?: FlowChildStatus<'channel'>;
  branchStatuses?: {
    filterSubscriptionStatus: FlowChildStatus<'subscription'>;
    filterChannelStatus: FlowChildStatus<'channel'>;
    subscriberSubscriptionStatus: FlowChildStatus<'subscription'>;
  }[];
}

/** A flow's child as Knative's flow statuses show it: an object reference and its Ready condition. */
export type FlowChildStatus<Field extends 'channel' | 'subscription'> = {
  [F in Field]: { apiVersion: string; kind: string; namespace: string; name: string };
} & { ready: Condition };

/** Key of `statuses`: `<Kind>/<namespace>/<name>`, e.g. `Trigger/default/orders-to-display`. */
export function resourceKey(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export function readyCondition(status: ResourceStatus): Condition | undefined {
  return status.conditions.find((c) => c.type === 'Ready');
}

export function isReady(status: ResourceStatus | undefined): boolean {
  return status !== undefined && readyCondition(status)?.status === 'True';
}

/**
 * Collects a resource's dependent conditions and derives `Ready` the way Knative's living condition
 * sets do: the first False (in the order the kind declares its conditions) makes Ready False with
 * that reason and message, else the first Unknown makes it Unknown, else it is True.
 */
export class ConditionSet {
  readonly #order: readonly string[];
  readonly #conditions = new Map<string, Condition>();

  constructor(order: readonly string[]) {
    this.#order = order;
  }

  markTrue(type: string, reason?: string, message?: string): void {
    this.#set({ type, status: 'True', ...(reason ? { reason } : {}), ...(message ? { message } : {}) });
  }

  markFalse(type: string, reason: string, message: string): void {
    this.#set({ type, status: 'False', reason, message });
  }

  markUnknown(type: string, reason: string, message: string): void {
    this.#set({ type, status: 'Unknown', reason, message });
  }

  /** Copies another resource's Ready into `type` (a Trigger's BrokerReady from its Broker). */
  propagate(type: string, from: Condition | undefined, fallbackReason: string): void {
    if (!from) this.markUnknown(type, fallbackReason, 'not reconciled yet');
    else if (from.status === 'True') this.markTrue(type);
    else if (from.status === 'False')
      this.markFalse(type, from.reason ?? fallbackReason, from.message ?? 'not ready');
    else this.markUnknown(type, from.reason ?? fallbackReason, from.message ?? 'not ready');
  }

  isFalse(type: string): boolean {
    return this.#conditions.get(type)?.status === 'False';
  }

  get ready(): boolean {
    return this.#ready().status === 'True';
  }

  conditions(): Condition[] {
    return [...this.#conditions.values(), this.#ready()].sort((a, b) =>
      a.type < b.type ? -1 : a.type > b.type ? 1 : 0,
    );
  }

  #set(c: Condition): void {
    this.#conditions.set(c.type, c);
  }

  #ready(): Condition {
    const ordered = this.#order.map((t) => this.#conditions.get(t));
    const firstFalse = ordered.find((c) => c?.status === 'False');
    if (firstFalse) return { ...firstFalse, type: 'Ready' };
    const missing = this.#order.find((t) => !this.#conditions.has(t));
    if (missing)
      return { type: 'Ready', status: 'Unknown', reason: 'NotReconciled', message: `${missing} unknown` };
    const firstUnknown = ordered.find((c) => c?.status === 'Unknown');
    if (firstUnknown) return { ...firstUnknown, type: 'Ready' };
    return { type: 'Ready', status: 'True' };
  }
}

export interface TimedCondition extends Condition {
  /** RFC 3339; kept from the previous status while the condition's status does not change. */
  lastTransitionTime: string;
}

/**
 * Stamps `lastTransitionTime` as Kubernetes does: a condition whose status is the same as in `previous`
 * keeps its time, any other gets `now`. For the caller that stores statuses (computeContract has no clock).
 */
export function withTransitionTimes(
  next: ResourceStatus,
  previous: { conditions: readonly (Condition & { lastTransitionTime?: string })[] } | undefined,
  now: Date,
): Omit<ResourceStatus, 'conditions'> & { conditions: TimedCondition[] } {
  const stamp = now.toISOString();
  const conditions = next.conditions.map((c): TimedCondition => {
    const before = previous?.conditions.find((p) => p.type === c.type);
    const kept = before && before.status === c.status ? before.lastTransitionTime : undefined;
    return { ...c, lastTransitionTime: kept ?? stamp };
  });
  return { ...next, conditions };
}

/** The status of a kind Eddy validates but does not run here: Deployed (hence Ready) False. */
export function notRunStatus(generation: number, reason: string, message: string): ResourceStatus {
  const set = new ConditionSet(['Deployed']);
  set.markFalse('Deployed', reason, message);
  return { observedGeneration: generation, conditions: set.conditions() };
}
