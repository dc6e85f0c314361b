// Source resources as the runner takes them: the sink resolved, Eddy's own Brokers and channels
// marked as taking batches, and an opaque digest of the Secret/ConfigMap values the spec refers to
// (a changed value changes the definition, which restarts the source).

import {
  type AddressResolver,
  apiGroup,
  type ContractInput,
  type Destination,
  findKeyRefs,
  generationOf,
  keyRefsDigest,
  oidcServiceAccountName,
  type ResourceStatus,
  resolveDestination,
  resourceKey,
  type ValueLookupOptions,
} from '@eddy/api';
import type { SourceDefinition } from '../sdk/adapter.js';
import { sourceKey } from '../sdk/runner.js';
import { sinkIsEddyIngress } from './sink-resolver.js';

/** The parts of a source resource planning reads. */
export interface SourceLike {
  apiVersion: string;
  kind: string;
  metadata: {
    namespace: string;
    name: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { sink?: Destination; ceOverrides?: { extensions?: Record<string, string> } } & Record<
    string,
    unknown
  >;
}

export type SourcePlan =
  | {
      ok: true;
      definition: SourceDefinition;
      sinkUri: string;
      sinkAudience?: string;
      /** With authentication on: the source's OIDC service account (Knative's `status.auth`). */
      serviceAccountName?: string;
    }
  | { ok: false; reason: string; message: string };

/**
 * A source resource as the runner takes it, or why it cannot run. `values`: where its secretKeyRef /
 * configMapKeyRef values come from (folded into the definition as an opaque digest).
 */
export function planSource(
  resource: SourceLike,
  resolver: AddressResolver,
  values: ValueLookupOptions = {},
): SourcePlan {
  const ns = resource.metadata.namespace;
  const sink = resolveDestination(resource.spec?.sink, ns, resolver);
  if (!sink.ok)
    return { ok: false, reason: 'NotFound', message: `failed to resolve spec.sink: ${sink.message}` };
  const definition: SourceDefinition = {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    namespace: ns,
    name: resource.metadata.name,
    spec: resource.spec ?? {},
    sink: sink.url,
    ...(sink.audience ? { sinkAudience: sink.audience } : {}),
    ...(sink.caCerts !== undefined ? { sinkCACerts: sink.caCerts } : {}),
    ...(resource.spec?.ceOverrides ? { ceOverrides: resource.spec.ceOverrides } : {}),
    ...(resource.metadata.annotations ? { annotations: resource.metadata.annotations } : {}),
    ...(resource.metadata.labels ? { labels: resource.metadata.labels } : {}),
  };
  if (sinkIsEddyIngress(resource.spec?.sink)) definition.sinkAcceptsBatch = true;
  const refs = findKeyRefs(resource.spec);
  if (refs.length > 0) definition.valuesDigest = keyRefsDigest(refs, ns, values);
  return {
    ok: true,
    definition,
    sinkUri: sink.url,
    ...(sink.audience ? { sinkAudience: sink.audience } : {}),
  };
}

/** One source resource of the applied set and its plan. */
export interface PlannedSource {
  input: ContractInput;
  /** Its key in the statuses (`resourceKey`). */
  statusKey: string;
  generation: number;
  plan: SourcePlan;
}

export interface SourcesPlan {
  /** The sources an adapter runs, by `sourceKey` (the runner's key). */
  sources: Map<string, PlannedSource>;
  /** The statuses of source kinds Eddy validates but does not run here, by `resourceKey`. */
  statuses: Map<string, ResourceStatus>;
}

export interface PlanSourcesOptions {
  resolver: AddressResolver;
  /** Whether a source adapter runs this kind (the source registry's `has`). */
  isSourceKind(apiVersion: string, kind: string): boolean;
  /** Where secretKeyRef / configMapKeyRef values come from. */
  values?: ValueLookupOptions;
  /** Sender authentication on: a source's status shows its OIDC service account (`auth`). */
  authentication?: boolean;
}

/** Every source resource among `inputs`, planned; SinkBindings are planSinkBindings()'. */
export function planSources(inputs: readonly ContractInput[], options: PlanSourcesOptions): SourcesPlan {
  const sources = new Map<string, PlannedSource>();
  const statuses = new Map<string, ResourceStatus>();
  for (const input of inputs) {
    const generation = generationOf((input.resource as { metadata?: { generation?: unknown } }).metadata);
    const statusKey = resourceKey(input.kind, input.namespace, input.name);
    if (input.kind === 'SinkBinding' || !options.isSourceKind(input.apiVersion, input.kind)) continue;
    const plan = planSource(input.resource as unknown as SourceLike, options.resolver, options.values);
    if (plan.ok && options.authentication)
      plan.serviceAccountName = oidcServiceAccountName(apiGroup(input.apiVersion), input.kind, input.name);
    sources.set(sourceKey(input), { input, statusKey, generation, plan });
  }
  return { sources, statuses };
}
