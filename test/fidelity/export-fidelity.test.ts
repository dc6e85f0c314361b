// Export and import keep every event: random valid CloudEvents (random-events.ts, written
// independently of @eddy/api's bindings), received by the ingress in binary, structured and batch
// mode, are exported; the line imports (as `eddy events import` sends it) to an event whose export
// line is the same text, also after a trip through the Kafka binding, with the attributes as the
// sender wrote them (canonical strings) and the data bytes a subscriber must get.

import { fromKafkaMessage, type PlainEvent, parseHttpRequest, toHttpBinary, toKafkaBinary } from '@eddy/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { exportLine, parseImportLine } from '../../packages/cli/src/events/export-format.ts';
import {
  binaryRequest,
  expected,
  FIDELITY_RUN,
  jsonText,
  randomEvent,
  received,
  SPACINGS,
} from './random-events.ts';

/** What the ingress stores for the request `eddy events import` makes of an export line. */
function imported(line: string): PlainEvent {
  const parsed = parseImportLine(line);
  const request =
    parsed.mode === 'batch'
      ? {
          headers: { 'content-type': 'application/cloudevents-batch+json' },
          body: Buffer.from(`[${parsed.text}]`),
        }
      : parsed.message;
  const [event] = parseHttpRequest(request.headers, request.body).events;
  if (event === undefined) throw new Error('no event');
  return event;
}

const throughKafka = (event: PlainEvent) => fromKafkaMessage(toKafkaBinary(event));

describe('export lines of random events', () => {
  for (const mode of ['binary', 'structured', 'batch'] as const) {
    it(`sent in ${mode} mode: a fixed point through import and the Kafka log, delivering what was sent`, () => {
      fc.assert(
        fc.property(randomEvent, fc.constantFrom(...SPACINGS), (sent, spacing) => {
          const request =
            mode === 'binary'
              ? binaryRequest(sent)
              : mode === 'structured'
                ? {
                    headers: { 'content-type': 'application/cloudevents+json' },
                    body: Buffer.from(jsonText(sent, spacing)),
                  }
                : {
                    headers: { 'content-type': 'application/cloudevents-batch+json' },
                    body: Buffer.from(`[${jsonText(sent, spacing)}]`),
                  };
          const [stored] = parseHttpRequest(request.headers, request.body).events;
          if (stored === undefined) throw new Error('the ingress parsed no event');
          const line = exportLine(stored);
          expect(line).not.toMatch(/[\r\n]/);
          const back = imported(line);
          expect(exportLine(back)).toBe(line);
          expect(exportLine(throughKafka(back))).toBe(line);
          expect(exportLine(throughKafka(stored))).toBe(line);
          // A subscriber of the imported copy gets what a subscriber of the original must get.
          const delivered = toHttpBinary(back);
          expect(received(delivered.headers, delivered.body)).toEqual(
            expected(sent, mode === 'binary' ? 'binary' : 'json'),
          );
        }),
        FIDELITY_RUN,
      );
    });
  }
});
