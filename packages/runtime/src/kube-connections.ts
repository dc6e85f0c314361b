// @kubernetes/client-node 2.0 builds a new connection pool (an undici Agent) for every request, so each
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
