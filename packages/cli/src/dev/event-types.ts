// The event registry in the reconcile loop: what the ingresses observed (the in-process data plane's
// recorder, or the `eddy ingress` processes' feed reports) becomes EventTypes when auto-create is on
// (@eddy/broker's eventTypesToCreate, stored as owned by their Broker or channel) and the discovery
// annotations of every EventType that matches (eventTypeStatuses).

import { resourceKey } from '@eddy/api';
import {
  autoCreateFromFeatures,
  type EventTypeStatus,
  eventTypeStatuses,
  eventTypesToCreate,
  type IngressStatusReport,
  mergeObservations,
  type ObservedEventType,
} from '@eddy/broker';
import type { MemberState } from '@eddy/runtime';
import type { ResourceInput, ResourceStore } from './resource-store.js';

export interface EventTypeDiscoveryOptions {
  /** What each ingress observed (one list per ingress), rates as of now. */
  observations(): readonly (readonly ObservedEventType[])[];
  /** `--eventtype-auto-create`; Knative's config-features ConfigMap can turn it on too. */
  autoCreate: boolean;
  /** How often the observations are checked for new events; default 1 s. */
  pollMs?: number;
  /** While any rate is above zero, how often statuses are refreshed anyway (rates fall off); default 10 s. */
  refreshMs?: number;
}

/** The observations of the ingress processes following a feed (their status reports). */
export function feedObservations(members: readonly MemberState[]): ObservedEventType[][] {
  const out: ObservedEventType[][] = [];
  for (const m of members) {
    const eventTypes = (m.status as Partial<IngressStatusReport> | undefined)?.eventTypes;
    if (Array.isArray(eventTypes)) out.push(eventTypes);
  }
  return out;
}

/** Tells the reconcile loop when the ingresses saw new events (checked every `pollMs`). */
export class EventTypeDiscovery {
  readonly autoCreate: boolean;
  readonly #o: EventTypeDiscoveryOptions;
  readonly #listeners = new Set<() => void>();
  readonly #timer: NodeJS.Timeout;
  #signature = -1;
  #refreshedAt = 0;
  #moving = false;

  constructor(options: EventTypeDiscoveryOptions) {
    this.#o = options;
    this.autoCreate = options.autoCreate;
    this.#timer = setInterval(() => this.#check(), options.pollMs ?? 1000);
    this.#timer.unref();
  }

  /** Every ingress's observations as one. */
  observed(): ObservedEventType[] {
    return mergeObservations(this.#o.observations());
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#listeners.clear();
  }

  #check(): void {
    const observed = this.observed();
    let signature = observed.length;
    for (const o of observed) signature += o.count;
    const now = Date.now();
    const stale = this.#moving && now - this.#refreshedAt >= (this.#o.refreshMs ?? 10_000);
    if (signature === this.#signature && !stale) return;
    this.#signature = signature;
    this.#refreshedAt = now;
    this.#moving = observed.some((o) => o.rate > 0);
    for (const listener of [...this.#listeners]) listener();
  }
}

/**
 * One reconcile pass of the registry: stores the EventTypes auto-create makes (when it is on) and
 * returns every EventType's status. New ones get theirs in the next pass (storing them schedules one).
 */
export function reconcileEventTypes(
  store: ResourceStore,
  inputs: Parameters<typeof eventTypeStatuses>[0],
  discovery: EventTypeDiscovery | undefined,
): Map<string, EventTypeStatus> {
  const observed = discovery?.observed() ?? [];
  const autoCreate = discovery?.autoCreate === true || autoCreateFromFeatures(inputs) === true;
  if (autoCreate && observed.length > 0) {
    const byOwner = new Map<string, ResourceInput[]>();
    for (const et of eventTypesToCreate(observed, inputs)) {
      const owner = (et.resource as { metadata: { ownerReferences: { kind: string; name: string }[] } })
        .metadata.ownerReferences[0];
      if (!owner) continue;
      const key = resourceKey(owner.kind, et.namespace, owner.name);
      byOwner.set(key, [...(byOwner.get(key) ?? []), et]);
    }
    for (const [owner, list] of byOwner) store.upsertAll(list, { type: 'owner', owner });
  }
  return eventTypeStatuses(inputs, observed);
}
