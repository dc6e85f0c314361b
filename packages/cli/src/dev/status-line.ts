// The one-line status `eddy dev` prints whenever a resource's Ready condition changes:
//   Trigger default/to-display  Ready
//   Trigger default/to-display  NotReady  SubscriberResolveFailed: failed to resolve spec.subscriber: ...

import type { Condition } from '@eddy/api';

export function formatStatusLine(
  kind: string,
  namespace: string,
  name: string,
  ready: Condition | undefined,
): string {
  const who = `${kind} ${namespace}/${name}`;
  if (!ready) return `${who}  Unknown`;
  if (ready.status === 'True') return `${who}  Ready`;
  const word = ready.status === 'False' ? 'NotReady' : 'Unknown';
  const why = ready.reason
    ? `${ready.reason}${ready.message ? `: ${ready.message}` : ''}`
    : (ready.message ?? '');
  return why ? `${who}  ${word}  ${why}` : `${who}  ${word}`;
}
