import type { DispatchRoute, PlainEvent } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { admitBrokerTtl } from '../ingress/broker-ttl.js';
import { admitTtl, loopCutReason, readTtl, replyTtl, setTtl, withoutTtl } from './reply-ttl.js';

const base: PlainEvent = { specversion: '1.0', id: 'e1', source: '/s', type: 't', data: Buffer.from('x') };
const withTtl = (ttl: unknown): PlainEvent => ({ ...base, knativebrokerttl: ttl });

describe('readTtl (Knative: sdk-go types.ToInteger)', () => {
  it.each([
    ['255', 255],
    [255, 255],
    ['+7', 7],
    ['-1', -1],
    ['0', 0],
  ])('%j is the integer %d', (raw, want) => expect(readTtl(withTtl(raw))).toBe(want));

  it.each([['abc'], ['1e3'], ['1.5'], [''], [' 5'], [1.5], [true], ['99999999999']])(
    '%j is not an integer: undefined (Knative defaults it)',
    (raw) => expect(readTtl(withTtl(raw))).toBeUndefined(),
  );

  it('absent: undefined', () => expect(readTtl(base)).toBeUndefined());
});

describe('admitTtl (the broker ingress)', () => {
  it('an event without the extension is stored as sent (the dispatcher counts it as the limit)', () => {
    expect(admitTtl(base, 10)).toEqual({ ok: true, event: base });
    const r = admitTtl(base, 10);
    if (r.ok) expect(r.event).toBe(base);
  });

  it('malformed values (abc, 1e3) are left as sent: they count as the limit, as Knative defaults them', () => {
    expect(admitTtl(withTtl('abc'), 10)).toEqual({ ok: true, event: withTtl('abc') });
    expect(admitTtl(withTtl('1e3'), 10)).toEqual({ ok: true, event: withTtl('1e3') });
    expect(replyTtl(withTtl('1e3'), 10)).toBe(9);
  });

  it('an event carrying a TTL spends one hop (a reply coming back through the ingress); data untouched', () => {
    const r = admitTtl(withTtl('5'), 10);
    expect(r).toMatchObject({ ok: true, event: { knativebrokerttl: '4' } });
    if (r.ok) expect(r.event.data).toBe(base.data);
    expect(admitTtl(withTtl(255))).toMatchObject({ ok: true, event: { knativebrokerttl: '254' } });
  });

  it('a TTL above the limit is capped at the limit', () => {
    expect(admitTtl(withTtl('200'), 10)).toMatchObject({ ok: true, event: { knativebrokerttl: '10' } });
  });

  it.each([['1'], ['0'], ['-1']])('%j is spent: refused with the reason (Knative: 400)', (raw) => {
    const r = admitTtl(withTtl(raw), 10);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('knativebrokerttl');
  });

  it('a batch is refused whole when one of its events is spent; an untouched batch is the same array', () => {
    expect(admitBrokerTtl([base, withTtl('1')], 5)).toMatchObject({ ok: false });
    expect(admitBrokerTtl([base, withTtl('3')], 5)).toMatchObject({
      ok: true,
      events: [base, { knativebrokerttl: '2' }],
    });
    const events = [base, base];
    expect(admitBrokerTtl(events, 5)).toEqual({ ok: true, events });
    const same = admitBrokerTtl(events, 5);
    if (same.ok) expect(same.events).toBe(events);
  });
});

describe('replyTtl (the dispatcher)', () => {
  it('a reply carries one hop fewer than the event it answers', () => {
    expect(replyTtl(withTtl('255'))).toBe(254);
    expect(replyTtl(withTtl('2'), 10)).toBe(1);
    expect(replyTtl(withTtl('1'), 10)).toBe(0);
  });

  it('an event without a readable TTL counts as the limit', () => {
    expect(replyTtl(base, 5)).toBe(4);
    expect(replyTtl(withTtl('abc'), 5)).toBe(4);
    expect(replyTtl(base)).toBe(254);
  });

  it('never more than limit - 1, never below 0', () => {
    expect(replyTtl(withTtl('1000'), 5)).toBe(4);
    expect(replyTtl(withTtl('-7'), 5)).toBe(0);
  });

  it('a loop of limit L makes exactly L deliveries', () => {
    for (const limit of [1, 5, 255]) {
      const admitted = admitTtl(base, limit);
      let current = admitted.ok ? admitted.event : base;
      let deliveries = 0;
      for (;;) {
        deliveries++;
        const ttl = replyTtl(current, limit);
        if (ttl <= 0) break;
        current = setTtl({ ...base, id: `r${deliveries}` }, ttl);
      }
      expect(deliveries).toBe(limit);
    }
  });
});

describe('setTtl / withoutTtl', () => {
  it('setTtl overwrites whatever the reply carried', () => {
    expect(setTtl(withTtl('255'), 3).knativebrokerttl).toBe('3');
  });

  it('withoutTtl removes only the extension; an event without it is returned as it is', () => {
    expect(withoutTtl(withTtl('4'))).toEqual(base);
    expect(withoutTtl(base)).toBe(base);
  });
});

it('loopCutReason names the route, the event and the limit', () => {
  const route = { kind: 'Trigger', namespace: 'ns', name: 'echo', ttl: 5 } as DispatchRoute;
  const reason = loopCutReason(route, base);
  expect(reason).toContain('Trigger ns/echo');
  expect(reason).toContain('"e1"');
  expect(reason).toContain('limit is 5');
});
