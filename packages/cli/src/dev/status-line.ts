// The one-line status `eddy dev` prints whenever a resource's Ready condition changes:
//   Trigger default/to-display  Ready
//   Trigger default/to-display  NotReady  SubscriberResolveFailed: failed to resolve spec.subscriber: ...

import type { Condition } from '@eddy/api';

const MAX_MESSAGE = 240;

/** The first line of a message, bounded: the full text (log tails) is in `eddy describe`. */
function oneLine(message: string, kind: string, name: string): string {
  const lines = message.split('\n');
  let first = (lines[0] ?? '').trimEnd();
  if (first.length > MAX_MESSAGE) first = `${first.slice(0, MAX_MESSAGE)}…`;
  return lines.length > 1 ? `${first} (more: eddy describe ${kind.toLowerCase()} ${name})` : first;
}

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
  const message = ready.message ? oneLine(ready.message, kind, name) : undefined;
  const why = ready.reason ? `${ready.reason}${message ? `: ${message}` : ''}` : (message ?? '');
  return why ? `${who}  ${word}  ${why}` : `${who}  ${word}`;
}
