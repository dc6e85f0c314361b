// Sequences and Parallels become the Channels and Subscriptions they are made of (@eddy/broker's
// sequenceChildren / parallelChildren), stored as owned by the flow so the broker's contract runs
// them like any channel and deleting the flow deletes them; their status is made of the children's.

import {
  type ContractInput,
  groupOf,
  type Parallel,
  type ResourceStatus,
  resourceKey,
  type Sequence,
} from '@eddy/api';
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

/**
 * Each flow's status from its children's: Ready when every channel and subscription is (else False,
 * naming the first that is not), the address of its first channel (a Sequence's step 0, a Parallel's
 * ingress), as Knative's Sequence and Parallel report them.
 */
export function flowStatuses(
  inputs: readonly ContractInput[],
  children: ReadonlyMap<string, ResourceStatus>,
): Map<string, ResourceStatus> {
  const out = new Map<string, ResourceStatus>();
  for (const r of inputs) {
    if (!isFlowResource(r)) continue;
    const flow = { namespace: r.namespace, name: r.name };
    const parts =
      r.kind === 'Sequence'
        ? sequenceChildren({ ...flow, spec: (r.resource as unknown as Sequence).spec })
        : parallelChildren({ ...flow, spec: (r.resource as unknown as Parallel).spec });
    const generation = (r.resource as { metadata?: { generation?: number } }).metadata?.generation ?? 1;
    let notReady: string | undefined;
    for (const part of parts) {
      const status = children.get(resourceKey(part.kind, part.namespace, part.name));
      const ready = status?.conditions.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') {
        notReady = `${part.kind} ${part.name} is not ready${ready?.message ? `: ${ready.message}` : ''}`;
        break;
      }
    }
    const [first] = parts;
    const address = first
      ? children.get(resourceKey(first.kind, first.namespace, first.name))?.address
      : undefined;
    out.set(resourceKey(r.kind, r.namespace, r.name), {
      observedGeneration: generation,
      conditions: [
        notReady
          ? { type: 'Ready', status: 'False', reason: 'ChildNotReady', message: notReady }
          : { type: 'Ready', status: 'True' },
      ],
      ...(address ? { address } : {}),
    });
  }
  return out;
}
