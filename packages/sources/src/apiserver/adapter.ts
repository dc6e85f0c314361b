// The ApiServerSource adapter as the registry holds it (apiserver-source.ts runs it).

import type { SourceAdapter } from '../sdk/adapter.js';
import type { ApiServerSourceSpec } from './apiserver-event.js';

export interface ApiServerSourceAdapterOptions {
  /** How often the namespaces and rights are checked while the source is not Ready (default 5 s). */
  recheckIntervalMs?: number;
  /** ...and while it is (default 60 s). A 403 from a list or watch triggers a check at once. */
  readyRecheckIntervalMs?: number;
  /** Changes waiting for the sink above which the watches pause (default MAX_QUEUED). */
  maxQueued?: number;
  /** Environment for KUBECONFIG / KUBERNETES_SERVICE_HOST (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

export function createApiServerSourceAdapter(
  options: ApiServerSourceAdapterOptions = {},
): SourceAdapter<ApiServerSourceSpec> {
  return {
    apiVersion: 'sources.knative.dev/v1',
    kind: 'ApiServerSource',
    // Two watchers would send every change twice.
    placement: 'once',
    // The Kubernetes client loads with the first ApiServerSource, not with every process that has the
    // built-in adapters.
    start: async (context) => (await import('./apiserver-source.js')).startApiServerSource(context, options),
  };
}

export const apiServerSourceAdapter = createApiServerSourceAdapter();
