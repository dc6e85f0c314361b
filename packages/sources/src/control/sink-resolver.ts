// Where a source's or SinkBinding's sink points, as this control plane knows it: the Brokers and
// channels the eventing contract made addressable, the Services serving routes, or a URI.

import {
  type AddressLookup,
  type AddressResolver,
  type ContractInput,
  collectEntries,
  type Destination,
  groupOf,
  type KReference,
  type ResourceStatus,
  resolverFromLookup,
  resourceKey,
} from '@eddy/api';

const CHANNEL_KINDS = ['InMemoryChannel', 'KafkaChannel', 'Channel'];

/** A Broker, channel, flow or KafkaSink: an Eddy ingress, which takes batched events. */
function isEddyIngressRef(ref: Pick<KReference, 'apiVersion' | 'kind'>): boolean {
  const group = groupOf(ref.apiVersion);
  return (
    (group === 'eventing.knative.dev' && (ref.kind === 'Broker' || ref.kind === 'KafkaSink')) ||
    (group === 'messaging.knative.dev' && CHANNEL_KINDS.includes(ref.kind)) ||
    // A flow's address is its first channel's.
    (group === 'flows.knative.dev' && (ref.kind === 'Sequence' || ref.kind === 'Parallel'))
  );
}

export interface SinkResolverInput {
  /** The eventing statuses computed this pass (a Broker's, channel's or flow's address is there). */
  eventingStatuses: ReadonlyMap<string, ResourceStatus>;
  /** The applied resources: the Services among them are the ones a sink may name. */
  resources: readonly ContractInput[];
  /** A Service's URL, when the serving data plane runs. */
  serviceUrl?: ((namespace: string, name: string) => string | undefined) | undefined;
}

/** Resolves sink references to the Brokers, channels and Services this control plane has. */
export function sinkResolver(input: SinkResolverInput): AddressResolver {
  const { eventingStatuses, serviceUrl } = input;
  const services = new Set(collectEntries(input.resources, 'serving.knative.dev', 'Service').keys());
  const lookup = (ref: KReference, namespace: string): AddressLookup => {
    const ns = ref.namespace ?? namespace;
    if (isEddyIngressRef(ref)) {
      const status = eventingStatuses.get(resourceKey(ref.kind, ns, ref.name));
      if (!status)
        return {
          why: `${ref.kind} ${JSON.stringify(ref.name)} does not exist in namespace ${JSON.stringify(ns)}`,
        };
      if (!status.address) return { why: `the ${ref.kind} is not ready` };
      const { url, audience, CACerts } = status.address;
      return {
        url,
        ...(audience ? { audience } : {}),
        ...(CACerts !== undefined ? { caCerts: CACerts } : {}),
      };
    }
    if (groupOf(ref.apiVersion) === 'serving.knative.dev' && ref.kind === 'Service') {
      if (!services.has(`${ns}/${ref.name}`))
        return {
          why: `Service ${JSON.stringify(ref.name)} does not exist in namespace ${JSON.stringify(ns)}`,
        };
      const url = serviceUrl?.(ns, ref.name);
      return url ? { url } : { why: 'Services are not served here (the serving data plane is not running)' };
    }
    return { why: `${ref.kind} (${ref.apiVersion}) is not an addressable kind Eddy knows` };
  };
  return resolverFromLookup(lookup);
}

/** Whether a Destination points at an Eddy Broker or channel (which accept batched events). */
export function sinkIsEddyIngress(sink: Destination | undefined): boolean {
  return sink?.ref !== undefined && isEddyIngressRef(sink.ref);
}
