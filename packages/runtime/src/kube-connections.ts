// Loading a KubeConfig (loadKubeConfig) and sharing its connections: @kubernetes/client-node 2.0
// builds a new connection pool (an undici Agent) for every request, so each
// API call opens its own TCP + TLS connection and reads the CA file again: 1,000 Triggers made ~3,000
// connections, 10,000 ran the controller out of file descriptors (bench/controller). This keeps one
// pool per distinct TLS identity on a KubeConfig, so requests reuse keep-alive connections.

import { createHash } from 'node:crypto';

type CreateDispatcher = (cluster: unknown, agentOptions: Record<string, unknown>) => unknown;

/**
 * Makes `kc` (a @kubernetes/client-node KubeConfig: typed loosely so this package need not depend on
 * the client) reuse its dispatchers, in place; returns it.
 */
export function withSharedConnections<T extends object>(kc: T): T {
  const target = kc as unknown as { createDispatcher: CreateDispatcher };
  const create = target.createDispatcher.bind(kc);
  const pools = new Map<string, unknown>();
  target.createDispatcher = (cluster, agentOptions) => {
    const key = createHash('sha256')
      .update(JSON.stringify([cluster, agentOptions]))
      .digest('hex');
    if (!pools.has(key)) pools.set(key, create(cluster, agentOptions));
    return pools.get(key);
  };
  return kc;
}

/**
 * A KubeConfig from `file`, else $KUBECONFIG / ~/.kube/config / the in-cluster ServiceAccount
 * (client-go's order), reusing its connections. The Kubernetes client is imported only here, so a
 * process loads it only when it talks to Kubernetes. Throws an Error whose message names `flag`.
 */
export async function loadKubeConfig(
  file: string | undefined,
  flag = '--kubeconfig',
): Promise<import('@kubernetes/client-node').KubeConfig> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  try {
    if (file) kc.loadFromFile(file);
    else kc.loadFromDefault();
  } catch (error) {
    throw new Error(`${flag} ${file ?? '(default)'}: ${(error as Error).message}`);
  }
  withSharedConnections(kc);
  if (!kc.getCurrentCluster())
    throw new Error(
      `no Kubernetes cluster configured${file ? ` in ${file}` : ''}: pass ${flag} <file> or set KUBECONFIG`,
    );
  return kc;
}
