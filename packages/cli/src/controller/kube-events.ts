// What `eddy describe` shows under Events in Kubernetes mode: the resource's Kubernetes Events (the
// ones this controller records, and anyone else's), as `kubectl describe` lists them.

import { CoreV1Api, type CoreV1Event, type KubeConfig } from '@kubernetes/client-node';
import type { DescribeEvent } from '../admin/protocol.js';
import type { StoreEntry } from '../dev/resource-store.js';
import { kubeErrorMessage } from './kube-errors.js';

/** At most this many, newest kept: describe is a summary. */
const MAX_EVENTS = 20;
const apis = new WeakMap<KubeConfig, CoreV1Api>();

function eventTime(e: CoreV1Event): string {
  const t = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return t ? new Date(t as unknown as string).toISOString() : new Date(0).toISOString();
}

/** The entry's Events, oldest first; one Warning saying why when they cannot be read. */
export async function kubernetesEvents(kubeConfig: KubeConfig, entry: StoreEntry): Promise<DescribeEvent[]> {
  let api = apis.get(kubeConfig);
  if (!api) {
    api = kubeConfig.makeApiClient(CoreV1Api);
    apis.set(kubeConfig, api);
  }
  const { kind, metadata } = entry.resource;
  try {
    const list = await api.listNamespacedEvent({
      namespace: metadata.namespace,
      fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${metadata.name}`,
    });
    return list.items
      .map((e) => ({
        time: eventTime(e),
        type: e.type === 'Warning' ? ('Warning' as const) : ('Normal' as const),
        reason: e.reason ?? '',
        message: `${e.message ?? ''}${(e.count ?? 1) > 1 ? ` (x${e.count})` : ''}`,
      }))
      .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
      .slice(-MAX_EVENTS);
  } catch (error) {
    return [
      {
        time: new Date().toISOString(),
        type: 'Warning',
        reason: 'EventsUnavailable',
        message: `cannot list the Events of ${kind} ${metadata.namespace}/${metadata.name}: ${kubeErrorMessage(error)}`,
      },
    ];
  }
}
