// The Replay reconciler through computeContract: plans from Ready Triggers or a Destination, the
// window's end fixed by the start time, waiting and failing, progress into status, completion.

import { type ContractInput, loadText, type ReplayStatus, resourceKey } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import type { ReplayProgress } from '../replay/replay-progress.js';
import { computeContract } from './compute-contract.js';

const FROM = '2026-12-01T10:00:00Z';
const NOW = Date.parse('2026-12-06T12:00:00Z');

function load(...docs: string[]): ContractInput[] {
  const r = loadText(docs.join('\n---\n'), 'test.yaml');
  expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
  return r.resources;
}

const mesh = [
  'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: default}\n',
  'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata: {name: other}\n',
  'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: orders}\nspec:\n  broker: default\n  filter: {attributes: {type: order.created}}\n  subscriber: {uri: "http://127.0.0.1:9/o"}\n  delivery: {retry: 3}\n',
  'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: elsewhere}\nspec:\n  broker: other\n  subscriber: {uri: "http://127.0.0.1:9/e"}\n',
];

function replay(spec: string, status?: Partial<ReplayStatus>): ContractInput {
  const [r] = load(
    `apiVersion: eventing.eddy.dev/v1alpha1\nkind: Replay\nmetadata: {name: r1, uid: u-1}\nspec:\n  from: "${FROM}"\n${spec}`,
  );
  if (status) (r!.resource as { status?: unknown }).status = status;
  return r!;
}

function compute(inputs: ContractInput[], progress?: ReplayProgress, now: number | null = NOW) {
  const result = computeContract(inputs, {
    brokerIngressUrl: 'http://127.0.0.1:8080',
    ...(now !== null ? { now } : {}),
    ...(progress ? { replayProgress: () => progress } : {}),
  });
  const status = result.statuses.get(resourceKey('Replay', 'default', 'r1')) as unknown as ReplayStatus;
  return { plans: result.contract.replays ?? [], status, contract: result.contract };
}

const condition = (s: ReplayStatus, type: string) => s.conditions.find((c) => c.type === type);

describe('Replay', () => {
  it("plans a window replay through a Trigger: its filter, subscriber and delivery, on the replay's own group", () => {
    const { plans, status } = compute([
      ...load(...mesh),
      replay(
        '  broker: default\n  target: {triggers: [orders]}\n  rate: 50\n  filters: [{prefix: {source: shop}}]\n',
      ),
    ]);
    expect(plans).toHaveLength(1);
    const plan = plans[0]!;
    expect(plan).toMatchObject({
      id: 'default/r1',
      uid: 'u-1',
      topic: expect.stringContaining('default'),
      from: Date.parse(FROM),
      to: NOW,
      rate: 50,
      dryRun: false,
      suspended: false,
      filter: { filters: [{ prefix: { source: 'shop' } }] },
    });
    expect(plan.targets).toHaveLength(1);
    expect(plan.targets[0]).toMatchObject({
      id: 'replay/default/r1/orders',
      group: 'eddy-replay-u-1-orders',
      subscriber: 'http://127.0.0.1:9/o',
      filter: { attributes: { type: 'order.created' } },
      delivery: { retry: 3 },
      startFrom: { timestamp: Date.parse(FROM) },
      reply: { kind: 'topic', topic: plan.topic },
    });
    expect(condition(status, 'Ready')?.status).toBe('True');
    expect(condition(status, 'Succeeded')).toMatchObject({ status: 'Unknown', reason: 'Running' });
    expect(status.startTime).toBe(new Date(NOW).toISOString());
    expect(status.window).toEqual({
      from: new Date(Date.parse(FROM)).toISOString(),
      to: new Date(NOW).toISOString(),
    });
  });

  it('keeps the end of the window at the stored start time, and never past it', () => {
    const started = '2026-12-06T11:00:00.000Z';
    const later = compute(
      [
        ...load(...mesh),
        replay('  broker: default\n  to: "2027-01-01T00:00:00Z"\n  target: {triggers: [orders]}\n', {
          startTime: started,
          conditions: [],
        }),
      ],
      undefined,
      NOW + 3_600_000,
    );
    expect(later.plans[0]?.to).toBe(Date.parse(started));
    expect(later.status.startTime).toBe(started);
    const earlier = compute([
      ...load(...mesh),
      replay('  broker: default\n  to: "2026-12-01T11:00:00Z"\n  target: {triggers: [orders]}\n'),
    ]);
    expect(earlier.plans[0]?.to).toBe(Date.parse('2026-12-01T11:00:00Z'));
  });

  it('waits, saying why, for a missing broker or Trigger, a Trigger of another broker, or the clock', () => {
    const cases: [string, string, RegExp][] = [
      ['  broker: nope\n  target: {triggers: [orders]}\n', 'BrokerNotReady', /Broker "nope" does not exist/],
      [
        '  broker: default\n  target: {triggers: [missing]}\n',
        'TriggerNotReady',
        /Trigger "missing" does not exist/,
      ],
      [
        '  broker: default\n  target: {triggers: [elsewhere]}\n',
        'TriggerNotOnSource',
        /not on Broker "default"/,
      ],
    ];
    for (const [spec, reason, message] of cases) {
      const { plans, status } = compute([...load(...mesh), replay(spec)]);
      expect(plans).toEqual([]);
      expect(condition(status, 'Ready')).toMatchObject({
        status: 'False',
        reason,
        message: expect.stringMatching(message),
      });
      expect(condition(status, 'Succeeded')).toMatchObject({ status: 'Unknown', reason: 'Waiting' });
      expect(status.startTime).toBeUndefined();
    }
    const noClock = compute(
      [...load(...mesh), replay('  broker: default\n  target: {triggers: [orders]}\n')],
      undefined,
      null,
    );
    expect(noClock.plans).toEqual([]);
  });

  it('fails, for good, when its Trigger goes away after it started', () => {
    const { plans, status } = compute([
      ...load(...mesh),
      replay('  broker: default\n  target: {triggers: [missing]}\n', {
        startTime: '2026-12-06T11:00:00.000Z',
        conditions: [],
      }),
    ]);
    expect(plans).toEqual([]);
    expect(condition(status, 'Succeeded')).toMatchObject({ status: 'False', reason: 'Failed' });
    expect(status.completionTime).toBeDefined();
    const again = compute([
      ...load(...mesh),
      replay('  broker: default\n  target: {triggers: [orders]}\n', status),
    ]);
    expect(again.plans).toEqual([]);
    expect(again.status).toBe(status);
  });

  it('a Destination target gets the Replay delivery; suspend and dry run are in the plan', () => {
    const { plans, status } = compute([
      ...load(...mesh),
      replay(
        '  broker: default\n  target: {destination: {uri: "http://127.0.0.1:9/d"}}\n  delivery: {retry: 1}\n  suspend: true\n  dryRun: true\n',
      ),
    ]);
    expect(plans[0]).toMatchObject({ suspended: true, dryRun: true });
    expect(plans[0]?.targets[0]).toMatchObject({
      id: 'replay/default/r1/destination',
      subscriber: 'http://127.0.0.1:9/d',
      delivery: { retry: 1 },
      ordering: 'unordered',
    });
    expect(condition(status, 'Succeeded')).toMatchObject({ status: 'Unknown', reason: 'Suspended' });
  });

  it("a Destination with an audience gets the Replay's own OIDC subject, so deliveries carry Eddy's token", () => {
    const { plans } = compute([
      ...load(...mesh),
      replay(
        '  broker: default\n  target: {destination: {uri: "http://127.0.0.1:9/d", audience: replay-sink}}\n',
      ),
    ]);
    expect(plans[0]?.targets[0]).toMatchObject({
      subscriberAudience: 'replay-sink',
      senderSubject: 'system:serviceaccount:default:r1-oidc-eventing.eddy.dev-replay',
    });
    const plain = compute([
      ...load(...mesh),
      replay('  broker: default\n  target: {destination: {uri: "http://127.0.0.1:9/d"}}\n'),
    ]);
    expect(plain.plans[0]?.targets[0]).not.toHaveProperty('senderSubject');
    expect(plain.plans[0]?.targets[0]).not.toHaveProperty('subscriberAudience');
  });

  it('reports progress, and once every partition is at its end: Completed, out of the contract', () => {
    const inputs = [...load(...mesh), replay('  broker: default\n  target: {triggers: [orders]}\n')];
    const running: ReplayProgress = {
      total: 10,
      progress: [{ partition: 0, offset: 4, end: 10 }],
      counts: { matched: 3, delivered: 2, deadLettered: 1, failed: 0, skipped: 1 },
      lastTimestamp: Date.parse('2026-12-01T10:30:00Z'),
      done: false,
    };
    const first = compute(inputs, running);
    expect(first.status).toMatchObject({
      total: 10,
      matched: 3,
      delivered: 2,
      deadLettered: 1,
      skipped: 1,
      progress: [{ partition: 0, offset: 4, end: 10 }],
      lastReplayedTime: '2026-12-01T10:30:00.000Z',
    });
    const done = compute(inputs, {
      ...running,
      done: true,
      progress: [{ partition: 0, offset: 10, end: 10 }],
    });
    expect(done.plans).toEqual([]);
    expect(condition(done.status, 'Succeeded')).toMatchObject({ status: 'True', reason: 'Completed' });
    expect(done.status.completionTime).toBe(new Date(NOW).toISOString());
  });

  it('bumps the contract generation only when a plan changes', () => {
    const inputs = [
      ...load(...mesh),
      replay('  broker: default\n  target: {triggers: [orders]}\n', {
        startTime: '2026-12-06T11:00:00.000Z',
        conditions: [],
      }),
    ];
    const a = compute(inputs).contract;
    const b = computeContract(inputs, {
      brokerIngressUrl: 'http://127.0.0.1:8080',
      now: NOW + 5_000,
      previous: a,
    });
    expect(b.contract.generation).toBe(a.generation);
  });

  it("replays a channel through its Subscriptions (their reply), and refuses another channel's", () => {
    const channel = (name: string) =>
      `apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata: {name: ${name}}\n`;
    const subscription = (name: string, ch: string) =>
      `apiVersion: messaging.knative.dev/v1\nkind: Subscription\nmetadata: {name: ${name}}\nspec:\n  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: ${ch}}\n  subscriber: {uri: "http://127.0.0.1:9/s"}\n  reply: {uri: "http://127.0.0.1:9/reply"}\n`;
    const inputs = load(channel('c'), channel('d'), subscription('s1', 'c'), subscription('s2', 'd'));
    const spec = (sub: string) =>
      `  channel: {apiVersion: messaging.knative.dev/v1, kind: InMemoryChannel, name: c}\n  target: {subscriptions: [${sub}]}\n`;
    const { plans, status } = compute([...inputs, replay(spec('s1'))]);
    expect(plans[0]?.targets[0]).toMatchObject({
      kind: 'Subscription',
      id: 'replay/default/r1/s1',
      subscriber: 'http://127.0.0.1:9/s',
      reply: { kind: 'url', url: 'http://127.0.0.1:9/reply' },
    });
    expect(condition(status, 'Ready')?.status).toBe('True');
    const other = compute([...inputs, replay(spec('s2'))]);
    expect(other.plans).toEqual([]);
    expect(condition(other.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'SubscriptionNotOnSource',
    });
  });
});
