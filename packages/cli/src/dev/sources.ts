// Sources and SinkBindings in the local control plane: resolving their sinks (Brokers, channels and
// Services Eddy runs here, or a URI), turning source resources into the runner's SourceDefinitions
// (with a digest of the Secret/ConfigMap values their spec refers to, so a changed value restarts the
// source), and their Knative-style status (SinkProvided, Deployed -> Ready, sinkUri, and address for
// adapters that receive events over HTTP).

import {
  type AddressLookup,
  type AddressResolver,
  ConditionSet,
  type Destination,
  findKeyRefs,
  type KReference,
  keyRefsDigest,
  type ResourceStatus,
  resolveDestination,
  resolverFromLookup,
  resourceKey,
  type ValueLookupOptions,
} from '@eddy/api';
import type { ResolvedSinkBinding, SourceDefinition, SourceStatus } from '@eddy/sources';

/** The Brokers, channels and Services a sink may refer to, as this control plane knows them. */
export function sinkResolver(
  eventingStatuses: ReadonlyMap<string, ResourceStatus>,
  serviceUrl: ((namespace: string, name: string) => string | undefined) | undefined,
  services: ReadonlySet<string>,
): AddressResolver {
  const lookup = (ref: KReference, namespace: string): AddressLookup => {
    const ns = ref.namespace ?? namespace;
    const group = ref.apiVersion.split('/')[0];
    if (
      (group === 'eventing.knative.dev' && ref.kind === 'Broker') ||
      (group === 'messaging.knative.dev' && ['InMemoryChannel', 'KafkaChannel', 'Channel'].includes(ref.kind))
    ) {
      const status = eventingStatuses.get(resourceKey(ref.kind, ns, ref.name));
      if (!status)
        return {
          why: `${ref.kind} ${JSON.stringify(ref.name)} does not exist in namespace ${JSON.stringify(ns)}`,
        };
      if (!status.address) return { why: `the ${ref.kind} is not ready` };
      return { url: status.address.url };
    }
    if (group === 'serving.knative.dev' && ref.kind === 'Service') {
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
  const ref = sink?.ref;
  if (!ref) return false;
  const group = ref.apiVersion.split('/')[0];
  return (
    (group === 'eventing.knative.dev' && ref.kind === 'Broker') ||
    (group === 'messaging.knative.dev' && ['InMemoryChannel', 'KafkaChannel', 'Channel'].includes(ref.kind))
  );
}

interface SourceLike {
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
  | { ok: true; definition: SourceDefinition; sinkUri: string }
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
    ...(resource.spec?.ceOverrides ? { ceOverrides: resource.spec.ceOverrides } : {}),
    ...(resource.metadata.annotations ? { annotations: resource.metadata.annotations } : {}),
    ...(resource.metadata.labels ? { labels: resource.metadata.labels } : {}),
  };
  if (sinkIsEddyIngress(resource.spec?.sink)) definition.sinkAcceptsBatch = true;
  const refs = findKeyRefs(resource.spec);
  if (refs.length > 0) definition.valuesDigest = keyRefsDigest(refs, ns, values);
  return { ok: true, definition, sinkUri: sink.url };
}

export type SourceStatusOutput = ResourceStatus & { sinkUri?: string };

/** Knative's source status: SinkProvided and Deployed make Ready. */
export function sourceStatus(
  generation: number,
  plan: SourcePlan,
  runtime: SourceStatus | undefined,
  applyError: string | undefined,
): SourceStatusOutput {
  const set = new ConditionSet(['SinkProvided', 'Deployed']);
  const status: SourceStatusOutput = { observedGeneration: generation, conditions: [] };
  if (plan.ok) {
    set.markTrue('SinkProvided');
    status.sinkUri = plan.sinkUri;
  } else set.markFalse('SinkProvided', plan.reason, plan.message);
  if (applyError) set.markFalse('Deployed', 'InvalidSource', applyError);
  else if (!plan.ok) set.markUnknown('Deployed', 'SinkNotProvided', 'waiting for the sink');
  else if (!runtime) set.markUnknown('Deployed', 'Starting', 'the adapter is starting');
  else {
    const r = runtime.ready;
    if (r.status === 'True') set.markTrue('Deployed', r.reason, r.message);
    else if (r.status === 'False')
      set.markFalse('Deployed', r.reason ?? 'AdapterNotReady', r.message ?? 'not ready');
    else set.markUnknown('Deployed', r.reason ?? 'Starting', r.message ?? 'the adapter is starting');
  }
  status.conditions = set.conditions();
  // An adapter that listens for HTTP reports where (Knative's Addressable); only while it is Ready.
  if (plan.ok && !applyError && runtime?.address) status.address = { url: runtime.address.url };
  return status;
}

/** A kind Eddy validates but does not run in embedded mode. */
export function notRunStatus(generation: number, reason: string, message: string): ResourceStatus {
  const set = new ConditionSet(['Deployed']);
  set.markFalse('Deployed', reason, message);
  return { observedGeneration: generation, conditions: set.conditions() };
}

interface SinkBindingLike extends SourceLike {
  spec?: SourceLike['spec'] & { subject?: ResolvedSinkBinding['subject'] };
}

/** Resolves a SinkBinding's sink; status SinkProvided / BindingReady. */
export function planSinkBinding(
  resource: SinkBindingLike,
  resolver: AddressResolver,
): { binding?: ResolvedSinkBinding; status: SourceStatusOutput } {
  const ns = resource.metadata.namespace;
  const generation = resource.metadata.generation ?? 1;
  const set = new ConditionSet(['SinkProvided', 'BindingAvailable']);
  const status: SourceStatusOutput = { observedGeneration: generation, conditions: [] };
  const sink = resolveDestination(resource.spec?.sink, ns, resolver);
  let binding: ResolvedSinkBinding | undefined;
  if (!sink.ok) set.markFalse('SinkProvided', 'NotFound', `failed to resolve spec.sink: ${sink.message}`);
  else {
    set.markTrue('SinkProvided');
    status.sinkUri = sink.url;
  }
  const subject = resource.spec?.subject;
  if (!subject) set.markFalse('BindingAvailable', 'SubjectMissing', 'spec.subject is required');
  else if (!(subject.apiVersion === 'serving.knative.dev/v1' && subject.kind === 'Service'))
    set.markFalse(
      'BindingAvailable',
      'SubjectNotSupported',
      `embedded mode binds serving.knative.dev/v1 Services only, not ${subject.kind} (${subject.apiVersion})`,
    );
  else {
    set.markTrue('BindingAvailable');
    if (sink.ok)
      binding = {
        namespace: ns,
        name: resource.metadata.name,
        subject,
        sink: sink.url,
        ...(resource.spec?.ceOverrides ? { ceOverrides: resource.spec.ceOverrides } : {}),
      };
  }
  status.conditions = set.conditions();
  return { ...(binding ? { binding } : {}), status };
}
