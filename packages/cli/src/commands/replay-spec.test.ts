import { loadText } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../usage-error.js';
import { buildReplay, defaultReplayName, type ReplayFlags, refArgument, rfc3339 } from './replay-spec.js';

const now = Date.parse('2026-12-06T16:46:51.250Z');
const build = (flags: ReplayFlags, broker = 'default') => buildReplay(broker, flags, 'default', now);
const usage = (flags: ReplayFlags, broker = 'default') => {
  try {
    build(flags, broker);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
};

describe('eddy replay flags to a Replay', () => {
  it('a duration ago and RFC 3339 times become RFC 3339 in the spec; the default name is timestamped', () => {
    expect(build({ from: '2h', trigger: ['orders', 'audit'] })).toEqual({
      apiVersion: 'eventing.eddy.dev/v1alpha1',
      kind: 'Replay',
      metadata: { name: 'default-replay-20261206-164651', namespace: 'default' },
      spec: {
        broker: 'default',
        from: '2026-12-06T14:46:51.250Z',
        target: { triggers: ['orders', 'audit'] },
      },
    });
    const r = build({
      from: '2026-12-06T10:00:00+01:00',
      to: '2026-12-06T10:30:00Z',
      toUri: 'http://localhost:8080/hook',
      filter: "type = 'com.example.order.created'",
      rate: '2.5',
      dryRun: true,
      name: 'orders-again',
    });
    expect(r.metadata.name).toBe('orders-again');
    expect(r.spec).toEqual({
      broker: 'default',
      from: '2026-12-06T09:00:00Z',
      to: '2026-12-06T10:30:00Z',
      filters: [{ cesql: "type = 'com.example.order.created'" }],
      target: { destination: { uri: 'http://localhost:8080/hook' } },
      rate: 2.5,
      dryRun: true,
    });
    expect(rfc3339(Date.parse('2026-12-06T09:00:00.000Z'))).toBe('2026-12-06T09:00:00Z');
  });

  it('what it builds, sent as JSON text like the apply request, passes the Replay validation of @eddy/api', () => {
    for (const r of [
      build({ from: '2h', trigger: ['orders'] }),
      build({
        from: '1d',
        to: '1h',
        toRef: 'ksvc/display',
        filter: "source = '/shop'",
        rate: '100',
        dryRun: true,
      }),
    ]) {
      const loaded = loadText(JSON.stringify(r), '<eddy replay>');
      expect(loaded.problems).toEqual([]);
      expect(loaded.resources).toHaveLength(1);
    }
  });

  it('--to-ref <kind>/<name> resolves the kind names to apiVersion and kind', () => {
    expect(refArgument('ksvc/display')).toEqual({
      apiVersion: 'serving.knative.dev/v1',
      kind: 'Service',
      name: 'display',
    });
    expect(refArgument('broker/other')).toEqual({
      apiVersion: 'eventing.knative.dev/v1',
      kind: 'Broker',
      name: 'other',
    });
    expect(refArgument('imc/ch')).toMatchObject({
      apiVersion: 'messaging.knative.dev/v1',
      kind: 'InMemoryChannel',
    });
  });

  it('default names are DNS-1123 labels, whatever the broker is called', () => {
    expect(defaultReplayName('default', now)).toBe('default-replay-20261206-164651');
    expect(defaultReplayName('shop.orders', now)).toBe('shop-orders-replay-20261206-164651');
    const long = defaultReplayName(`${'a'.repeat(40)}-${'b'.repeat(40)}`, now);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    // Cut right after a dash: the dash goes too.
    expect(defaultReplayName(`${'a'.repeat(39)}-b`, now)).toBe(`${'a'.repeat(39)}-replay-20261206-164651`);
  });

  it.each<[string, ReplayFlags, string | RegExp, string?]>([
    ['no --from', { trigger: ['t'] }, /^missing --from: /],
    [
      'a bad --from',
      { from: 'yesterday', trigger: ['t'] },
      /^invalid --from "yesterday": expected an RFC 3339 time/,
    ],
    ['a bad --to', { from: '2h', to: '10:00', trigger: ['t'] }, /^invalid --to "10:00"/],
    ['--from in the future', { from: '2026-12-07T00:00:00Z', trigger: ['t'] }, /is in the future/],
    ['--to before --from', { from: '1h', to: '2h', trigger: ['t'] }, '--to 2h must be after --from 1h'],
    [
      'no target',
      { from: '1h' },
      /^missing the target: --trigger <name> \(repeatable\), --to-uri <url> or --to-ref/,
    ],
    [
      'two kinds of target',
      { from: '1h', trigger: ['t'], toRef: 'ksvc/x' },
      /^give one target, not --trigger and --to-ref/,
    ],
    ['a trigger twice', { from: '1h', trigger: ['t', 't'] }, '--trigger t is given twice'],
    ['a bad trigger name', { from: '1h', trigger: ['T_1'] }, /^invalid trigger "T_1"/],
    [
      'a relative --to-uri',
      { from: '1h', toUri: '/hook' },
      /^invalid --to-uri "\/hook": expected an absolute URL/,
    ],
    ['a non-http --to-uri', { from: '1h', toUri: 'ftp://x/' }, /expected an http or https URL/],
    [
      '--to-ref without a name',
      { from: '1h', toRef: 'ksvc' },
      /^invalid --to-ref "ksvc": expected <kind>\/<name>/,
    ],
    [
      '--to-ref with an unknown kind',
      { from: '1h', toRef: 'ksv/x' },
      /^invalid --to-ref "ksv\/x": unknown kind "ksv"/,
    ],
    [
      '--rate 0',
      { from: '1h', trigger: ['t'], rate: '0' },
      /^invalid --rate "0": expected events per second > 0/,
    ],
    ['--rate abc', { from: '1h', trigger: ['t'], rate: 'abc' }, /^invalid --rate "abc"/],
    ['a bad --filter', { from: '1h', trigger: ['t'], filter: 'type =' }, /^invalid --filter: .*column 7/],
    ['a bad --name', { from: '1h', trigger: ['t'], name: 'Nope!' }, /^invalid replay "Nope!"/],
    ['a bad broker', { from: '1h', trigger: ['t'] }, /^invalid broker "B"/, 'B'],
  ])('%s is a usage error', (_what, flags, message, broker) => {
    const said = usage(flags, broker);
    if (typeof message === 'string') expect(said).toBe(message);
    else expect(said).toMatch(message);
  });
});
