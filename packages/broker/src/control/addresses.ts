// How the eventing reconciler resolves a Destination's ref: Brokers, channels and KafkaSinks from this
// very computation (usable only when their own settings are), Sequences and Parallels by their first
// channel, Services that exist among the resources via
// `serviceUrl`, anything else via the caller's resolver.

import {
  type AddressLookup,
  type AddressResolver,
  groupOf,
  ingressPath,
  type KafkaSinkRoute,
  type KReference,
  namespacedKey,
  resolverFromLookup,
} from '@eddy/api';
import { type BrokerState, brokerUsable } from './brokers.js';
import { type ChannelState, channelUsable, findChannel, isChannelKind } from './channels.js';
import { parallelIngressName, sequenceChannelName } from './flows.js';
import { addressAudience } from './ingress-audience.js';
import { kafkaSinkUrl } from './kafka-sinks.js';
import { type Settings, show } from './options.js';
import { ingressCACerts } from './tls-addresses.js';

export function eventingResolver(
  brokers: Map<string, BrokerState>,
  channels: readonly ChannelState[],
  /** namespace/name of every serving.knative.dev Service among the resources. */
  services: ReadonlySet<string>,
  settings: Settings,
  /** The KafkaSinks in the contract (whose auth resolved). */
  kafkaSinks: readonly KafkaSinkRoute[] = [],
): AddressResolver {
  const sinks = new Set(kafkaSinks.map((s) => namespacedKey(s.namespace, s.name)));
  // Eddy's ingress addresses have an OIDC audience only when authentication is on (as in Knative).
  const audience = (kind: string, namespace: string, name: string) =>
    addressAudience(settings, kind, namespace, name);
  const lookup = (ref: KReference, namespace: string): AddressLookup => {
    const group = groupOf(ref.apiVersion);
    const ns = ref.namespace ?? namespace;
    if (group === 'eventing.knative.dev' && ref.kind === 'Broker') {
      const s = brokers.get(namespacedKey(ns, ref.name));
      if (!s) return { why: `Broker ${show(ref.name)} does not exist in namespace ${show(ns)}` };
      if (!brokerUsable(s)) return { why: 'the Broker is not ready' };
      return {
        url: `${settings.brokerBase}${ingressPath(ns, ref.name)}`,
        ...audience('Broker', ns, ref.name),
        ...ingressCACerts(settings),
      };
    }
    if (group === 'messaging.knative.dev' && isChannelKind(ref.kind)) {
      const s = findChannel(channels, ref.kind, ns, ref.name);
      if (!s) return { why: `${ref.kind} ${show(ref.name)} does not exist in namespace ${show(ns)}` };
      if (!channelUsable(s)) return { why: `the ${s.kind} is not ready` };
      return {
        url: `${settings.channelBase}${ingressPath(ns, ref.name)}`,
        ...audience(s.kind, ns, ref.name),
        ...ingressCACerts(settings),
      };
    }
    if (group === 'flows.knative.dev' && (ref.kind === 'Sequence' || ref.kind === 'Parallel')) {
      // A flow's address is its first channel's (a Sequence's step 0, a Parallel's ingress).
      const first =
        ref.kind === 'Sequence' ? sequenceChannelName(ref.name, 0) : parallelIngressName(ref.name);
      const s = channels.find((c) => c.entry.namespace === ns && c.entry.name === first);
      if (!s)
        return {
          why: `${ref.kind} ${show(ref.name)} does not exist in namespace ${show(ns)}, or its channels are not made yet`,
        };
      if (!channelUsable(s)) return { why: `its channel ${s.entry.name} is not ready` };
      // The ingress checks tokens against the channel the address really is.
      return {
        url: `${settings.channelBase}${ingressPath(ns, first)}`,
        ...audience(s.kind, ns, first),
        ...ingressCACerts(settings),
      };
    }
    if (group === 'eventing.knative.dev' && ref.kind === 'KafkaSink') {
      if (!sinks.has(namespacedKey(ns, ref.name)))
        return {
          why: `KafkaSink ${show(ref.name)} does not exist in namespace ${show(ns)} or its auth Secret did not resolve`,
        };
      return {
        url: kafkaSinkUrl(settings.brokerBase, ns, ref.name),
        ...audience('KafkaSink', ns, ref.name),
        ...ingressCACerts(settings),
      };
    }
    if (group === 'serving.knative.dev' && ref.kind === 'Service') {
      if (!services.has(namespacedKey(ns, ref.name)))
        return { why: `Service ${show(ref.name)} does not exist in namespace ${show(ns)}` };
      if (!settings.serviceUrl)
        return { why: 'Services are not served by this control plane (no serviceUrl)' };
      const url = settings.serviceUrl(ns, ref.name);
      // Eddy's router serves HTTPS with the ingress' certificate, so the same CA verifies it.
      if (url?.startsWith('https:')) return { url, ...ingressCACerts(settings) };
      return url ? { url } : { why: 'the Service has no URL yet' };
    }
    if (settings.resolver) {
      const url = settings.resolver.resolve(ref, namespace);
      if (url !== undefined) return { url };
      return { why: settings.resolver.describeFailure?.(ref, namespace) ?? 'not found or not addressable' };
    }
    return { why: `${ref.kind} (${ref.apiVersion}) is not an addressable kind Eddy knows` };
  };
  return resolverFromLookup(lookup);
}
