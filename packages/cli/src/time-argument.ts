// `--from` / `--to` values: an RFC 3339 time, or a duration ago (`90s`, `15m`, `2h`, `7d`, `1h30m`).

import { UsageError } from './usage-error.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Epoch ms of a time argument; `flag` names it in the error. */
export function parseTimeArgument(value: string, flag: string, now: number = Date.now()): number {
  const text = value.trim();
  if (RFC3339.test(text)) {
    const ms = Date.parse(text);
    if (Number.isFinite(ms)) return ms;
  }
  const d = DURATION.exec(text);
  if (d !== null && text !== '') {
    const [, days, hours, minutes, seconds] = d.map((part) => Number(part ?? 0));
    return now - ((((days ?? 0) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60 + (seconds ?? 0)) * 1000;
  }
  throw new UsageError(
    `invalid ${flag} ${JSON.stringify(value)}: expected an RFC 3339 time (2026-12-01T10:00:00Z) or a duration ago (90s, 15m, 2h, 7d, 1h30m)`,
  );
}
