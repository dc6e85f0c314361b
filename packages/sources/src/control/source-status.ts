// Knative's source status: SinkProvided and Deployed make Ready; the resolved sinkUri; and, for an
// adapter that receives events over HTTP, the address it reported.

import { ConditionSet, type ResourceStatus } from '@eddy/api';
import type { SourceStatus } from '../sdk/runner.js';
import type { SourcePlan } from './plan-sources.js';

export type SourceStatusOutput = ResourceStatus & { sinkUri?: string; sinkAudience?: string };

/**
 * A source's status from its plan, what the runner reports (`runtime`, undefined before it runs)
 * and the error the runner refused its definition with, if any.
 */
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
    if (plan.sinkAudience) status.sinkAudience = plan.sinkAudience;
    if (plan.serviceAccountName) status.auth = { serviceAccountName: plan.serviceAccountName };
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
