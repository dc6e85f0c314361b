// A deterministic simulator of one revision behind Eddy's router, fed by HTTP arrivals and by a
// trigger's dispatcher draining an event log, scaled by a policy. Requests move in continuous time
// (arrival, queueing at the router, handler start and end); every `stepMs` the simulator measures
// (concurrency, arrivals, lag, replicas) and asks the policy for a desired replica count.
//
// Model:
// - a replica is ready `coldStartMs` after it is created and runs at most containerConcurrency
//   requests at once, each taking exactly handlerMs;
// - the router queues what no ready replica has a free slot for (the activator's buffer while at
//   zero) and hands the oldest request to the least busy ready replica;
// - the dispatcher keeps at most `dispatcherMaxInFlight` events at the router (queued or running),
//   in log order; lag = events appended and not finished (queued in the log + in flight), which is
//   what BacklogReader reports;
// - scaling down removes starting replicas first, then the least busy; a removed replica finishes
//   its requests first (and is paid for until then);
// - the first request that reaches the router while the revision has no replica at all pokes the
//   policy at once, as Knative's activator does; otherwise policies only act on their own period.

import type { Phase, Trace } from './traces.ts';

export interface SimConfig {
  containerConcurrency: number;
  coldStartMs: number;
  dispatcherMaxInFlight: number;
  stepMs: number;
}

/** What the simulator tells a policy every step. */
export interface Observation {
  now: number;
  /** Requests at the router or running, right now. */
  concurrency: number;
  /** Requests that reached the router in the last step (HTTP and dispatched events). */
  arrivals: number;
  readyReplicas: number;
  /** Replicas that exist and are not being removed (ready or starting). */
  actualReplicas: number;
  lag: number;
}

export interface Policy {
  readonly name: string;
  /** Called every step; returns the desired replicas or undefined to leave them. */
  step(obs: Observation): number | undefined;
  /** Work reached the router with no replica at all (Knative's activator poke). */
  poke?(obs: Observation): number | undefined;
}

export interface SimResult {
  trace: string;
  policy: string;
  /** Per phase: ms from its start until desired / ready replicas >= needed; undefined = never before the next phase. */
  toDesired: (number | undefined)[];
  toReady: (number | undefined)[];
  phases: Phase[];
  /** Queueing delay (handler start - arrival or append) of everything that started after measureFrom, sorted. */
  delays: Float64Array;
  replicaSeconds: number;
  coldStarts: number;
  /** Requests never started by the end of the trace. */
  unfinished: number;
  /** When the last event of the log finished (ms), if any. */
  lastEventDoneMs?: number;
  peakReplicas: number;
}

interface Request {
  /** Arrival (HTTP) or append (event) time. */
  createdAt: number;
  event: boolean;
}

interface Replica {
  readyAt: number;
  busy: number;
  removing: boolean;
}

type Timed = { at: number; kind: 'done'; replica: Replica; request: Request } | { at: number; kind: 'ready' };

/** Binary min-heap on `at`. */
class TimedHeap {
  private items: Timed[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Timed | undefined {
    return this.items[0];
  }
  push(item: Timed): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p] as Timed;
      if (parent.at <= item.at) break;
      a[i] = parent;
      i = p;
    }
    a[i] = item;
  }
  pop(): Timed | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && (a[r] as Timed).at < (a[l] as Timed).at ? r : l;
      if ((a[c] as Timed).at >= last.at) break;
      a[i] = a[c] as Timed;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

export function simulate(trace: Trace, policy: Policy, config: SimConfig): SimResult {
  const cc = config.containerConcurrency;
  const replicas: Replica[] = [];
  const heap = new TimedHeap();
  const queue: Request[] = [];
  let queueHead = 0;
  let running = 0;
  let started = 0;
  const delays: number[] = [];

  const appends = trace.eventAppends;
  const http = trace.httpArrivals;
  let nextAppend = 0;
  let nextHttp = 0;
  let dispatched = 0; // log index of the next event to dispatch
  let eventsInFlight = 0;
  let eventsDone = 0;
  let lastEventDoneMs: number | undefined;

  let arrivalsThisStep = 0;
  let coldStarts = 0;
  let replicaSeconds = 0;
  let peakReplicas = 0;
  let lastT = 0;

  const toDesired: (number | undefined)[] = trace.phases.map(() => undefined);
  const toReady: (number | undefined)[] = trace.phases.map(() => undefined);

  const actual = () => replicas.reduce((n, r) => n + (r.removing ? 0 : 1), 0);
  const ready = (now: number) => replicas.reduce((n, r) => n + (!r.removing && r.readyAt <= now ? 1 : 0), 0);
  const lag = () => nextAppend - eventsDone;
  const observe = (now: number): Observation => ({
    now,
    concurrency: queue.length - queueHead + running,
    arrivals: arrivalsThisStep,
    readyReplicas: ready(now),
    actualReplicas: actual(),
    lag: lag(),
  });

  function advance(to: number): void {
    if (to > lastT) {
      if (to > trace.measureFromMs) {
        const from = Math.max(lastT, trace.measureFromMs);
        replicaSeconds += (replicas.length * (to - from)) / 1000;
      }
      lastT = to;
    }
  }

  function scaleTo(desired: number, now: number): void {
    let current = actual();
    while (current < desired) {
      replicas.push({ readyAt: now + config.coldStartMs, busy: 0, removing: false });
      heap.push({ at: now + config.coldStartMs, kind: 'ready' });
      coldStarts++;
      current++;
    }
    if (current > desired) {
      // Starting replicas first (newest first), then the least busy ready ones.
      const candidates = replicas
        .filter((r) => !r.removing)
        .sort(
          (x, y) =>
            (x.readyAt > now ? 0 : 1) - (y.readyAt > now ? 0 : 1) || y.readyAt - x.readyAt || x.busy - y.busy,
        );
      for (const r of candidates.slice(0, current - desired)) r.removing = true;
      reapIdle();
    }
    peakReplicas = Math.max(peakReplicas, actual());
  }

  function reapIdle(): void {
    for (let i = replicas.length - 1; i >= 0; i--) {
      const r = replicas[i] as Replica;
      if (r.removing && r.busy === 0) replicas.splice(i, 1);
    }
  }

  function apply(desired: number | undefined, now: number): void {
    if (desired !== undefined && desired !== actual()) scaleTo(desired, now);
  }

  function enqueue(request: Request, now: number): void {
    arrivalsThisStep++;
    queue.push(request);
    if (policy.poke !== undefined && actual() === 0) apply(policy.poke(observe(now)), now);
  }

  function dispatch(now: number): void {
    while (eventsInFlight < config.dispatcherMaxInFlight && dispatched < nextAppend) {
      const createdAt = appends[dispatched] as number;
      dispatched++;
      eventsInFlight++;
      enqueue({ createdAt, event: true }, now);
    }
  }

  function startWork(now: number): void {
    while (queueHead < queue.length) {
      let best: Replica | undefined;
      for (const r of replicas) {
        if (r.removing || r.readyAt > now || r.busy >= cc) continue;
        if (best === undefined || r.busy < best.busy) best = r;
      }
      if (best === undefined) break;
      const request = queue[queueHead] as Request;
      queueHead++;
      best.busy++;
      running++;
      started++;
      if (now >= trace.measureFromMs) delays.push(now - request.createdAt);
      heap.push({ at: now + trace.handlerMs, kind: 'done', replica: best, request });
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
  }

  const stepMs = config.stepMs;
  let nextStep = stepMs;
  while (lastT < trace.durationMs) {
    const tAppend = nextAppend < appends.length ? (appends[nextAppend] as number) : Infinity;
    const tHttp = nextHttp < http.length ? (http[nextHttp] as number) : Infinity;
    const tHeap = heap.peek()?.at ?? Infinity;
    const now = Math.min(tAppend, tHttp, tHeap, nextStep);
    if (now > trace.durationMs) break;
    advance(now);

    if (now === tHeap) {
      const item = heap.pop() as Timed;
      if (item.kind === 'done') {
        item.replica.busy--;
        running--;
        if (item.request.event) {
          eventsInFlight--;
          eventsDone++;
          lastEventDoneMs = now;
        }
        if (item.replica.removing && item.replica.busy === 0) reapIdle();
        dispatch(now);
      }
      startWork(now);
      continue;
    }
    if (now === tAppend) {
      while (nextAppend < appends.length && appends[nextAppend] === now) nextAppend++;
      dispatch(now);
      startWork(now);
      continue;
    }
    if (now === tHttp) {
      nextHttp++;
      enqueue({ createdAt: now, event: false }, now);
      startWork(now);
      continue;
    }
    // A measurement step.
    const obs = observe(now);
    arrivalsThisStep = 0;
    const desired = policy.step(obs);
    apply(desired, now);
    startWork(now);
    const readyNow = ready(now);
    for (let i = 0; i < trace.phases.length; i++) {
      const phase = trace.phases[i] as Phase;
      const nextStart = trace.phases[i + 1]?.startMs ?? trace.durationMs;
      if (now < phase.startMs || now >= nextStart) continue;
      if (toDesired[i] === undefined && (desired ?? actual()) >= phase.needed)
        toDesired[i] = now - phase.startMs;
      if (toReady[i] === undefined && readyNow >= phase.needed) toReady[i] = now - phase.startMs;
    }
    nextStep += stepMs;
  }

  return {
    trace: trace.name,
    policy: policy.name,
    toDesired,
    toReady,
    phases: trace.phases,
    delays: Float64Array.from(delays).sort(),
    replicaSeconds,
    coldStarts,
    unfinished: http.length + appends.length - started,
    lastEventDoneMs,
    peakReplicas,
  };
}
