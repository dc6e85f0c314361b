// The serving reconciler run to a fixpoint against the store. It is pure and takes one step per pass
// (Service -> Configuration and Route; Configuration -> Revision), so the loop writes the children each
// pass asks for and runs it again until nothing changes. Each child is stored as owned by the object
// that asked for it, so deleting the owner deletes it; owned children no longer asked for are deleted,
// except Revisions (history and numbering; revision-gc.ts bounds them).

import {
  type ContractInput,
  groupOf,
  namespacedKey,
  resourceKey,
  type ServingContract,
  type ValueLookupOptions,
} from '@eddy/api';
import type { ReconcileServingResult } from '@eddy/serving';
import type { StoredResource } from '../admin/protocol.js';
import type { ServingComponents } from './reconciler.js';
import type { ResourceInput, ResourceStore } from './resource-store.js';

const SERVING_GROUP = 'serving.knative.dev';
/** A new Service settles in three passes; more means the children keep changing. */
const MAX_SERVING_PASSES = 5;

const SERVING_OWNER_KINDS = new Set(['Service', 'Configuration', 'Route']);
const isServingKind = (kind: string) => SERVING_OWNER_KINDS.has(kind);

/** The resources the serving reconciler owns (serving.knative.dev). */
export const isServingResource = (r: { apiVersion: string }): boolean =>
  groupOf(r.apiVersion) === SERVING_GROUP;

export interface ServingChildrenInput {
  /** The serving resources as the reconciler sees them; read again every pass. */
  resources(): ContractInput[];
  /** Where env `secretKeyRef` / `configMapKeyRef` values come from. */
  values: ValueLookupOptions;
  /** The contract of the last pass (contract generations move only when the content does). */
  previous: ServingContract | undefined;
  /** Called with every pass's contract, the next reconcile's `previous`. */
  onContract(contract: ServingContract): void;
}

/** Runs reconcileServing until its children stop changing the store; the last pass's result. */
export function reconcileServingChildren(
  store: ResourceStore,
  serving: ServingComponents,
  input: ServingChildrenInput,
): ReconcileServingResult | undefined {
  let result: ReconcileServingResult | undefined;
  let previous = input.previous;
  for (let pass = 0; pass < MAX_SERVING_PASSES; pass++) {
    const resources = input.resources();
    const runtime = new Map(serving.plane.statuses().map((s) => [namespacedKey(s.namespace, s.name), s]));
    result = serving.reconcile({
      resources,
      runtime,
      routeUrl: (ns, name) => serving.plane.routeUrl(ns, name),
      tagUrl: (ns, name, tag) => serving.plane.tagUrl(ns, name, tag),
      values: input.values,
      ...(previous ? { previous } : {}),
    });
    previous = result.contract;
    input.onContract(result.contract);
    if (!writeChildren(store, result.children)) break;
  }
  return result;
}

/**
 * Upserts the children by owner and deletes the owned ones no longer listed whose owner `owns` says is
 * this reconciler's (serving's children must not delete the flows' and the other way round); whether
 * the store changed.
 */
export function writeChildren(
  store: ResourceStore,
  children: readonly ResourceInput[],
  owns: (ownerKind: string) => boolean = isServingKind,
): boolean {
  const byOwner = new Map<string, ResourceInput[]>();
  for (const child of children) {
    const owner = (child.resource as unknown as StoredResource).metadata.ownerReferences?.[0];
    const ownerKey = owner ? resourceKey(owner.kind, child.namespace, owner.name) : '';
    const list = byOwner.get(ownerKey) ?? [];
    list.push(child);
    byOwner.set(ownerKey, list);
  }
  let changed = false;
  for (const [owner, list] of byOwner) {
    const results = store.upsertAll(list, owner ? { type: 'owner', owner } : { type: 'api' });
    if (results.some((r) => r.action !== 'unchanged')) changed = true;
  }
  const listed = new Set(children.map((c) => resourceKey(c.kind, c.namespace, c.name)));
  const stale = store
    .list()
    .filter(
      (e) =>
        e.origin.type === 'owner' &&
        owns(e.origin.owner.split('/')[0] ?? '') &&
        e.resource.kind !== 'Revision' &&
        !listed.has(e.key),
    )
    .map((e) => e.key);
  if (stale.length > 0) {
    store.deleteAll(stale);
    changed = true;
  }
  return changed;
}
