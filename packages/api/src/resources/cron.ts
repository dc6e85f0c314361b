import { Cron } from 'croner';

/** Whether `tz` names a time zone this runtime knows (IANA names and `UTC`). */
export function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export interface ScheduleProblem {
  field: 'schedule' | 'timezone';
  message: string;
}

/**
 * Checks a PingSource schedule the way Knative's webhook does (robfig/cron with optional seconds and
 * descriptors): 5 fields, or 6 with seconds first; `@yearly`, `@monthly`, `@weekly`, `@daily`, `@hourly`,
 * `@midnight`; an optional `CRON_TZ=<zone>` / `TZ=<zone>` prefix; `@every` is rejected as Knative does.
 */
export function checkSchedule(schedule: string, timezone?: string): ScheduleProblem[] {
  const problems: ScheduleProblem[] = [];
  if (timezone !== undefined && timezone !== '' && !isKnownTimeZone(timezone))
    problems.push({
      field: 'timezone',
      message: `unknown time zone "${timezone}" (expected an IANA name such as "Europe/Paris")`,
    });
  const scheduleProblem = checkExpression(schedule, problems.length === 0 ? timezone : undefined);
  if (scheduleProblem) problems.push(scheduleProblem);
  return problems;
}

function checkExpression(schedule: string, timezone: string | undefined): ScheduleProblem | undefined {
  let expr = schedule.trim();
  let zone = timezone;
  const prefixed = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(expr);
  if (prefixed) {
    zone = prefixed[1];
    expr = prefixed[2] ?? '';
    if (zone && !isKnownTimeZone(zone)) return { field: 'schedule', message: `unknown time zone "${zone}"` };
  }
  if (expr.startsWith('@every'))
    return {
      field: 'schedule',
      message: `unsupported descriptor @every in "${schedule}" (use a cron expression)`,
    };
  if (!expr.startsWith('@')) {
    const fields = expr.split(/\s+/).filter(Boolean).length;
    if (fields !== 5 && fields !== 6)
      return {
        field: 'schedule',
        message: `"${schedule}" has ${fields} fields; expected 5 (minute hour day-of-month month day-of-week) or 6 (seconds first)`,
      };
  }
  try {
    new Cron(expr, { paused: true, ...(zone ? { timezone: zone } : {}) });
    return undefined;
  } catch (e) {
    const reason = (e as Error).message.replace(/^CronPattern:\s*/, '');
    return { field: 'schedule', message: `"${schedule}" is not a valid cron schedule: ${reason}` };
  }
}
