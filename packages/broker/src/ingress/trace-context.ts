// W3C Trace Context at the ingress. A producer instrumented with OpenTelemetry sends `traceparent`
// (and maybe `tracestate`) as HTTP headers; those headers die with the request unless they are
// attached to the event. Following the CloudEvents Distributed Tracing extension, they become the
// event's `traceparent` / `tracestate` extension attributes, which travel with the event through
// the log to every subscriber. An event that already carries a traceparent keeps its own (and its
// own tracestate): the producer set it deliberately, e.g. the span that created the event.

import { type PlainEvent, withExtensions } from '@eddy/api';

// version-traceid-parentid-flags; future versions may append fields after a "-".
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/;
const INVALID_VERSION = 'ff';
const ZERO_TRACE = /^[0-9a-f]{2}-0{32}-/;
const ZERO_PARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-0{16}-/;

/** A valid traceparent header value, or undefined (an invalid one is ignored, as the W3C spec says). */
export function validTraceparent(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!TRACEPARENT.test(trimmed)) return undefined;
  if (trimmed.startsWith(INVALID_VERSION) || ZERO_TRACE.test(trimmed) || ZERO_PARENT.test(trimmed))
    return undefined;
  // Version 00 has exactly four fields.
  if (trimmed.startsWith('00-') && trimmed.length !== 55) return undefined;
  return trimmed;
}

/** Adds the request's trace context to events that have none; other events are returned as they are. */
export function withTraceContext(
  events: PlainEvent[],
  traceparentHeader: string | undefined,
  tracestateHeader: string | undefined,
): PlainEvent[] {
  const traceparent = validTraceparent(traceparentHeader);
  if (traceparent === undefined) return events;
  const tracestate = tracestateHeader?.trim() || undefined;
  return events.map((event) => {
    if (event.traceparent !== undefined) return event;
    const extensions: Record<string, string> = { traceparent };
    if (tracestate !== undefined) extensions.tracestate = tracestate;
    return withExtensions(event, extensions);
  });
}
