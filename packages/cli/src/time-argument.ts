// `--from` / `--to` values: an RFC 3339 time, or a duration ago (`90s`, `15m`, `2h`, `7d`, `1h30m`).

import { parseRfc3339 } from '@eddy/api';
import { UsageError } from './usage-error.js';

const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Epoch ms of a time argument; `flag` names it in the error. */
export function parseTimeArgument(value: string, flag: string, now: number = Date.now()): number {
  const text = value.trim();
  const ms = parseRfc3339(text);
  if (ms !== undefined) return ms;
  const d = DURATION.exec(text);
  if (d !== null && text !== '') {
    const [, days, hours, minutes, seconds] = d.map((part) => Number(part ?? 0));
    return now - ((((days ?? 0) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60 + (seconds ?? 0)) * 1000;
  }
  throw new UsageError(
    `invalid ${flag} ${JSON.stringify(value)}: expected an RFC 3339 time (2026-12-01T10:00:00Z) or a duration ago (90s, 15m, 2h, 7d, 1h30m)`,
  );
}
