// PingSource: a CloudEvent with a fixed payload on a cron schedule. Ticks are independent sends, so a
// slow one never delays the next, and the ticks retried at once are bounded, so a long outage cannot
// pile up timers and memory; as in Knative, missed ticks are not caught up. README "PingSource".

import { Cron } from 'croner';
import type { RunningSource, SourceAdapter, SourceContext } from '../sdk/adapter.js';
import { EmitError } from '../sdk/emitter.js';
import { type PingSourceSpec, pingData, pingEvent } from './ping-event.js';

export const MAX_TICKS_IN_FLIGHT = 16;
/** Knative's default when `schedule` is empty. */
export const DEFAULT_SCHEDULE = '* * * * *';
/** setTimeout's limit; a longer wait (yearly schedules) is taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;

/** Splits an optional `CRON_TZ=<zone>` / `TZ=<zone>` prefix off a schedule; spec.timezone wins over it. */
export function parseSchedule(spec: Pick<PingSourceSpec, 'schedule' | 'timezone'>): {
  pattern: string;
  timezone?: string;
} {
  let pattern = (spec.schedule ?? '').trim() || DEFAULT_SCHEDULE;
  let timezone: string | undefined;
  const prefixed = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(pattern);
  if (prefixed) {
    timezone = prefixed[1];
    pattern = prefixed[2] ?? '';
  }
  if (spec.timezone) timezone = spec.timezone;
  return timezone ? { pattern, timezone } : { pattern };
}

function startPing(context: SourceContext<PingSourceSpec>): RunningSource {
  const { spec, namespace, name, logger, metrics, emitter, signal } = context;
  const { pattern, timezone } = parseSchedule(spec);
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, ...(timezone ? { timezone } : {}) });
  } catch (err) {
    throw new TypeError(
      `spec.schedule: "${spec.schedule}" is not a valid cron schedule: ${(err as Error).message}`,
    );
  }
  const data = pingData(spec);
  const contentType = spec.contentType;
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  function tick(scheduled: Date): void {
    metrics.received();
    if (inFlight.size >= MAX_TICKS_IN_FLIGHT) {
      metrics.dropped();
      logger.warn(
        { scheduled: scheduled.toISOString(), inFlight: inFlight.size },
        'ping tick dropped: earlier ticks are still being retried',
      );
      return;
    }
    const event = pingEvent(namespace, name, data, contentType, scheduled);
    const sending = emitter
      .send(event)
      .then(
        () => logger.debug({ eventId: event.id, scheduled: scheduled.toISOString() }, 'ping delivered'),
        (err: unknown) => {
          // The emitter already logged and counted a failure; an abort is the source stopping.
          if (!(err instanceof EmitError)) logger.error({ err }, 'ping send failed unexpectedly');
        },
      )
      .finally(() => inFlight.delete(sending));
    inFlight.add(sending);
  }

  function arm(next: Date | null): void {
    if (stopped || next === null) return;
    const wait = Math.min(Math.max(next.getTime() - Date.now(), 0), MAX_TIMER_MS);
    timer = setTimeout(() => fire(next), wait);
  }

  function fire(scheduled: Date): void {
    if (stopped) return;
    if (Date.now() < scheduled.getTime()) {
      arm(scheduled); // a wait longer than one timer, or a timer that fired early
      return;
    }
    tick(scheduled);
    // No catch-up: the next run is the first one after both the tick and now.
    arm(cron.nextRun(new Date(Math.max(Date.now(), scheduled.getTime()))));
  }

  arm(cron.nextRun(new Date()));
  const onAbort = () => {
    stopped = true;
    clearTimeout(timer);
  };
  signal.addEventListener('abort', onAbort, { once: true });

  return {
    async stop() {
      onAbort();
      signal.removeEventListener('abort', onAbort);
      await Promise.allSettled([...inFlight]);
    },
  };
}

export const pingSourceAdapter: SourceAdapter<PingSourceSpec> = {
  apiVersion: ['sources.knative.dev/v1', 'sources.knative.dev/v1beta2'],
  kind: 'PingSource',
  // A second timer would send every tick twice.
  placement: 'once',
  start: startPing,
};
