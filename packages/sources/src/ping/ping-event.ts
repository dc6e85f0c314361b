// The CloudEvent a PingSource tick produces, with the attributes Knative's adapter gives it (README
// "PingSource" has the table), so consumers written for Knative's PingSource work unchanged.

import { randomUUID } from 'node:crypto';
import type { PingSource, PlainEvent } from '@eddy/api';

export type PingSourceSpec = PingSource['spec'];

export const PING_EVENT_TYPE = 'dev.knative.sources.ping';

/** The `source` attribute of a PingSource's events (the same for v1 and v1beta2 resources). */
export function pingEventSource(namespace: string, name: string): string {
  return `/apis/v1/namespaces/${namespace}/pingsources/${name}`;
}

function isJsonMedia(contentType: string | undefined): boolean {
  const media = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || media.endsWith('+json');
}

/**
 * The event's data: dataBase64 decoded to bytes; data as a parsed JSON value when contentType is
 * JSON (Knative re-serializes it, so the body is compact JSON, and it appears as `data`, never
 * `data_base64`, in structured mode); otherwise data as text. Throws on JSON that does not parse
 * (the resource validation rejects that first).
 */
export function pingData(spec: PingSourceSpec): unknown {
  if (spec.dataBase64) return Buffer.from(spec.dataBase64, 'base64');
  if (!spec.data) return undefined;
  if (isJsonMedia(spec.contentType)) {
    try {
      return JSON.parse(spec.data);
    } catch (err) {
      throw new TypeError(
        `spec.data: contentType is ${spec.contentType} but data is not JSON: ${(err as Error).message}`,
      );
    }
  }
  return spec.data;
}

/** One tick's event; `time` is the tick's scheduled time, so every retry carries the same event. */
export function pingEvent(
  namespace: string,
  name: string,
  data: unknown,
  contentType: string | undefined,
  time: Date,
): PlainEvent {
  const event: { -readonly [K in keyof PlainEvent]: PlainEvent[K] } = {
    specversion: '1.0',
    id: randomUUID(),
    type: PING_EVENT_TYPE,
    source: pingEventSource(namespace, name),
    time: time.toISOString(),
  };
  if (data !== undefined) {
    event.data = data;
    if (contentType) event.datacontenttype = contentType;
  }
  return event;
}
