// Replay manifests through the loader: a valid one loads; every mistake is a located error.

import { describe, expect, it } from 'vitest';
import { loadText } from './load.js';
import { formatProblem } from './problem.js';

const load = (spec: string[]) =>
  loadText(
    [
      'apiVersion: eventing.eddy.dev/v1alpha1',
      'kind: Replay',
      'metadata: {name: r1}',
      'spec:',
      ...spec,
      '',
    ].join('\n'),
    'r.yaml',
  );
const errors = (spec: string[]) =>
  load(spec)
    .problems.filter((p) => p.severity === 'error')
    .map(formatProblem);

describe('eventing.eddy.dev/v1alpha1 Replay', () => {
  it('loads a window replay through Triggers, with filters, rate, dryRun and suspend', () => {
    const r = load([
      '  broker: default',
      '  from: "2026-12-01T10:00:00Z"',
      '  to: "2026-12-01T12:00:00.5+01:00"',
      '  filters: [{cesql: "type LIKE \'order.%\'"}]',
      '  target: {triggers: [orders-to-processor]}',
      '  rate: 200',
      '  dryRun: false',
      '  suspend: false',
    ]);
    expect(r.problems).toEqual([]);
    expect(r.resources.map((x) => `${x.kind} ${x.namespace}/${x.name}`)).toEqual(['Replay default/r1']);
  });

  it('loads a replay of a channel to a Destination with its own delivery', () => {
    expect(
      errors([
        '  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: c}',
        '  from: "2026-12-01T10:00:00Z"',
        '  target: {destination: {uri: "http://127.0.0.1:9/x"}}',
        '  delivery: {retry: 2}',
      ]),
    ).toEqual([]);
  });

  it('reports each mistake at its field', () => {
    expect(
      errors([
        '  from: "yesterday"',
        '  to: "2026-12-01"',
        '  target: {triggers: [a, a], destination: {uri: "http://x/"}}',
        '  rate: 0',
      ]),
    ).toEqual([
      'r.yaml:4:1: error: #0 Replay default/r1: spec.broker: required field is missing: the Broker to replay (or "channel")',
      'r.yaml:5:9: error: #0 Replay default/r1: spec.from: expected an RFC 3339 time such as "2026-12-01T10:00:00Z", found "yesterday"',
      'r.yaml:6:7: error: #0 Replay default/r1: spec.to: expected an RFC 3339 time such as "2026-12-01T12:00:00Z", found "2026-12-01"',
      'r.yaml:7:3: error: #0 Replay default/r1: spec.target: expected exactly one of "triggers", "subscriptions" and "destination", found triggers and destination',
      'r.yaml:7:26: error: #0 Replay default/r1: spec.target.triggers[1]: "a" is listed twice',
      'r.yaml:8:9: error: #0 Replay default/r1: spec.rate: expected a number of events per second > 0, found 0',
    ]);
    expect(
      errors([
        '  broker: b',
        '  from: "2026-12-01T10:00:00Z"',
        '  to: "2026-12-01T09:00:00Z"',
        '  target: {subscriptions: [s]}',
      ]),
    ).toEqual([
      'r.yaml:7:7: error: #0 Replay default/r1: spec.to: must be after spec.from (2026-12-01T10:00:00Z), found "2026-12-01T09:00:00Z"',
      'r.yaml:8:12: error: #0 Replay default/r1: spec.target.subscriptions: a broker has Triggers, not Subscriptions: use "triggers"',
    ]);
  });
});
