// Prometheus metrics of the dispatcher (per route; the deliverer counts attempts and latency).
// Several dispatchers may share a registry (tests, a restarted dispatcher), so each metric is
// looked up before it is created (registered-metric.ts).

import { type LevelGauge, registeredLevelGauge } from '@eddy/runtime';
import type { Counter, Gauge, Registry } from 'prom-client';
import { registeredCounter, registeredGauge } from '../metrics/registered-metric.js';

/** Final outcome of one event for one route. */
export type EventOutcome = 'filtered' | 'delivered' | 'dead_lettered' | 'dropped';
export type ReplyTarget = 'topic' | 'url' | 'none';
export type ReplyOutcome = 'stored' | 'delivered' | 'dead_lettered' | 'dropped';

const EVENT_OUTCOMES: EventOutcome[] = ['filtered', 'delivered', 'dead_lettered', 'dropped'];
const REPLY_TARGETS: ReplyTarget[] = ['topic', 'url', 'none'];
const REPLY_OUTCOMES: ReplyOutcome[] = ['stored', 'delivered', 'dead_lettered', 'dropped'];

export interface DispatchMetrics {
  /** Events whose outcome became final (their offsets may be committed). */
  events: Counter<'route' | 'outcome'>;
  /** Replies: target = topic | url | none; outcome = stored | delivered | dead_lettered | dropped. */
  replies: Counter<'route' | 'target' | 'outcome'>;
  /** Replies not sent on because their knativebrokerttl was spent (reply-ttl.ts). */
  replyLoopCuts: Counter<'route'>;
  /** Records not yet committed by the route's group, summed over partitions. */
  lag: Gauge<'route'>;
  /** Events being filtered/delivered right now (each route's consumer tracks its own count). */
  inFlight: LevelGauge<'route'>;
  /** Forgets a removed route's series. */
  removeRoute(route: string): void;
}

export function dispatchMetrics(registry: Registry): DispatchMetrics {
  const events = registeredCounter(
    registry,
    'eddy_dispatch_events_total',
    'Events with a final outcome per route: filtered, delivered, dead_lettered, dropped',
    ['route', 'outcome'],
  );
  const replies = registeredCounter(
    registry,
    'eddy_dispatch_replies_total',
    'Reply events from subscribers per route, by where they went',
    ['route', 'target', 'outcome'],
  );
  const replyLoopCuts = registeredCounter(
    registry,
    'eddy_dispatch_reply_loop_cut_total',
    'Replies cut because their knativebrokerttl was spent (a reply loop): sent to the dead-letter sink, or dropped without one',
    ['route'],
  );
  const lag = registeredGauge(
    registry,
    'eddy_dispatch_lag',
    'Records of the route topic not yet committed by its consumer group (sum over partitions)',
    ['route'],
  );
  const inFlight = registeredLevelGauge(
    registry,
    'eddy_dispatch_in_flight',
    'Events of the route being filtered or delivered now',
    ['route'],
  );
  return {
    events,
    replies,
    replyLoopCuts,
    lag,
    inFlight,
    removeRoute(route) {
      // remove() matches complete label sets only, so every combination the dispatcher uses is listed.
      lag.remove({ route });
      replyLoopCuts.remove({ route });
      for (const outcome of EVENT_OUTCOMES) events.remove({ route, outcome });
      for (const target of REPLY_TARGETS) {
        for (const outcome of REPLY_OUTCOMES) replies.remove({ route, target, outcome });
      }
    },
  };
}
