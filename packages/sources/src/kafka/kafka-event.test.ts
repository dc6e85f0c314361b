import { describe, expect, it } from 'vitest';
import { recordToEvent } from './kafka-event.js';

const origin = { namespace: 'n', name: 'k', topic: 'orders', partition: 0 };

describe('KafkaSource record mapping', () => {
  // Found by foreign-messages.fuzz.test.ts: the mapping threw "RangeError: Invalid time value".
  it('maps a record whose timestamp is past the Date range to an event without time', () => {
    for (const timestamp of ['9223372036854775807', '8640000000000001']) {
      const event = recordToEvent(
        { key: null, value: Buffer.from('x'), offset: '5', timestamp },
        origin,
        'string',
      );
      expect(event.id).toBe('partition:0/offset:5');
      expect(event.time).toBeUndefined();
    }
    const dated = recordToEvent(
      { key: null, value: null, offset: '6', timestamp: '8640000000000000' },
      origin,
      'string',
    );
    expect(dated.time).toBe('+275760-09-13T00:00:00.000Z');
  });

  // Found by foreign-messages.fuzz.test.ts: datacontenttype "" made an event every sink refuses.
  it('leaves an empty content-type header out', () => {
    const event = recordToEvent(
      { key: null, value: Buffer.from('x'), offset: '7', headers: { 'Content-Type': '' } },
      origin,
      'string',
    );
    expect(event.datacontenttype).toBeUndefined();
  });
});
