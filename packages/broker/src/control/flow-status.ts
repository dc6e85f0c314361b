// A Sequence's or Parallel's status from its children's, in Knative's shape: per-child statuses
// (an object reference and the child's Ready condition), the conditions ChannelsReady,
// SubscriptionsReady and Addressable, and Ready when all three are. Pure: the caller hands in the
// children's statuses by key.
//
// Knative judges a flow's channel by its address alone (a TODO in its lifecycle code); Eddy uses the
// channel's Ready condition, which implies the address and also catches a channel that has one but
// cannot run.

import {
  type Condition,
  type ContractInput,
  type FlowChildStatus,
  type Parallel,
  type ResourceStatus,
  resourceKey,
  type Sequence,
} from '@eddy/api';
import {
  type Flow,
  parallelBranchName,
  parallelChildren,
  parallelFilterName,
  parallelIngressName,
  sequenceChannelName,
  sequenceChildren,
} from './flows.js';

export type ChildStatuses = ReadonlyMap<string, ResourceStatus>;

const UNKNOWN: Condition = {
  type: 'Ready',
  status: 'Unknown',
  reason: 'NotReconciled',
  message: 'not run yet',
};

function childStatus<F extends 'channel' | 'subscription'>(
  field: F,
  child: ContractInput,
  statuses: ChildStatuses,
): FlowChildStatus<F> {
  const ref = {
    apiVersion: child.apiVersion,
    kind: child.kind,
    namespace: child.namespace,
    name: child.name,
  };
  const ready =
    statuses
      .get(resourceKey(child.kind, child.namespace, child.name))
      ?.conditions.find((c) => c.type === 'Ready') ?? UNKNOWN;
  return { [field]: ref, ready } as FlowChildStatus<F>;
}

const isTrue = (s: { ready: Condition }) => s.ready.status === 'True';

/** The first child of `all` that is not Ready, as "<Kind> <name> is not ready: <message>". */
function firstNotReady(all: readonly (FlowChildStatus<'channel'> | FlowChildStatus<'subscription'>)[]) {
  for (const s of all) {
    if (isTrue(s)) continue;
    const ref = 'channel' in s ? s.channel : s.subscription;
    return `${ref.kind} ${ref.name} is not ready${s.ready.message ? `: ${s.ready.message}` : ''}`;
  }
  return undefined;
}

/** ChannelsReady, SubscriptionsReady, Addressable and Ready, sorted by type. */
function flowConditions(
  channels: readonly FlowChildStatus<'channel'>[],
  subscriptions: readonly FlowChildStatus<'subscription'>[],
  address: { url: string } | undefined,
): Condition[] {
  const notReadyChannel = firstNotReady(channels);
  const notReadySubscription = firstNotReady(subscriptions);
  const parts: Condition[] = [
    address
      ? { type: 'Addressable', status: 'True' }
      : {
          type: 'Addressable',
          status: 'False',
          reason: 'EmptyAddress',
          message: 'its first channel has no address yet',
        },
    notReadyChannel
      ? { type: 'ChannelsReady', status: 'False', reason: 'ChannelsNotReady', message: notReadyChannel }
      : { type: 'ChannelsReady', status: 'True' },
    subscriptions.length === 0
      ? {
          type: 'SubscriptionsReady',
          status: 'False',
          reason: 'SubscriptionsNotReady',
          message: 'there are none',
        }
      : notReadySubscription
        ? {
            type: 'SubscriptionsReady',
            status: 'False',
            reason: 'SubscriptionsNotReady',
            message: notReadySubscription,
          }
        : { type: 'SubscriptionsReady', status: 'True' },
  ];
  const failing = parts.find((c) => c.status !== 'True');
  const ready: Condition = failing
    ? {
        type: 'Ready',
        status: failing.status,
        ...(failing.reason ? { reason: failing.reason } : {}),
        ...(failing.message ? { message: failing.message } : {}),
      }
    : { type: 'Ready', status: 'True' };
  return [...parts, ready].sort((a, b) => a.type.localeCompare(b.type));
}

const addressOf = (child: ContractInput | undefined, statuses: ChildStatuses) =>
  child ? statuses.get(resourceKey(child.kind, child.namespace, child.name))?.address : undefined;

const byName = (children: readonly ContractInput[], kind: 'channel' | 'subscription', name: string) =>
  children.find((c) => (kind === 'subscription') === (c.kind === 'Subscription') && c.name === name);

export function sequenceStatus(
  flow: Flow<Sequence['spec']>,
  generation: number,
  statuses: ChildStatuses,
): ResourceStatus {
  const children = sequenceChildren(flow);
  const channelStatuses: FlowChildStatus<'channel'>[] = [];
  const subscriptionStatuses: FlowChildStatus<'subscription'>[] = [];
  for (const i of flow.spec.steps.keys()) {
    const name = sequenceChannelName(flow.name, i);
    const ch = byName(children, 'channel', name);
    const sub = byName(children, 'subscription', name);
    if (ch) channelStatuses.push(childStatus('channel', ch, statuses));
    if (sub) subscriptionStatuses.push(childStatus('subscription', sub, statuses));
  }
  const address = addressOf(byName(children, 'channel', sequenceChannelName(flow.name, 0)), statuses);
  return {
    observedGeneration: generation,
    conditions: flowConditions(channelStatuses, subscriptionStatuses, address),
    ...(address ? { address } : {}),
    channelStatuses,
    subscriptionStatuses,
  };
}

export function parallelStatus(
  flow: Flow<Parallel['spec']>,
  generation: number,
  statuses: ChildStatuses,
): ResourceStatus {
  const children = parallelChildren(flow);
  const need = (kind: 'channel' | 'subscription', name: string): ContractInput => {
    const child = byName(children, kind, name);
    if (!child) throw new Error(`parallelChildren made no ${kind} ${name}`);
    return child;
  };
  const ingressChannel = need('channel', parallelIngressName(flow.name));
  const ingressChannelStatus = childStatus('channel', ingressChannel, statuses);
  const branchStatuses = flow.spec.branches.map((_, i) => ({
    filterSubscriptionStatus: childStatus(
      'subscription',
      need('subscription', parallelFilterName(flow.name, i)),
      statuses,
    ),
    filterChannelStatus: childStatus('channel', need('channel', parallelBranchName(flow.name, i)), statuses),
    subscriberSubscriptionStatus: childStatus(
      'subscription',
      need('subscription', parallelBranchName(flow.name, i)),
      statuses,
    ),
  }));
  const channels = [ingressChannelStatus, ...branchStatuses.map((b) => b.filterChannelStatus)];
  const subscriptions = branchStatuses.flatMap((b) => [
    b.filterSubscriptionStatus,
    b.subscriberSubscriptionStatus,
  ]);
  const address = addressOf(ingressChannel, statuses);
  return {
    observedGeneration: generation,
    conditions: flowConditions(channels, subscriptions, address),
    ...(address ? { address } : {}),
    ingressChannelStatus,
    branchStatuses,
  };
}
