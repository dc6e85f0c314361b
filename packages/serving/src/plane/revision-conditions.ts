// A revision's conditions from the runtime's point of view, named as Knative names them, for the
// serving reconciler to fold into the Revision's Ready condition.

import type { Condition } from '@eddy/api';
import type { DeploymentFailure } from '../runtime/runtime.js';

export interface RevisionRuntimeFacts {
  /** Replicas the plane asked for. */
  desired: number;
  ready: number;
  everReady: boolean;
  failure?: DeploymentFailure;
}

/** The failure as one message: what happened, then the replica's last log lines. */
export function failureMessage(failure: DeploymentFailure): string {
  if (failure.lastLogLines.length === 0) return failure.message;
  return `${failure.message}; last log lines:\n${failure.lastLogLines.join('\n')}`;
}

export function revisionConditions(facts: RevisionRuntimeFacts): Condition[] {
  const { failure } = facts;
  const containerHealthy: Condition = failure
    ? { type: 'ContainerHealthy', status: 'False', reason: failure.reason, message: failureMessage(failure) }
    : facts.everReady
      ? { type: 'ContainerHealthy', status: 'True' }
      : { type: 'ContainerHealthy', status: 'Unknown', reason: 'Deploying' };
  const resourcesAvailable: Condition = facts.everReady
    ? { type: 'ResourcesAvailable', status: 'True' }
    : failure
      ? {
          type: 'ResourcesAvailable',
          status: 'False',
          reason: failure.reason,
          message: failureMessage(failure),
        }
      : { type: 'ResourcesAvailable', status: 'Unknown', reason: 'Deploying' };
  const active: Condition =
    facts.ready > 0
      ? { type: 'Active', status: 'True' }
      : facts.desired === 0
        ? {
            type: 'Active',
            status: 'False',
            reason: 'NoTraffic',
            message: 'The target is not receiving traffic.',
          }
        : {
            type: 'Active',
            status: 'Unknown',
            reason: 'Activating',
            message: 'Waiting for a replica to become ready.',
          };
  return [active, containerHealthy, resourcesAvailable];
}
