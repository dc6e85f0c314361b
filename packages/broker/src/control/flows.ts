// Sequence and Parallel (flows.knative.dev/v1) as Knative builds them: compositions of Channels and
// Subscriptions, so they run through the same contract and data plane as any channel. Pure: from a
// flow to the children that should exist (each owned by the flow), named as Knative names them, so a
// user who knows Knative finds the same objects.
//
// Sequence `s`: a channel `s-kn-sequence-<i>` per step, and a subscription `s-kn-sequence-<i>` from
// it to step i whose reply is channel i+1 (the last step's is the Sequence's reply). The Sequence's
// address is channel 0's.
//
// Parallel `p`: an ingress channel `p-kn-parallel`; per branch i a channel `p-kn-parallel-<i>`, a
// filter subscription `p-kn-parallel-filter-<i>` from the ingress channel to the branch's filter with
// its reply into the branch channel, and a subscription `p-kn-parallel-<i>` from the branch channel to
// the branch's subscriber, replying to the branch's reply, else the Parallel's. A branch without a
// filter passes every event: its filter subscription delivers straight into the branch channel.

import type { ChannelTemplate, ContractInput, Parallel, Sequence } from '@eddy/api';

const FLOWS_API_VERSION = 'flows.knative.dev/v1';
const MESSAGING_API_VERSION = 'messaging.knative.dev/v1';
/** Knative's default channel when a flow has no channelTemplate. */
const DEFAULT_CHANNEL: ChannelTemplate = { apiVersion: MESSAGING_API_VERSION, kind: 'InMemoryChannel' };

export interface Flow<S> {
  namespace: string;
  name: string;
  spec: S;
}

type Destination = NonNullable<Sequence['spec']['reply']>;

function owned(flowKind: 'Sequence' | 'Parallel', flow: Flow<unknown>) {
  return [
    {
      apiVersion: FLOWS_API_VERSION,
      kind: flowKind,
      name: flow.name,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

function channel(
  flowKind: 'Sequence' | 'Parallel',
  flow: Flow<unknown>,
  name: string,
  template: ChannelTemplate,
): ContractInput {
  return {
    apiVersion: template.apiVersion,
    kind: template.kind,
    namespace: flow.namespace,
    name,
    resource: {
      apiVersion: template.apiVersion,
      kind: template.kind,
      metadata: { name, namespace: flow.namespace, ownerReferences: owned(flowKind, flow) },
      ...(template.spec ? { spec: template.spec } : {}),
    },
  };
}

const channelRef = (template: ChannelTemplate, name: string) => ({
  ref: { apiVersion: template.apiVersion, kind: template.kind, name },
});

function subscription(
  flowKind: 'Sequence' | 'Parallel',
  flow: Flow<unknown>,
  name: string,
  spec: {
    channel: { apiVersion: string; kind: string; name: string };
    subscriber: Destination;
    reply?: Destination | undefined;
    delivery?: unknown;
  },
): ContractInput {
  const { reply, delivery, ...rest } = spec;
  return {
    apiVersion: MESSAGING_API_VERSION,
    kind: 'Subscription',
    namespace: flow.namespace,
    name,
    resource: {
      apiVersion: MESSAGING_API_VERSION,
      kind: 'Subscription',
      metadata: { name, namespace: flow.namespace, ownerReferences: owned(flowKind, flow) },
      spec: { ...rest, ...(reply ? { reply } : {}), ...(delivery ? { delivery } : {}) },
    },
  };
}

export const sequenceChannelName = (sequence: string, step: number) => `${sequence}-kn-sequence-${step}`;

/** The Channels and Subscriptions a Sequence is made of, in step order. */
export function sequenceChildren(flow: Flow<Sequence['spec']>): ContractInput[] {
  const template = flow.spec.channelTemplate ?? DEFAULT_CHANNEL;
  const children: ContractInput[] = [];
  const steps = flow.spec.steps;
  for (const [i, step] of steps.entries()) {
    const name = sequenceChannelName(flow.name, i);
    children.push(channel('Sequence', flow, name, template));
    const { delivery, ...destination } = step;
    const reply =
      i + 1 < steps.length ? channelRef(template, sequenceChannelName(flow.name, i + 1)) : flow.spec.reply;
    children.push(
      subscription('Sequence', flow, name, {
        channel: { apiVersion: template.apiVersion, kind: template.kind, name },
        subscriber: destination,
        reply,
        delivery,
      }),
    );
  }
  return children;
}

export const parallelIngressName = (parallel: string) => `${parallel}-kn-parallel`;
export const parallelBranchName = (parallel: string, branch: number) => `${parallel}-kn-parallel-${branch}`;
export const parallelFilterName = (parallel: string, branch: number) =>
  `${parallel}-kn-parallel-filter-${branch}`;

/** The Channels and Subscriptions a Parallel is made of: its ingress channel, then branch by branch. */
export function parallelChildren(flow: Flow<Parallel['spec']>): ContractInput[] {
  const template = flow.spec.channelTemplate ?? DEFAULT_CHANNEL;
  const ingress = parallelIngressName(flow.name);
  const children: ContractInput[] = [channel('Parallel', flow, ingress, template)];
  for (const [i, branch] of flow.spec.branches.entries()) {
    const branchChannel = parallelBranchName(flow.name, i);
    children.push(channel('Parallel', flow, branchChannel, template));
    const intoBranch = channelRef(template, branchChannel);
    children.push(
      subscription('Parallel', flow, parallelFilterName(flow.name, i), {
        channel: { apiVersion: template.apiVersion, kind: template.kind, name: ingress },
        // No filter: every event goes on; the branch channel is the subscriber and nothing replies.
        subscriber: branch.filter ?? intoBranch,
        reply: branch.filter ? intoBranch : undefined,
        delivery: branch.delivery,
      }),
      subscription('Parallel', flow, branchChannel, {
        channel: { apiVersion: template.apiVersion, kind: template.kind, name: branchChannel },
        subscriber: branch.subscriber,
        reply: branch.reply ?? flow.spec.reply,
        delivery: branch.delivery,
      }),
    );
  }
  return children;
}
