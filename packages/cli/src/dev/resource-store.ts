// The store the reconcile loop (reconciler.ts) runs against: what it reads (resources, Secret and
// ConfigMap values, change notifications), what it writes (statuses, the serving reconciler's
// children) and where it records events. `eddy dev` implements it with a JSON file in the data dir
// (FileResourceStore); a Kubernetes controller would implement it over the API server: informers for
// the reads and onChange, create/patch/delete of owned objects for the children, the status
// subresource for setStatus, Events for recordEvent, and a flush that does nothing.
//
// Keys are @eddy/api's resourceKey: `<Kind>/<namespace>/<name>`.

import type { ContractInput, ValueStore } from '@eddy/api';
import type { DescribeEvent, StoredResource } from '../admin/protocol.js';

/**
 * Where a resource came from; a file's resources follow the file, an owner's are deleted with it. A
 * file's directory, or `dir` of an admin API apply (the client's, for stdin), is what the relative
 * paths of its containers were resolved against. (On Kubernetes, `owner` is the object's controller
 * ownerReference.)
 */
export type ResourceOrigin =
  | { type: 'file'; file: string }
  | { type: 'api'; dir?: string }
  | { type: 'owner'; owner: string };

export interface StoreEntry {
  /** resourceKey(kind, namespace, name). */
  key: string;
  origin: ResourceOrigin;
  /** The object with the server-set metadata (generation, creationTimestamp) and its status. */
  resource: StoredResource;
}

export type UpsertAction = 'created' | 'configured' | 'unchanged';

export interface ResourceInput {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  /** The whole object (apiVersion, kind, metadata, spec, ...); status and server-set metadata are ignored. */
  resource: Record<string, unknown>;
}

export interface StoreChange {
  key: string;
  action: UpsertAction | 'deleted';
}

/** An event on a resource, as `eddy describe` (or `kubectl describe`) shows it. */
export type StoreEvent = Omit<DescribeEvent, 'time'> & { time?: string };

/** What the reconcile loop needs from the place resources live. */
export interface ResourceStore {
  // Reading.
  /** Every resource, as the reconcilers take them (computeContract, reconcileServing, source planning). */
  contractInputs(): ContractInput[];
  /** The stored resources with key, origin and status, sorted by key; `kind` matches case-insensitively. */
  list(filter?: { kind?: string }): StoreEntry[];
  get(key: string): StoreEntry | undefined;
  /** Secret values and ConfigMap data, for `secretKeyRef` / `configMapKeyRef`. */
  readonly values: ValueStore;
  /**
   * Calls `listener` after resources change (not statuses), with what changed; returns the way to
   * stop. The loop reconciles again on every call.
   */
  onChange(listener: (changes: StoreChange[]) => void): () => void;

  // Writing: the serving reconciler's children, and statuses.
  /**
   * Creates or updates resources as one change; metadata.generation moves when anything but metadata
   * and status changed. Children are upserted with `{ type: 'owner', owner: <owner's key> }`.
   */
  upsertAll(
    inputs: readonly ResourceInput[],
    origin: ResourceOrigin,
  ): { key: string; action: UpsertAction }[];
  /** Deletes resources and everything they own; returns the keys that existed. */
  deleteAll(keys: readonly string[]): string[];
  /** Replaces a resource's status (not a change for onChange). */
  setStatus(key: string, status: StoredResource['status'] | undefined): void;
  /** Makes the statuses set since the last flush durable (the loop calls it once per pass). */
  flush(): void;

  // Events.
  recordEvent(key: string, event: StoreEvent): void;
}
