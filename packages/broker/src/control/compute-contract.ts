// The control plane's reconciliation of the eventing kinds, as one pure function: resources in, the
// data-plane contract and every resource's Knative-style status out. No I/O and no clock, so the same
// input always gives the same output (sorted), and a caller can recompute on every change and hand the
// data plane a new contract only when its generation moved.
//
// Three phases, each in its own file:
//   1. brokers.ts / channels.ts: what every Broker and channel would be (topic settings, name claims),
//      without resolving anything, so refs between them never depend on the order of evaluation;
//   2. the same files: their statuses and routes, now that Destinations resolve (addresses.ts);
//   3. triggers.ts / subscriptions.ts: each consumer's conditions and route; routes.ts settles their
//      consumer groups together so clashes are found.

import {
  type Broker,
  byNamespaceThenName,
  type ContractInput,
  collectEntries,
  type DataPlaneContract,
  type KafkaSink,
  type Replay,
  type ReplayPlan,
  type ResourceEntry,
  type ResourceStatus,
  resourceKey,
  type Subscription,
  sameContractContent,
  type Trigger,
} from '@eddy/api';
import { eventingResolver } from './addresses.js';
import { configMapData, planBrokers, reconcileBrokers } from './brokers.js';
import { type AnyChannel, CHANNEL_KINDS, planChannels, reconcileChannels } from './channels.js';
import { applySenderAuth, senderAuthEnabled } from './event-policies.js';
import { reconcileKafkaSinks } from './kafka-sinks.js';
import { type ComputeContractOptions, settingsFrom } from './options.js';
import { reconcileReplay } from './replays.js';
import { settleRoutes } from './routes.js';
import { reconcileSubscription } from './subscriptions.js';
import { reconcileTrigger } from './triggers.js';

export { type ComputeContractOptions, DEFAULT_MAX_IN_FLIGHT, DEFAULT_PARTITIONS } from './options.js';

export interface ComputedContract {
  contract: DataPlaneContract;
  /** By `resourceKey(kind, namespace, name)`, for every Broker, Trigger, channel and Subscription. */
  statuses: Map<string, ResourceStatus>;
}

const EVENTING = 'eventing.knative.dev';
const MESSAGING = 'messaging.knative.dev';

/** One kind's resources, sorted by namespace and name. */
function sortedEntries<T>(
  resources: readonly ContractInput[],
  group: string,
  kind: string,
): ResourceEntry<T>[] {
  return [...collectEntries<T>(resources, group, kind).values()].sort(byNamespaceThenName);
}

/**
 * Computes the data-plane contract and the status of every Broker, Trigger, channel and Subscription.
 * A resource that is not Ready contributes no route; everything else is still computed.
 */
export function computeContract(
  resources: readonly ContractInput[],
  options: ComputeContractOptions,
): ComputedContract {
  const settings = {
    ...settingsFrom(options),
    authentication: options.authentication === true || senderAuthEnabled(resources, options.senderAuth),
  };
  const statuses = new Map<string, ResourceStatus>();

  // Phase 1.
  const brokers = planBrokers(
    sortedEntries<Broker>(resources, EVENTING, 'Broker'),
    configMapData(resources),
    settings,
  );
  const channels = planChannels(
    CHANNEL_KINDS.map((kind) => [kind, sortedEntries<AnyChannel>(resources, MESSAGING, kind)] as const),
    settings,
  );
  const services = new Set(collectEntries(resources, 'serving.knative.dev', 'Service').keys());
  const kafkaSinks = reconcileKafkaSinks(
    sortedEntries<KafkaSink>(resources, EVENTING, 'KafkaSink'),
    settings,
    options.values ?? {},
    options.kafkaSinkTopics,
    statuses,
  );
  const resolver = eventingResolver(brokers, channels, services, settings, kafkaSinks);

  // Phase 2.
  const brokerRoutes = reconcileBrokers(brokers, resolver, settings, statuses);
  const channelRoutes = reconcileChannels(channels, resolver, settings, statuses);

  // Phase 3.
  const pending = [
    ...sortedEntries<Trigger>(resources, EVENTING, 'Trigger').map((entry) =>
      reconcileTrigger(entry, brokers, resolver, settings),
    ),
    ...sortedEntries<Subscription>(resources, MESSAGING, 'Subscription').map((entry) =>
      reconcileSubscription(entry, channels, resolver, settings),
    ),
  ];
  const routes = settleRoutes(pending, settings.previous, statuses);

  const senderTrust = applySenderAuth(resources, options, brokerRoutes, channelRoutes, kafkaSinks, statuses);
  brokerRoutes.sort(byNamespaceThenName);
  channelRoutes.sort((a, b) => byNamespaceThenName(a, b) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  // Phase 4: replays run through the settled routes.
  const replays: ReplayPlan[] = [];
  for (const entry of sortedEntries<Replay>(resources, 'eventing.eddy.dev', 'Replay')) {
    const { plan, status } = reconcileReplay(entry, {
      brokers: brokerRoutes,
      channels: channelRoutes,
      routes,
      resolver,
      settings,
      now: options.now,
      progress: options.replayProgress,
    });
    if (plan) replays.push(plan);
    statuses.set(resourceKey('Replay', entry.namespace, entry.name), status as unknown as ResourceStatus);
  }

  const content = {
    brokers: brokerRoutes,
    channels: channelRoutes,
    routes,
    ...(replays.length > 0 ? { replays } : {}),
    ...(kafkaSinks.length > 0 ? { kafkaSinks } : {}),
    ...(senderTrust ? { senderTrust } : {}),
  };
  const previous = settings.previous;
  let generation = settings.firstGeneration;
  if (previous) {
    const same = sameContractContent(previous, { generation: previous.generation, ...content });
    generation = same ? previous.generation : previous.generation + 1;
  }
  return { contract: { generation, ...content }, statuses };
}
