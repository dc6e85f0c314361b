// Sequences and Parallels become the Channels and Subscriptions they are made of (@eddy/broker's
// sequenceChildren / parallelChildren), stored as owned by the flow so the broker's contract runs
// them like any channel and deleting the flow deletes them; their status is made of the children's
// (Knative's channelStatuses/subscriptionStatuses, ingressChannelStatus/branchStatuses).

import {
  type ContractInput,
  groupOf,
  type Parallel,
  type ResourceStatus,
  resourceKey,
  type Sequence,
} from '@eddy/api';
import { parallelChildren, parallelStatus, sequenceChildren, sequenceStatus } from '@eddy/broker';
import { writeChildren } from './reconcile-children.js';
import type { ResourceStore } from './resource-store.js';

const FLOWS_GROUP = 'flows.knative.dev';
const FLOW_KINDS = new Set(['Sequence', 'Parallel']);

export const isFlowResource = (r: { apiVersion: string; kind: string }): boolean =>
  groupOf(r.apiVersion) === FLOWS_GROUP && FLOW_KINDS.has(r.kind);

/** Writes every flow's children; whether the store changed. */
export function reconcileFlowChildren(store: ResourceStore, inputs: readonly ContractInput[]): boolean {
  const children: ContractInput[] = [];
  for (const r of inputs) {
    if (!isFlowResource(r)) continue;
    const flow = { namespace: r.namespace, name: r.name };
    if (r.kind === 'Sequence')
      children.push(...sequenceChildren({ ...flow, spec: (r.resource as unknown as Sequence).spec }));
    else children.push(...parallelChildren({ ...flow, spec: (r.resource as unknown as Parallel).spec }));
  }
  return writeChildren(store, children, (ownerKind) => FLOW_KINDS.has(ownerKind));
}

/** Each flow's status from its children's (@eddy/broker's sequenceStatus / parallelStatus). */
export function flowStatuses(
  inputs: readonly ContractInput[],
  children: ReadonlyMap<string, ResourceStatus>,
): Map<string, ResourceStatus> {
  const out = new Map<string, ResourceStatus>();
  for (const r of inputs) {
    if (!isFlowResource(r)) continue;
    const flow = { namespace: r.namespace, name: r.name };
    const generation = (r.resource as { metadata?: { generation?: number } }).metadata?.generation ?? 1;
    out.set(
      resourceKey(r.kind, r.namespace, r.name),
      r.kind === 'Sequence'
        ? sequenceStatus({ ...flow, spec: (r.resource as unknown as Sequence).spec }, generation, children)
        : parallelStatus({ ...flow, spec: (r.resource as unknown as Parallel).spec }, generation, children),
    );
  }
  return out;
}
