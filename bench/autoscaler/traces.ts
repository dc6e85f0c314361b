// The recorded load the simulator replays: HTTP request arrivals and events appended to the log of
// a trigger feeding the service, both as sorted times in ms, generated from a seeded PRNG.

import { Prng } from './prng.ts';

/** A moment the load changes and how many replicas it needs from then on (for time-to-target). */
export interface Phase {
  startMs: number;
  needed: number;
}

export interface Trace {
  name: string;
  /** How it is generated, for RESULTS.md. */
  description: string;
  handlerMs: number;
  durationMs: number;
  /** Replica-seconds and delays count from here (before it, initial-scale settles on every policy). */
  measureFromMs: number;
  httpArrivals: number[];
  eventAppends: number[];
  phases: Phase[];
  /** False for a trace a lag-only scaler cannot serve (pure HTTP). */
  hasBacklog: boolean;
}

export interface TraceShape {
  containerConcurrency: number;
  dispatcherMaxInFlight: number;
  maxScale: number;
}

/** Poisson arrivals at `rate` per second in [fromMs, toMs). */
function poisson(prng: Prng, rate: number, fromMs: number, toMs: number, into: number[]): void {
  if (rate <= 0) return;
  let t = fromMs + prng.exponential(1000 / rate);
  while (t < toMs) {
    into.push(t);
    t += prng.exponential(1000 / rate);
  }
}

/** Replicas whose containerConcurrency covers `concurrency` requests at once (at most max-scale). */
function replicasFor(concurrency: number, shape: TraceShape): number {
  return Math.min(shape.maxScale, Math.max(1, Math.ceil(concurrency / shape.containerConcurrency)));
}

/** The dispatcher keeps at most maxInFlight events at the service, so a backlog needs that many slots. */
function backlogNeed(shape: TraceShape): number {
  return replicasFor(shape.dispatcherMaxInFlight, shape);
}

const WARMUP_MS = 120_000;

export function burstCold(shape: TraceShape): Trace {
  const at = WARMUP_MS;
  return {
    name: 'a. backlog burst, from zero',
    description: `50,000 events appended at once at ${at / 1000} s onto a trigger of a service at zero replicas (its initial replica has gone after the stable window + grace); 20 ms handler.`,
    handlerMs: 20,
    durationMs: at + 600_000,
    measureFromMs: at,
    httpArrivals: [],
    eventAppends: new Array<number>(50_000).fill(at),
    phases: [{ startMs: at, needed: backlogNeed(shape) }],
    hasBacklog: true,
  };
}

export function burstWarm(shape: TraceShape, seed: number): Trace {
  const prng = new Prng(seed);
  const at = WARMUP_MS;
  const events: number[] = [];
  poisson(prng, 20, 0, at, events);
  for (let i = 0; i < 50_000; i++) events.push(at);
  poisson(prng, 20, at, at + 600_000, events);
  events.sort((x, y) => x - y);
  return {
    name: 'a. backlog burst, warm',
    description: `steady Poisson 20 events/s (1 replica busy 40%), 50,000 more appended at once at ${at / 1000} s; 20 ms handler.`,
    handlerMs: 20,
    durationMs: at + 600_000,
    measureFromMs: at,
    httpArrivals: [],
    eventAppends: events,
    phases: [{ startMs: at, needed: backlogNeed(shape) }],
    hasBacklog: true,
  };
}

export function httpStep(shape: TraceShape, seed: number): Trace {
  const prng = new Prng(seed);
  const at = WARMUP_MS;
  const handlerMs = 100;
  const http: number[] = [];
  poisson(prng, 10, 0, at, http);
  poisson(prng, 500, at, at + 240_000, http);
  poisson(prng, 10, at + 240_000, at + 600_000, http);
  return {
    name: 'b. HTTP step 10 -> 500 rps',
    description: `Poisson 10 rps, 500 rps from ${at / 1000} s for 240 s, then 10 rps again; 100 ms handler (500 rps x 0.1 s = 50 requests in flight).`,
    handlerMs,
    durationMs: at + 600_000,
    measureFromMs: at,
    httpArrivals: http,
    eventAppends: [],
    phases: [
      { startMs: at, needed: replicasFor((500 * handlerMs) / 1000, shape) },
      { startMs: at + 240_000, needed: 1 },
    ],
    hasBacklog: false,
  };
}

/**
 * Bursts separated by idle gaps, shaped after the Azure Functions trace study (Shahrad et al.,
 * "Serverless in the Wild", ATC 2020: most functions are invoked rarely and in bursts, inter-arrival
 * times are heavy-tailed, a large share is queue/event triggered). One hour of a queue-triggered
 * function: idle gap ~ log-normal (median 60 s, sigma 1.2, clipped to [5 s, 900 s]); then a burst of
 * duration ~ uniform [2 s, 20 s] at a Poisson rate ~ log-normal (median 150 events/s, sigma 1.2,
 * clipped to [5, 5,000]); with probability 0.15 the burst is instead a batch dropped at once
 * (size ~ log-normal, median 5,000 events, sigma 1, clipped to [500, 50,000]), like an upstream
 * job flushing a queue.
 */
export function bursty(shape: TraceShape, seed: number): Trace {
  const prng = new Prng(seed);
  const handlerMs = 20;
  const start = WARMUP_MS;
  const end = start + 3_600_000;
  const events: number[] = [];
  const phases: Phase[] = [];
  let t = start;
  const clip = (x: number, low: number, high: number) => Math.min(high, Math.max(low, x));
  for (;;) {
    t += clip(prng.logNormal(60_000, 1.2), 5000, 900_000);
    if (t >= end - 60_000) break;
    if (prng.next() < 0.15) {
      const size = Math.round(clip(prng.logNormal(5000, 1), 500, 50_000));
      for (let i = 0; i < size; i++) events.push(t);
      phases.push({ startMs: t, needed: backlogNeed(shape) });
      continue;
    }
    const duration = prng.uniform(2000, 20_000);
    const rate = clip(prng.logNormal(150, 1.2), 5, 5000);
    poisson(prng, rate, t, t + duration, events);
    const inFlight = Math.min(shape.dispatcherMaxInFlight, (rate * handlerMs) / 1000);
    phases.push({ startMs: t, needed: replicasFor(inFlight, shape) });
    t += duration;
  }
  events.sort((x, y) => x - y);
  return {
    name: 'c. bursty with idle gaps (1 h)',
    description:
      'One hour of a queue-triggered function after the Azure Functions study: idle gaps ~ log-normal (median 60 s, sigma 1.2, in [5 s, 900 s]); ' +
      'bursts of uniform [2 s, 20 s] at a Poisson rate ~ log-normal (median 150/s, sigma 1.2, in [5, 5000]/s), or with probability 0.15 a batch dropped at once ' +
      `(log-normal median 5,000 events, sigma 1, in [500, 50,000]); 20 ms handler; seed ${seed}.`,
    handlerMs,
    durationMs: end + 600_000,
    measureFromMs: start,
    httpArrivals: [],
    eventAppends: events,
    phases,
    hasBacklog: true,
  };
}
