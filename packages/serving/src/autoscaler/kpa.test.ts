// Hand-computed cases of the KPA formulas and the backlog rule. Every expected value has its
// arithmetic beside it. Unless a case says otherwise: Knative's defaults, target 10 concurrent
// requests x utilization 0.7 = 7 per replica, stable window 60 s, panic window 6 s, panic at 200%,
// lag-target 100. Samples are recorded once per second (bucket i = the second ending at i s).

import type { ScalingSettings } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { scalingSettings } from '../control/scaling-settings.js';
import type { Autoscaler, DecisionInput } from './autoscaler.js';
import { createAutoscaler } from './kpa.js';

/** Knative's defaults (pinned by scaling-settings.test.ts) with a target of 10. */
function settings(overrides: Partial<ScalingSettings> = {}): ScalingSettings {
  return { ...scalingSettings({}, 0), target: 10, ...overrides };
}

function input(now: number, readyReplicas: number, extra: Partial<DecisionInput> = {}): DecisionInput {
  return { now, readyReplicas, actualReplicas: readyReplicas, lag: 0, inFlight: 0, routed: true, ...extra };
}

/** One sample per second for seconds from..to (inclusive). */
function feed(a: Autoscaler, fromS: number, toS: number, concurrency: number, rps = 0): void {
  for (let t = fromS; t <= toS; t++) a.record({ time: t * 1000, concurrency, rps });
}

describe('KPA: stable and panic', () => {
  it('stable mode: ceil(stable average / (target x utilization))', () => {
    const a = createAutoscaler(settings());
    feed(a, 1, 60, 35);
    // stable = 35, 35 / 7 = 5; panic = 35 -> 5, 5 / 5 ready = 1 < 2: no panic
    const d = a.decide(input(60_000, 5));
    expect(d).toMatchObject({
      desired: 5,
      reason: 'http',
      panic: false,
      httpDesired: 5,
      stableConcurrency: 35,
    });
    expect(d.detail).toBe('stable concurrency 35 over 60 s / (target 10 x 0.7) = 5');
  });

  it('enters panic on a surge in the panic window, never scales down in panic, leaves after a stable window', () => {
    const a = createAutoscaler(settings());
    feed(a, 1, 54, 14);
    feed(a, 55, 60, 70);
    // stable: (54 x 14 + 6 x 70) / 60 = (756 + 420) / 60 = 19.6 -> ceil(19.6 / 7) = ceil(2.8) = 3
    // panic (buckets 55..60): 70 -> 70 / 7 = 10; 10 / 2 ready = 5 >= 2: panic, desired max(3, 10) = 10
    let d = a.decide(input(60_000, 2));
    expect(d).toMatchObject({ desired: 10, reason: 'panic', panic: true, httpDesired: 10 });
    expect(d.stableConcurrency).toBe(19.6);

    feed(a, 61, 62, 7);
    // panic (57..62): (4 x 70 + 2 x 7) / 6 = 294 / 6 = 49 -> 7; 7 / 10 ready < 2: condition gone,
    // but panicking since 60 s until 60 + 60 s; stable (3..62): (52 x 14 + 420 + 14) / 60 = 19.37 -> 3,
    // raised to floor(10 / 2) = 5 by the scale-down rate; max(5, 7) = 7 < 10 held: desired 10
    d = a.decide(input(62_000, 10));
    expect(d).toMatchObject({ desired: 10, reason: 'panic', panic: true });
    expect(d.detail).toContain('holding 10, no scale-down in panic');

    feed(a, 63, 120, 7);
    // at 120 s: 60 s + 60 s is not before 120 s: still panic, still 10
    d = a.decide(input(120_000, 10));
    expect(d).toMatchObject({ desired: 10, reason: 'panic', panic: true });

    feed(a, 121, 121, 7);
    // at 121 s: out of panic. stable (62..121) = 7 -> 1, but floor(10 ready / 2) = 5 is the least
    d = a.decide(input(121_000, 10));
    expect(d).toMatchObject({ desired: 5, reason: 'bounds', panic: false });
    expect(d.detail).toContain('limited by max-scale-down-rate 2: 10 ready / 2 = 5');
  });

  it('panics from zero: a 6 s surge with no ready replica counts as 1 ready', () => {
    const a = createAutoscaler(settings({ initialScale: 0 }));
    feed(a, 1, 6, 21);
    // data starts at bucket 1 in both windows: stable = panic = 21 -> 21 / 7 = 3; 3 / max(1, 0) = 3 >= 2
    const d = a.decide(input(6000, 0));
    expect(d).toMatchObject({ desired: 3, reason: 'panic', panic: true });
  });

  it('is not fooled by float noise in target x utilization', () => {
    const a = createAutoscaler(settings({ target: 3, panicThresholdPercentage: 1000 }));
    feed(a, 1, 60, 2.1);
    // 3 x 0.7 = 2.0999999999999996 in floating point; 2.1 / 2.1 = 1 replica, not 2
    expect(a.decide(input(60_000, 1)).desired).toBe(1);
  });

  it('uses rps when metric is rps', () => {
    const a = createAutoscaler(settings({ metric: 'rps', target: 200 }));
    feed(a, 1, 60, 3, 500);
    // 500 rps / (200 x 0.7 = 140) = 3.57 -> 4; panic 4 / 4 ready = 1 < 2
    const d = a.decide(input(60_000, 4));
    expect(d).toMatchObject({ desired: 4, reason: 'http', panic: false, stableConcurrency: 3 });
    expect(d.detail).toContain('stable rps 500');
  });
});

describe('KPA: rate limits and bounds', () => {
  it('max-scale-up-rate: at most ceil(rate x ready)', () => {
    const a = createAutoscaler(settings({ maxScaleUpRate: 2, panicThresholdPercentage: 1000 }));
    feed(a, 1, 60, 70);
    // 70 / 7 = 10 wanted; ceil(2 x 3 ready) = 6; panic 10 / 3 = 3.3 < 10: stable mode
    const d = a.decide(input(60_000, 3));
    expect(d).toMatchObject({ desired: 6, reason: 'bounds', httpDesired: 6 });
    expect(d.detail).toContain('limited by max-scale-up-rate 2 x 3 ready = 6');
  });

  it('max-scale-down-rate: at least floor(ready / rate)', () => {
    const a = createAutoscaler(settings());
    feed(a, 1, 60, 7);
    // 7 / 7 = 1 wanted; floor(9 ready / 2) = 4
    expect(a.decide(input(60_000, 9))).toMatchObject({ desired: 4, reason: 'bounds' });
  });

  it('min-scale and max-scale (0 = unbounded)', () => {
    const low = createAutoscaler(settings({ minScale: 2 }));
    feed(low, 1, 60, 0);
    // 0 wanted, min-scale 2
    expect(low.decide(input(60_000, 2))).toMatchObject({ desired: 2, reason: 'bounds' });

    const capped = createAutoscaler(settings({ maxScale: 3, panicThresholdPercentage: 1000 }));
    feed(capped, 1, 60, 70);
    // 70 / 7 = 10, max-scale 3
    const d = capped.decide(input(60_000, 3));
    expect(d).toMatchObject({ desired: 3, reason: 'bounds', httpDesired: 10 });
    expect(d.detail).toMatch(/capped by max-scale 3$/);

    const unbounded = createAutoscaler(settings({ maxScale: 0, panicThresholdPercentage: 1000 }));
    feed(unbounded, 1, 60, 700);
    // 700 / 7 = 100; rate ceil(1000 x 1) = 1000 does not limit; max-scale 0 does not either
    expect(unbounded.decide(input(60_000, 1)).desired).toBe(100);
  });

  it('initial-scale holds until first reached, then the revision may go down', () => {
    const a = createAutoscaler(settings({ initialScale: 3 }));
    feed(a, 1, 1, 0);
    // no traffic, not yet 3 ready: initial-scale 3
    let d = a.decide(input(1000, 0));
    expect(d).toMatchObject({ desired: 3, reason: 'bounds' });
    expect(d.detail).toContain('initial-scale 3');
    d = a.decide(input(2000, 2));
    expect(d.desired).toBe(3);
    // 3 ready once: initial-scale no longer counts; 0 wanted but floor(3 / 2) = 1 by the down rate
    feed(a, 2, 3, 0);
    d = a.decide(input(3000, 3));
    expect(d).toMatchObject({ desired: 1, reason: 'bounds' });
  });

  it('activation-scale: any non-zero recommendation is at least activation-scale', () => {
    const a = createAutoscaler(settings({ activationScale: 3, initialScale: 0 }));
    feed(a, 1, 1, 1);
    // stable = panic = 1 (data starts at bucket 1): ceil(1 / 7) = 1, raised to 3; panic 1 / 1 < 2
    const d = a.decide(input(1000, 0));
    expect(d).toMatchObject({ desired: 3, reason: 'bounds', panic: false });
    expect(d.detail).toContain('raised to activation-scale 3');
  });

  it('scale-down delay keeps the largest recommendation of the delay window', () => {
    const a = createAutoscaler(settings({ scaleDownDelayMs: 10_000, initialScale: 0 }));
    // backlog 1000 / 100 = 10 at 0 s; ready 1 so floor(1 / 2) = 0 never raises the value
    expect(a.decide(input(0, 1, { lag: 1000 }))).toMatchObject({ desired: 10, reason: 'backlog' });
    // 200 / 100 = 2 at 5 s, but 10 was recommended within the last 10 s
    let d = a.decide(input(5000, 1, { lag: 200 }));
    expect(d).toMatchObject({ desired: 10, reason: 'hold', backlogDesired: 2 });
    expect(d.detail).toContain('scale-down-delay 10 s keeps 10');
    expect(a.decide(input(9999, 1, { lag: 200 })).desired).toBe(10);
    // at 10 s the 10 from 0 s is a full delay old
    d = a.decide(input(10_000, 1, { lag: 200 }));
    expect(d).toMatchObject({ desired: 2, reason: 'backlog' });
  });
});

describe('KPA: scale to zero', () => {
  /**
   * Records `concurrency(s)` and decides once per second, with ready = the previous decision (replicas
   * start instantly here); returns the decisions by second.
   */
  function run(
    a: Autoscaler,
    toS: number,
    concurrency: (s: number) => number,
    extra: (s: number) => Partial<DecisionInput> = () => ({}),
  ) {
    const out = new Map<number, ReturnType<Autoscaler['decide']>>();
    let ready = 1;
    for (let s = 1; s <= toS; s++) {
      a.record({ time: s * 1000, concurrency: concurrency(s), rps: 0 });
      const d = a.decide(input(s * 1000, ready, extra(s)));
      out.set(s, d);
      ready = d.desired;
    }
    return out;
  }

  it('goes to zero a stable window after the last request, then after the grace', () => {
    const a = createAutoscaler(settings());
    const d = run(a, 200, (s) => (s <= 10 ? 1 : 0));
    // active since 1 s. Bucket 10 (the last with traffic) leaves the stable window at 70 s
    // (window 11..70): up to 69 s the average is >= 1/60 -> ceil(> 0) = 1
    expect(d.get(69)).toMatchObject({ desired: 1, reason: 'http' });
    // 70 s: 0 wanted, active 69 s >= 60 s, so the grace of max(30 s, retention 0) starts: hold 1
    expect(d.get(70)).toMatchObject({ desired: 1, reason: 'hold' });
    expect(d.get(99)).toMatchObject({ desired: 1, reason: 'hold' });
    expect(d.get(99)?.detail).toContain('scale to zero in 1 s');
    // 70 s + 30 s = 100 s
    expect(d.get(100)).toMatchObject({ desired: 0, reason: 'http' });
    expect(d.get(150)?.desired).toBe(0);
  });

  it('waits for the pod retention period when it is longer than the grace', () => {
    const a = createAutoscaler(settings({ scaleToZeroRetentionMs: 45_000 }));
    const d = run(a, 200, (s) => (s <= 10 ? 1 : 0));
    // 70 s + max(30 s, 45 s) = 115 s
    expect(d.get(114)).toMatchObject({ desired: 1, reason: 'hold' });
    expect(d.get(115)).toMatchObject({ desired: 0 });
  });

  it('stays up for a stable window after activation even without any traffic', () => {
    // initial-scale 1 starts it; no traffic at all: Knative keeps an active revision up for a stable
    // window, then the grace: 1 s (active) + 60 s = 61 s, + 30 s = 91 s
    const a = createAutoscaler(settings());
    const d = run(a, 200, () => 0);
    expect(d.get(60)).toMatchObject({ desired: 1, reason: 'hold' });
    expect(d.get(60)?.detail).toContain('stable window before scale to zero');
    expect(d.get(90)).toMatchObject({ desired: 1, reason: 'hold' });
    expect(d.get(91)).toMatchObject({ desired: 0 });
  });

  it('never goes to zero while requests are in flight', () => {
    const a = createAutoscaler(settings());
    const d = run(
      a,
      200,
      () => 0,
      (s) => ({ inFlight: s >= 85 && s <= 120 ? 1 : 0 }),
    );
    // the grace would end at 91 s (see above); a request in flight from 85 s to 120 s holds 1
    expect(d.get(91)).toMatchObject({ desired: 1, reason: 'hold' });
    expect(d.get(91)?.detail).toContain('1 requests in flight');
    expect(d.get(120)?.desired).toBe(1);
    // the grace already ran out: zero as soon as the request is done
    expect(d.get(121)?.desired).toBe(0);
  });

  it('an unrouted revision goes to zero whatever min-scale says, once in-flight requests are done', () => {
    const a = createAutoscaler(settings({ minScale: 3 }));
    feed(a, 1, 60, 35);
    expect(a.decide(input(60_000, 3, { routed: false, inFlight: 2 }))).toMatchObject({
      desired: 3,
      reason: 'hold',
    });
    expect(a.decide(input(61_000, 3, { routed: false }))).toMatchObject({ desired: 0, reason: 'bounds' });
  });
});

describe('backlog', () => {
  it('lag 10000 / lag-target 100 = 100, capped by max-scale 20', () => {
    const a = createAutoscaler(settings({ maxScale: 20 }));
    // no HTTP sample at all, 0 ready: ceil(10000 / 100) = 100 <= ceil(1000 x 1) = 1000, max-scale 20
    const d = a.decide(input(0, 0, { lag: 10_000 }));
    expect(d).toMatchObject({ desired: 20, reason: 'bounds', backlogDesired: 100, httpDesired: 0 });
    expect(d.detail).toBe('backlog 10000 / lag-target 100 = 100 (http 0), capped by max-scale 20');
  });

  it('lag 450 -> ceil(4.5) = 5 from zero at once, no HTTP needed', () => {
    const a = createAutoscaler(settings({ initialScale: 0 }));
    const d = a.decide(input(0, 0, { lag: 450 }));
    expect(d).toMatchObject({ desired: 5, reason: 'backlog', backlogDesired: 5 });
  });

  it('caps the backlog at what the dispatchers keep in flight, when the data plane says it', () => {
    const a = createAutoscaler(settings({ initialScale: 0 }));
    // 10000 / 100 = 100, but 100 in flight / (10 x 0.7) = 14.29 -> 15
    const d = a.decide(input(0, 0, { lag: 10_000, backlogInFlightLimit: 100 }));
    expect(d).toMatchObject({ desired: 15, reason: 'backlog', backlogDesired: 15 });
    expect(d.detail).toBe('backlog 10000 / lag-target 100 = 100, at most 100 in flight / 7 = 15 (http 0)');
    // under the cap the lag decides: 450 / 100 = 4.5 -> 5 (ready 1: floor(1 / 2) = 0 does not raise it)
    expect(a.decide(input(1000, 1, { lag: 450, backlogInFlightLimit: 100 }))).toMatchObject({
      desired: 5,
      reason: 'backlog',
    });
    // with the rps metric the in-flight limit says nothing about replicas: no cap, 10000 / 100 = 100
    const r = createAutoscaler(settings({ metric: 'rps', target: 200, initialScale: 0 }));
    expect(r.decide(input(0, 0, { lag: 10_000, backlogInFlightLimit: 100 })).desired).toBe(100);
  });

  it('takes the larger of HTTP and backlog', () => {
    const a = createAutoscaler(settings({ panicThresholdPercentage: 1000 }));
    feed(a, 1, 60, 56);
    // http 56 / 7 = 8 > backlog 450 / 100 -> 5: http
    expect(a.decide(input(60_000, 8, { lag: 450 }))).toMatchObject({
      desired: 8,
      reason: 'http',
      backlogDesired: 5,
    });
    // backlog 1200 / 100 = 12 > 8: backlog
    expect(a.decide(input(60_000, 8, { lag: 1200 }))).toMatchObject({
      desired: 12,
      reason: 'backlog',
      httpDesired: 8,
    });
  });

  it('lag 0 and no traffic: zero only after the stable window and the grace', () => {
    const a = createAutoscaler(settings({ initialScale: 0 }));
    const decisions: number[] = [];
    let ready = 0;
    for (let s = 0; s <= 100; s++) {
      a.record({ time: s * 1000, concurrency: 0, rps: 0 });
      const d = a.decide(input(s * 1000, ready, { lag: s === 0 ? 450 : 0 }));
      decisions.push(d.desired);
      ready = d.desired;
    }
    // 0 s: 5 (backlog). 1 s: 0 wanted, floor(5 / 2) = 2. 2 s: floor(2 / 2) = 1. 3 s..59 s: 0 wanted,
    // active since 0 s for less than 60 s: hold 1. 60 s: the grace starts: hold until 60 + 30 = 90 s.
    expect(decisions.slice(0, 4)).toEqual([5, 2, 1, 1]);
    expect(decisions[59]).toBe(1);
    expect(decisions[89]).toBe(1);
    expect(decisions[90]).toBe(0);
  });

  it('never zero while lag remains, even with min-scale 0 and no HTTP traffic', () => {
    const a = createAutoscaler(settings({ initialScale: 0 }));
    let ready = 0;
    for (let s = 0; s <= 300; s++) {
      a.record({ time: s * 1000, concurrency: 0, rps: 0 });
      // 1 event left: ceil(1 / 100) = 1
      const d = a.decide(input(s * 1000, ready, { lag: 1 }));
      expect(d).toMatchObject({ desired: 1, reason: 'backlog' });
      ready = d.desired;
    }
  });

  it('backlog off: lag is ignored (KPA alone)', () => {
    const a = createAutoscaler(settings({ initialScale: 0, backlog: false }));
    expect(a.decide(input(0, 0, { lag: 10_000 }))).toMatchObject({ desired: 0, backlogDesired: 0 });
  });
});

describe('settings and input', () => {
  it('rejects settings the formulas cannot use, naming them', () => {
    expect(() => createAutoscaler(settings({ target: 0 }))).toThrow(/target must be > 0, got 0/);
    expect(() => createAutoscaler(settings({ minScale: 5, maxScale: 2 }))).toThrow(
      /minScale 5 must not exceed maxScale 2/,
    );
    const a = createAutoscaler(settings());
    expect(() => a.update(settings({ lagTarget: -1 }))).toThrow(/lagTarget must be > 0/);
    expect(() => a.decide(input(0, 0, { lag: Number.NaN }))).toThrow(
      /lag must be a finite number >= 0, got NaN/,
    );
    expect(() => a.record({ time: 0, concurrency: -1, rps: 0 })).toThrow(/concurrency/);
  });

  it('update keeps the recorded samples', () => {
    const a = createAutoscaler(settings({ panicThresholdPercentage: 1000 }));
    feed(a, 1, 60, 35);
    a.update(settings({ target: 5, panicThresholdPercentage: 1000 }));
    // 35 / (5 x 0.7 = 3.5) = 10
    expect(a.decide(input(60_000, 5))).toMatchObject({ desired: 10, reason: 'http' });
    expect(a.settings.target).toBe(5);
  });
});
