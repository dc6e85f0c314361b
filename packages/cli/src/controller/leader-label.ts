// Which replica a Service should send the data plane to: only the leader serves the contract feeds
// (a standby answers 503), and a client on a keep-alive connection to a standby would get 503 for as
// long as that connection lives. So the controller labels its own Pod `eddy.dev/leader: "true"` when
// it leads and "false" when it starts; the chart's feed Service selects the label (the webhook Service
// selects every replica: they all serve it). A leader that loses the Lease exits, and its restarted
// container relabels the Pod "false" before anything else.

import { CoreV1Api, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type pino from 'pino';
import { kubeErrorMessage } from './kube-errors.js';

export const LEADER_LABEL = 'eddy.dev/leader';

export interface OwnPod {
  namespace: string;
  name: string;
}

/** Sets this replica's Pod's leader label; a failure is logged, never thrown (the feed still works). */
export async function labelOwnPod(
  kubeConfig: KubeConfig,
  pod: OwnPod,
  leading: boolean,
  logger: pino.Logger,
): Promise<void> {
  try {
    await kubeConfig.makeApiClient(CoreV1Api).patchNamespacedPod(
      {
        name: pod.name,
        namespace: pod.namespace,
        body: { metadata: { labels: { [LEADER_LABEL]: String(leading) } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  } catch (error) {
    logger.warn(
      `cannot label Pod ${pod.namespace}/${pod.name} ${LEADER_LABEL}=${leading}: ${kubeErrorMessage(error)}`,
    );
  }
}
