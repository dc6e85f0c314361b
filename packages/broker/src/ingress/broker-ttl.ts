// The broker TTL at the ingress (dispatcher/reply-ttl.ts has the rules): every event a Broker accepts
// carries `knativebrokerttl`, so the hop budget travels with it through the log.

import type { PlainEvent } from '@eddy/api';
import { admitTtl } from '../dispatcher/reply-ttl.js';

export type AdmittedEvents = { ok: true; events: PlainEvent[] } | { ok: false; message: string };

/** All of a request's events with their TTL, or why one is refused (the request stores none: 400). */
export function admitBrokerTtl(events: PlainEvent[], limit: number | undefined): AdmittedEvents {
  const admitted: PlainEvent[] = [];
  for (const event of events) {
    const result = admitTtl(event, limit);
    if (!result.ok) return result;
    admitted.push(result.event);
  }
  return { ok: true, events: admitted };
}
