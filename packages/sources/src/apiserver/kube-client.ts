// The few Kubernetes API calls ApiServerSource makes (discovery, list, SelfSubjectAccessReview, a
// namespace list), as plain JSON requests authenticated by @kubernetes/client-node's KubeConfig, and
// where the kubeconfig comes from. Watches use client-node's Watch (resource-stream.ts).

import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { fetch } from 'undici';

/** Bound of one non-watch request: an API server that hangs must not stall the source's checks. */
const REQUEST_TIMEOUT_MS = 15_000;

/** An answer of the API server other than 2xx; `status` is its HTTP status. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export type KubeConfigSource =
  | { ok: true; config: KubeConfig; from: string }
  | { ok: false; reason: string; message: string };

/**
 * The kubeconfig to use: the one the sources component was given (`--kubeconfig`), else the
 * KUBECONFIG environment variable (a list of files, merged as kubectl does), else the in-cluster
 * service account when running in a Pod. `~/.kube/config` is deliberately not read: a source watching
 * whatever cluster a laptop's kubectl points at, unasked, would be a surprise.
 */
export function loadKubeConfig(
  kubeconfig: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): KubeConfigSource {
  const config = new KubeConfig();
  try {
    if (kubeconfig) {
      config.loadFromFile(kubeconfig);
      return checked(config, kubeconfig);
    }
    if (env.KUBECONFIG) {
      config.loadFromDefault();
      return checked(config, `KUBECONFIG=${env.KUBECONFIG}`);
    }
    if (env.KUBERNETES_SERVICE_HOST) {
      config.loadFromCluster();
      return checked(config, 'the in-cluster service account');
    }
  } catch (error) {
    return {
      ok: false,
      reason: 'KubeconfigInvalid',
      message: `cannot load the kubeconfig ${kubeconfig ?? env.KUBECONFIG ?? '(in-cluster)'}: ${(error as Error).message}`,
    };
  }
  return {
    ok: false,
    reason: 'NoKubernetesCluster',
    message: 'ApiServerSource needs a Kubernetes cluster: start eddy dev with --kubeconfig <file>',
  };
}

function checked(config: KubeConfig, from: string): KubeConfigSource {
  if (!config.getCurrentCluster())
    return {
      ok: false,
      reason: 'KubeconfigInvalid',
      message: `the kubeconfig ${from} has no current cluster`,
    };
  return { ok: true, config, from };
}

/**
 * A copy of `config` whose current user acts as `user` (the `Impersonate-User` header, kubeconfig's
 * `as`): the API server then authorizes every request as that user, so its RBAC applies. Impersonating
 * a ServiceAccount's name gives its groups too (`system:serviceaccounts[:<namespace>]`).
 */
export function impersonating(config: KubeConfig, user: string): KubeConfig {
  const current = config.getCurrentUser();
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: config.clusters,
    contexts: config.contexts,
    currentContext: config.currentContext,
    users: config.users.map((u) => (u.name === current?.name ? { ...u, impersonateUser: user } : u)),
  });
  return copy;
}

/** The API server's URL (`clusters[].server` of the current context): Knative's event `source`. */
export function serverUrl(config: KubeConfig): string {
  return config.getCurrentCluster()?.server ?? '';
}

/** One JSON request; resolves with the parsed body of a 2xx answer, rejects with KubeApiError otherwise. */
export async function kubeRequest(
  config: KubeConfig,
  method: 'GET' | 'POST',
  path: string,
  options: { query?: Record<string, string | number | undefined>; body?: unknown; signal?: AbortSignal } = {},
): Promise<unknown> {
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  for (const [key, value] of Object.entries(options.query ?? {}))
    if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
  const context = new RequestContext(url.toString(), method === 'GET' ? HttpMethod.GET : HttpMethod.POST);
  await config.applySecurityAuthentication(context);
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const response = await fetch(url, {
    method,
    headers: {
      ...context.getHeaders(),
      accept: 'application/json',
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    dispatcher: context.getDispatcher(),
    signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const status = body as { message?: unknown; reason?: unknown } | undefined;
    throw new KubeApiError(
      response.status,
      typeof status?.message === 'string'
        ? status.message
        : `${response.status} ${response.statusText}`.trim(),
      typeof status?.reason === 'string' ? status.reason : undefined,
    );
  }
  return body;
}

/** `group/version` split; the core group is `''` (`v1`). */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf('/');
  return slash < 0
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export interface DiscoveredResource {
  apiVersion: string;
  kind: string;
  group: string;
  /** The plural resource name the API serves the kind under, e.g. `configmaps`. */
  resource: string;
  namespaced: boolean;
}

/** Looks the kind up in the API server's discovery document of its group/version; undefined if not served. */
export async function discoverResource(
  config: KubeConfig,
  apiVersion: string,
  kind: string,
  signal?: AbortSignal,
): Promise<DiscoveredResource | undefined> {
  const { group } = splitApiVersion(apiVersion);
  const path = group === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
  let list: { resources?: Array<{ name: string; kind: string; namespaced: boolean }> };
  try {
    list = (await kubeRequest(config, 'GET', path, signal ? { signal } : {})) as typeof list;
  } catch (error) {
    if (error instanceof KubeApiError && error.status === 404) return undefined;
    throw error;
  }
  const found = list.resources?.find((r) => r.kind === kind && !r.name.includes('/'));
  return found && { apiVersion, kind, group, resource: found.name, namespaced: found.namespaced };
}

/** The collection path of a resource, in one namespace or (`''`) all of them. */
export function collectionPath(resource: DiscoveredResource, namespace: string): string {
  const base = resource.group === '' ? `/api/${resource.apiVersion}` : `/apis/${resource.apiVersion}`;
  return resource.namespaced && namespace !== ''
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource.resource}`
    : `${base}/${resource.resource}`;
}

/** SelfSubjectAccessReview: whether the config's (impersonated) user may `verb` the resource there. */
export async function selfAccessAllowed(
  config: KubeConfig,
  attributes: { verb: string; group: string; resource: string; namespace: string },
  signal?: AbortSignal,
): Promise<boolean> {
  const review = (await kubeRequest(
    config,
    'POST',
    '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    {
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: { resourceAttributes: attributes },
      },
      ...(signal ? { signal } : {}),
    },
  )) as { status?: { allowed?: boolean } };
  return review.status?.allowed === true;
}

/** Names of the namespaces a label selector (query string) selects, sorted. */
export async function listNamespaces(
  config: KubeConfig,
  labelSelector: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const list = (await kubeRequest(config, 'GET', '/api/v1/namespaces', {
    query: { labelSelector },
    ...(signal ? { signal } : {}),
  })) as { items?: Array<{ metadata?: { name?: string } }> };
  return (list.items ?? [])
    .map((n) => n.metadata?.name ?? '')
    .filter((n) => n !== '')
    .sort();
}
