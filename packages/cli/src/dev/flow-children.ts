// Sequences and Parallels become the Channels and Subscriptions they are made of (@eddy/broker's
// sequenceChildren / parallelChildren), stored as owned by the flow so the broker's contract runs
// them like any channel and deleting the flow deletes them. WIP (issue 16): statuses next.

import { type ContractInput, groupOf, type Parallel, type Sequence } from '@eddy/api';
import { parallelChildren, sequenceChildren } from '@eddy/broker';
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
