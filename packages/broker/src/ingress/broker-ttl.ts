// The broker TTL at the ingress (dispatcher/reply-ttl.ts has the rules): an event that comes back
// carrying `knativebrokerttl` spends a hop, and is refused once it has none left.

import type { PlainEvent } from '@eddy/api';
import { admitTtl } from '../dispatcher/reply-ttl.js';

export type AdmittedEvents = { ok: true; events: PlainEvent[] } | { ok: false; message: string };

/** All of a request's events with their TTL, or why one is refused (the request stores none: 400). */
export function admitBrokerTtl(events: PlainEvent[], limit: number | undefined): AdmittedEvents {
  let admitted: PlainEvent[] | undefined;
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as PlainEvent;
    const result = admitTtl(event, limit);
    if (!result.ok) return result;
    // Most events carry no TTL: the request's array is kept unless one changed.
    if (result.event !== event) {
      admitted ??= events.slice();
      admitted[i] = result.event;
    }
  }
  return { ok: true, events: admitted ?? events };
}
