// What every reconciler (eventing, serving, sources) does first: take one kind of the applied
// resources, indexed by namespace/name, with the generation Knative's API server would have set.

import type { LoadedResource } from '../resources/load.js';
import { parseApiVersion } from '../resources/names.js';
import { namespacedKey } from './namespaced-name.js';

/** A resource as the reconcilers receive it (from files, the admin API, or Kubernetes). */
export type ContractInput = Pick<LoadedResource, 'apiVersion' | 'kind' | 'namespace' | 'name' | 'resource'>;

/** The metadata the reconcilers read. */
export interface EntryMetadata {
  name?: string;
  namespace?: string;
  generation?: number;
  uid?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: unknown[];
}

/** One resource of the collected kind. */
export interface ResourceEntry<T> {
  namespace: string;
  name: string;
  resource: T;
  metadata: EntryMetadata;
  /** metadata.generation, 1 when absent (a resource not yet stored has generation 1). */
  generation: number;
  /** The status stored with the resource by an earlier pass, if any. */
  status?: unknown;
}

/** The API group of an apiVersion: `serving.knative.dev` for `serving.knative.dev/v1`, `` for `v1`. */
export function groupOf(apiVersion: string): string {
  return parseApiVersion(apiVersion)?.group ?? '';
}

export function generationOf(metadata: { generation?: unknown } | undefined): number {
  const g = metadata?.generation;
  return typeof g === 'number' && Number.isSafeInteger(g) && g > 0 ? g : 1;
}

/**
 * The resources of `kind` in API `group`, by `namespace/name` (namespacedKey); a later duplicate
 * replaces an earlier one, as the loader warns.
 */
export function collectEntries<T>(
  resources: readonly ContractInput[],
  group: string,
  kind: string,
): Map<string, ResourceEntry<T>> {
  const out = new Map<string, ResourceEntry<T>>();
  for (const r of resources) {
    if (r.kind !== kind || groupOf(r.apiVersion) !== group) continue;
    const object = r.resource as { metadata?: EntryMetadata; status?: unknown };
    const metadata = object.metadata ?? {};
    const entry: ResourceEntry<T> = {
      namespace: r.namespace,
      name: r.name,
      resource: r.resource as T,
      metadata,
      generation: generationOf(metadata),
    };
    if (object.status !== undefined && object.status !== null && typeof object.status === 'object')
      entry.status = object.status;
    out.set(namespacedKey(r.namespace, r.name), entry);
  }
  return out;
}
