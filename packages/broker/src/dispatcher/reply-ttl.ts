// Reply loops: Knative's broker TTL. A subscriber that always answers with an event its own trigger
// matches would loop forever; every hop through the Broker spends one unit of the `knativebrokerttl`
// extension, and a reply that would carry 0 is cut. Knative's name and arithmetic (eventing
// pkg/broker/ttl.go, the MT broker ingress and filter), so events crossing Knative and Eddy brokers
// keep one budget. The rules: README "Reply loops".
//
// Only the extension is read or written: the event's data is never decoded or re-encoded.

import {
  BROKER_TTL_ANNOTATION,
  BROKER_TTL_EXTENSION,
  DEFAULT_BROKER_TTL,
  type DispatchRoute,
  type PlainEvent,
  withExtensions,
} from '@eddy/api';

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** CloudEvents' canonical Integer string, as sdk-go's types.ParseInteger accepts it (strconv.ParseInt base 10). */
const CANONICAL_INTEGER = /^[+-]?\d+$/;

/**
 * The TTL the event carries, read as Knative reads it (sdk-go types.ToInteger): an integer in the int32
 * range, as a number or a canonical decimal string. Anything else (`abc`, `1e3`, `1.5`, `true`) or
 * no extension = undefined, which Knative replaces with the default.
 */
export function readTtl(event: PlainEvent): number | undefined {
  const raw = event[BROKER_TTL_EXTENSION];
  let n: number;
  if (typeof raw === 'number') n = raw;
  else if (typeof raw === 'string' && CANONICAL_INTEGER.test(raw)) n = Number(raw);
  else return undefined;
  return Number.isInteger(n) && n >= INT32_MIN && n <= INT32_MAX ? n : undefined;
}

export type IngressTtl = { ok: true; event: PlainEvent } | { ok: false; message: string };

/**
 * An event entering a Broker through its ingress. One that carries a TTL spends a hop there, as at
 * Knative's ingress (it is a reply coming back, e.g. from a Knative broker's filter or an Eddy
 * Subscription), capped at `limit` so a sender cannot buy more hops than the Broker allows; one whose
 * TTL is then spent is refused. One without a readable TTL is stored exactly as sent (Knative would
 * write the default into it): the dispatcher counts it as `limit`, which makes the same number of hops.
 */
export function admitTtl(event: PlainEvent, limit = DEFAULT_BROKER_TTL): IngressTtl {
  const received = readTtl(event);
  if (received === undefined) return { ok: true, event };
  const ttl = Math.min(received - 1, limit);
  if (ttl <= 0) {
    return {
      ok: false,
      message: `event ${JSON.stringify(event.id)}: its ${BROKER_TTL_EXTENSION} extension (${JSON.stringify(
        event[BROKER_TTL_EXTENSION],
      )}) is spent: it has come back through brokers as many times as allowed (a reply loop?)`,
    };
  }
  return { ok: true, event: setTtl(event, ttl) };
}

/**
 * The TTL a reply to `received` carries: one fewer than the received event's (which counts as `limit`
 * when it has none, or more than `limit`). 0 or less = the reply is cut.
 */
export function replyTtl(received: PlainEvent, limit = DEFAULT_BROKER_TTL): number {
  const ttl = readTtl(received);
  return Math.max(0, Math.min(ttl ?? limit, limit) - 1);
}

/** The event with its TTL set; strings, as the HTTP and Kafka bindings carry every extension. */
export function setTtl(event: PlainEvent, ttl: number): PlainEvent {
  return event[BROKER_TTL_EXTENSION] === String(ttl)
    ? event
    : withExtensions(event, { [BROKER_TTL_EXTENSION]: String(ttl) });
}

/** The event as a Trigger's subscriber gets it: Knative's broker filter removes the TTL, which is the Broker's bookkeeping. */
export function withoutTtl(event: PlainEvent): PlainEvent {
  if (!(BROKER_TTL_EXTENSION in event)) return event;
  const { [BROKER_TTL_EXTENSION]: _spent, ...rest } = event;
  return rest as PlainEvent;
}

/** Why a reply was cut, for the dead-letter sink's `knativeerrordata` and the log. */
export function loopCutReason(route: DispatchRoute, received: PlainEvent): string {
  const limit = route.ttl ?? DEFAULT_BROKER_TTL;
  return `reply loop cut: the reply of ${route.kind} ${route.namespace}/${route.name} to event ${JSON.stringify(
    received.id,
  )} would carry ${BROKER_TTL_EXTENSION} 0 (an event may come back as a reply ${limit - 1} times; the limit is ${limit}: ${BROKER_TTL_ANNOTATION} on the Broker, or --broker-ttl)`;
}
