// SinkBindings: the sink resolved for the workloads a binding selects (serving injects K_SINK into
// them), and the binding's status (SinkProvided, BindingAvailable -> Ready).

import {
  type AddressResolver,
  ConditionSet,
  type ContractInput,
  collectEntries,
  type ResourceStatus,
  resolveDestination,
  resourceKey,
} from '@eddy/api';
import type { ResolvedSinkBinding } from '../sinkbinding/sink-binding.js';
import type { SourceLike } from './plan-sources.js';
import type { SourceStatusOutput } from './source-status.js';

export interface SinkBindingLike extends SourceLike {
  spec?: SourceLike['spec'] & { subject?: ResolvedSinkBinding['subject'] };
}

/** Resolves a SinkBinding's sink; status SinkProvided / BindingAvailable. */
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

/** Every SinkBinding among `inputs`: the resolved ones, and each one's status by `resourceKey`. */
export function planSinkBindings(
  inputs: readonly ContractInput[],
  resolver: AddressResolver,
): { bindings: ResolvedSinkBinding[]; statuses: Map<string, ResourceStatus> } {
  const bindings: ResolvedSinkBinding[] = [];
  const statuses = new Map<string, ResourceStatus>();
  for (const entry of collectEntries<SinkBindingLike>(
    inputs,
    'sources.knative.dev',
    'SinkBinding',
  ).values()) {
    const planned = planSinkBinding(entry.resource, resolver);
    if (planned.binding) bindings.push(planned.binding);
    statuses.set(resourceKey('SinkBinding', entry.namespace, entry.name), planned.status);
  }
  return { bindings, statuses };
}
