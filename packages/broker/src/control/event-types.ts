// The event registry's control side, pure: each EventType's status (Knative's ReferenceExists, and
// the discovery data of the events that match it), and the EventTypes Knative's auto-create feature
// would make of what the ingresses observed.
//
// Auto-create follows Knative's handler (pkg/eventtype): one EventType per (addressable, type,
// source), named `et-<addressable>-<md5 of type, source, namespace and name>`, owned by the Broker or
// channel (so it goes with it), its reference that addressable, attributes type, source, schemadata
// (the dataschema, Knative's name), specversion and id, all required. It is on when the
// `eventtype-auto-create` flag of Knative's config-features ConfigMap (namespace knative-eventing)
// is `enabled`, or when the host says so (`eddy dev --eventtype-auto-create`).
//
// The discovery data is Eddy's: the first and last time an accepted event matched, how many, and
// events/s over the last minute, in the status's `annotations` (the one free-form status field of
// Knative's EventType CRD), for applied and auto-created EventTypes alike.

import { createHash } from 'node:crypto';
import {
  ConditionSet,
  type ContractInput,
  type EventType,
  groupOf,
  type ResourceStatus,
  resourceKey,
} from '@eddy/api';
import type { ObservedEventType } from '../ingress/event-type-recorder.js';

export const EVENT_TYPE_API_VERSION = 'eventing.knative.dev/v1beta3';
/** Knative's feature flag, in config-features. */
export const EVENT_TYPE_AUTO_CREATE_FLAG = 'eventtype-auto-create';
export const FEATURES_CONFIG_MAP = { namespace: 'knative-eventing', name: 'config-features' } as const;
export const AUTO_CREATED_DESCRIPTION = 'Event Type auto-created by controller';

/** The status annotations holding the discovery data. */
export const SEEN_ANNOTATIONS = {
  firstSeen: 'eddy.dev/first-seen',
  lastSeen: 'eddy.dev/last-seen',
  events: 'eddy.dev/events',
  rate: 'eddy.dev/rate',
} as const;

const CHANNEL_KINDS = ['InMemoryChannel', 'KafkaChannel', 'Channel'] as const;
const EVENTING_GROUP = 'eventing.knative.dev';
const MESSAGING_GROUP = 'messaging.knative.dev';

/** An EventType's status: Knative's conditions plus Eddy's discovery annotations. */
export type EventTypeStatus = ResourceStatus & { annotations?: Record<string, string> };

/** True/false from config-features' `eventtype-auto-create`; undefined when it does not say. */
export function autoCreateFromFeatures(inputs: readonly ContractInput[]): boolean | undefined {
  const cm = inputs.find(
    (r) =>
      r.kind === 'ConfigMap' &&
      r.namespace === FEATURES_CONFIG_MAP.namespace &&
      r.name === FEATURES_CONFIG_MAP.name,
  );
  const value = (cm?.resource as { data?: Record<string, string> } | undefined)?.data?.[
    EVENT_TYPE_AUTO_CREATE_FLAG
  ];
  return value === undefined ? undefined : value.trim().toLowerCase() === 'enabled';
}

/** Knative's name for an auto-created EventType (generateEventTypeName, then ToDNS1123Subdomain). */
export function autoCreatedEventTypeName(
  addressable: string,
  namespace: string,
  type: string,
  source: string,
): string {
  const hash = createHash('md5').update(`${type}${source}${namespace}${addressable}`).digest('hex');
  const name = `et-${addressable}-${hash}`;
  if (name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) return name;
  return name
    .slice(0, 253 - 5)
    .toLowerCase()
    .replace(/[^-a-z0-9.]/g, '')
    .replace(/^[-.]+|[-.]+$/g, '');
}

/** The stored Broker or channel an observation's route is. */
export function observedAddressable(
  o: Pick<ObservedEventType, 'kind' | 'namespace' | 'name'>,
  inputs: readonly ContractInput[],
): ContractInput | undefined {
  const at = (kind: string, group: string) =>
    inputs.find(
      (r) =>
        r.kind === kind &&
        groupOf(r.apiVersion) === group &&
        r.namespace === o.namespace &&
        r.name === o.name,
    );
  if (o.kind === 'broker') return at('Broker', EVENTING_GROUP);
  for (const kind of CHANNEL_KINDS) {
    const found = at(kind, MESSAGING_GROUP);
    if (found) return found;
  }
  return undefined;
}

/** The observations of all ingresses as one: counts and rates added, the widest first/last seen. */
export function mergeObservations(all: readonly (readonly ObservedEventType[])[]): ObservedEventType[] {
  const merged = new Map<string, ObservedEventType>();
  for (const list of all)
    for (const o of list) {
      const key = JSON.stringify([o.kind, o.namespace, o.name, o.type, o.source, o.schema ?? '']);
      const before = merged.get(key);
      if (!before) {
        merged.set(key, { ...o });
        continue;
      }
      before.firstSeen = Math.min(before.firstSeen, o.firstSeen);
      before.lastSeen = Math.max(before.lastSeen, o.lastSeen);
      before.count += o.count;
      before.rate += o.rate;
    }
  return [...merged.values()];
}

/**
 * The EventTypes auto-create makes of `observed` that do not exist yet (by name, as Knative checks),
 * as the resources to store, each owned by its Broker or channel. Observations of an addressable
 * that is not stored (deleted since) make none.
 */
export function eventTypesToCreate(
  observed: readonly ObservedEventType[],
  inputs: readonly ContractInput[],
): ContractInput[] {
  const existing = new Set(
    inputs.filter((r) => r.kind === 'EventType').map((r) => resourceKey(r.kind, r.namespace, r.name)),
  );
  const out: ContractInput[] = [];
  for (const o of observed) {
    const addressable = observedAddressable(o, inputs);
    if (!addressable) continue;
    const name = autoCreatedEventTypeName(o.name, o.namespace, o.type, o.source);
    const key = resourceKey('EventType', o.namespace, name);
    if (existing.has(key)) continue;
    existing.add(key);
    const uid = (addressable.resource as { metadata?: { uid?: string } }).metadata?.uid;
    const spec: EventType['spec'] = {
      attributes: [
        { name: 'type', value: o.type, required: true },
        { name: 'source', value: o.source, required: true },
        { name: 'schemadata', value: o.schema ?? '', required: true },
        { name: 'specversion', value: o.specversion, required: true },
        { name: 'id', required: true },
      ],
      reference: {
        apiVersion: addressable.apiVersion,
        kind: addressable.kind,
        name: addressable.name,
        namespace: addressable.namespace,
      },
      description: AUTO_CREATED_DESCRIPTION,
    };
    out.push({
      apiVersion: EVENT_TYPE_API_VERSION,
      kind: 'EventType',
      namespace: o.namespace,
      name,
      resource: {
        apiVersion: EVENT_TYPE_API_VERSION,
        kind: 'EventType',
        metadata: {
          name,
          namespace: o.namespace,
          ownerReferences: [
            {
              apiVersion: addressable.apiVersion,
              kind: addressable.kind,
              name: addressable.name,
              ...(uid ? { uid } : {}),
            },
          ],
        },
        spec,
      },
    });
  }
  return out;
}

/** Matches an attribute's value, whose `{...}` parts stand for any text (Knative's templates). */
function valueMatcher(value: string): (actual: string | undefined) => boolean {
  if (!value.includes('{')) return (actual) => actual === value;
  const pattern = value
    .split(/\{[^}]*\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${pattern}$`, 's');
  return (actual) => actual !== undefined && re.test(actual);
}

/**
 * Whether observed events are of this EventType: they arrived at its reference, and its type, source
 * and dataschema (`dataschema` or Knative's `schemadata`) attributes, where they have a value, match.
 */
export function eventTypeMatcher(
  et: Pick<ContractInput, 'namespace'> & { spec: EventType['spec'] },
): (o: ObservedEventType) => boolean {
  const ref = et.spec.reference;
  if (!ref) return () => false;
  const refGroup = groupOf(ref.apiVersion);
  const kind: ObservedEventType['kind'] | undefined =
    ref.kind === 'Broker' && refGroup === EVENTING_GROUP
      ? 'broker'
      : (CHANNEL_KINDS as readonly string[]).includes(ref.kind) && refGroup === MESSAGING_GROUP
        ? 'channel'
        : undefined;
  if (!kind) return () => false;
  const namespace = ref.namespace || et.namespace;
  const checks: ((o: ObservedEventType) => boolean)[] = [];
  for (const a of et.spec.attributes ?? []) {
    if (!a.value) continue;
    const match = valueMatcher(a.value);
    if (a.name === 'type') checks.push((o) => match(o.type));
    else if (a.name === 'source') checks.push((o) => match(o.source));
    else if (a.name === 'dataschema' || a.name === 'schemadata') checks.push((o) => match(o.schema));
  }
  return (o) =>
    o.kind === kind && o.namespace === namespace && o.name === ref.name && checks.every((check) => check(o));
}

/** Events/s as the annotation shows it: two decimals, at least one significant digit when not zero. */
export function formatRate(rate: number): string {
  if (rate <= 0) return '0';
  return rate >= 0.01 ? rate.toFixed(2) : rate.toPrecision(1);
}

/**
 * Every EventType's status: ReferenceExists (True when the reference is a stored resource or there
 * is none, reason ReferenceNotSet; False, ResourceDoesNotExist, naming it, otherwise) and, when
 * events matched it, the discovery annotations.
 */
export function eventTypeStatuses(
  inputs: readonly ContractInput[],
  observed: readonly ObservedEventType[],
): Map<string, EventTypeStatus> {
  const stored = new Set(
    inputs.map((r) => JSON.stringify([groupOf(r.apiVersion), r.kind, r.namespace, r.name])),
  );
  const out = new Map<string, EventTypeStatus>();
  for (const r of inputs) {
    if (r.kind !== 'EventType' || groupOf(r.apiVersion) !== EVENTING_GROUP) continue;
    const et = r.resource as unknown as EventType;
    const conditions = new ConditionSet(['ReferenceExists']);
    const ref = et.spec.reference;
    if (!ref || (!ref.kind && !ref.name && !ref.apiVersion)) {
      conditions.markTrue('ReferenceExists', 'ReferenceNotSet', 'spec.reference is not set');
    } else {
      const namespace = ref.namespace || r.namespace;
      if (stored.has(JSON.stringify([groupOf(ref.apiVersion), ref.kind, namespace, ref.name])))
        conditions.markTrue('ReferenceExists');
      else
        conditions.markFalse(
          'ReferenceExists',
          'ResourceDoesNotExist',
          `spec.reference: ${ref.kind} ${namespace}/${ref.name} (${ref.apiVersion}) does not exist`,
        );
    }
    const status: EventTypeStatus = {
      observedGeneration: et.metadata.generation ?? 1,
      conditions: conditions.conditions(),
    };
    const seen = seenOf(observed.filter(eventTypeMatcher({ namespace: r.namespace, spec: et.spec })));
    if (seen) status.annotations = seen;
    out.set(resourceKey(r.kind, r.namespace, r.name), status);
  }
  return out;
}

function seenOf(matches: readonly ObservedEventType[]): Record<string, string> | undefined {
  if (matches.length === 0) return undefined;
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  let count = 0;
  let rate = 0;
  for (const o of matches) {
    first = Math.min(first, o.firstSeen);
    last = Math.max(last, o.lastSeen);
    count += o.count;
    rate += o.rate;
  }
  return {
    [SEEN_ANNOTATIONS.firstSeen]: new Date(first).toISOString(),
    [SEEN_ANNOTATIONS.lastSeen]: new Date(last).toISOString(),
    [SEEN_ANNOTATIONS.events]: String(count),
    [SEEN_ANNOTATIONS.rate]: formatRate(rate),
  };
}
