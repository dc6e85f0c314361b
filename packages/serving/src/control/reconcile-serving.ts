// The serving control plane as one pure function (like computeContract for eventing): Service,
// Configuration, Route and Revision resources plus the runtime's per-revision status in; the child
// resources to create or update (a Service's Configuration and Route, new Revisions), the
// ServingContract and every resource's Knative-style status out.

import type { ContractInput, ResourceStatus, ServingContract } from '@eddy/api';
import type { RevisionRuntimeStatus } from '../plane/serving-plane.js';

export interface ReconcileServingInput {
  /** Every serving.knative.dev resource in the store, including Revisions created earlier. */
  resources: ContractInput[];
  /** From the serving data plane; by `<namespace>/<revision>`. */
  runtime: ReadonlyMap<string, RevisionRuntimeStatus>;
  /** Addresses (the router's). */
  routeUrl(namespace: string, name: string): string;
  tagUrl(namespace: string, name: string, tag: string): string;
  previous?: ServingContract;
  /** Platform default for scale-to-zero-grace-period; default 30 000. */
  scaleToZeroGraceMs?: number;
}

/** Knative's Service/Route/Revision status fields on top of the common ones. */
export interface ServingResourceStatus extends ResourceStatus {
  url?: string;
  latestReadyRevisionName?: string;
  latestCreatedRevisionName?: string;
  traffic?: { revisionName: string; percent: number; tag?: string; latestRevision: boolean; url?: string }[];
  actualReplicas?: number;
  desiredReplicas?: number;
}

export interface ReconcileServingResult {
  /**
   * Child resources that should exist, as full objects with `metadata.ownerReferences` and the label
   * `serving.knative.dev/service|configuration`: a Service's Configuration and Route, and new Revisions.
   * The store upserts them (bumping metadata.generation when spec changes) and deletes owned children no
   * longer listed, except Revisions (immutable history; garbage-collected by the store's own policy).
   */
  children: ContractInput[];
  contract: ServingContract;
  /** By resourceKey(kind, namespace, name). */
  statuses: Map<string, ServingResourceStatus>;
}
