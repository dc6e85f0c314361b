/**
 * Duration formats found in Knative resources.
 * - ISO-8601 (`PT0.2S`, `P1DT2H`): delivery `backoffDelay`, `timeout`, `retryAfterMax`, KafkaChannel
 *   `retentionDuration`. Knative parses them with rickb777/date's period.Parse: optional sign, at least one
 *   component, a fraction allowed on a component, years and months estimated.
 * - Go `time.ParseDuration` (`40s`, `1m5s`): autoscaling annotations such as `window`.
 */

const NUM = String.raw`(\d+(?:[.,]\d+)?)`;
const ISO_8601 = new RegExp(
  `^([-+])?P(?:${NUM}Y)?(?:${NUM}M)?(?:${NUM}W)?(?:${NUM}D)?(?:T(?:${NUM}H)?(?:${NUM}M)?(?:${NUM}S)?)?$`,
);

const MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export interface ParsedDuration {
  /** Milliseconds; years and months are estimated (365.2425 and 30.436875 days) as Knative does. */
  ms: number;
  negative: boolean;
}

export function parseIsoDuration(text: string): ParsedDuration | undefined {
  const m = ISO_8601.exec(text);
  if (!m) return undefined;
  const [, sign, y, mo, w, d, h, mi, s] = m;
  // `P` and `PT` alone carry no component and are rejected.
  if ([y, mo, w, d, h, mi, s].every((v) => v === undefined)) return undefined;
  if (text.includes('T') && [h, mi, s].every((v) => v === undefined)) return undefined;
  const n = (v: string | undefined) => (v === undefined ? 0 : Number(v.replace(',', '.')));
  const ms =
    n(y) * 365.2425 * MS.d +
    n(mo) * 30.436875 * MS.d +
    n(w) * 7 * MS.d +
    n(d) * MS.d +
    n(h) * MS.h +
    n(mi) * MS.m +
    n(s) * MS.s;
  return { ms, negative: sign === '-' && ms !== 0 };
}

const GO_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const GO_DURATION = /^([-+])?((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const GO_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/** Go's time.ParseDuration: `0` or a sequence of number+unit pairs. Returns milliseconds. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  const m = GO_DURATION.exec(text);
  if (!m) return undefined;
  let ms = 0;
  for (const part of (m[2] ?? '').matchAll(GO_PART)) ms += Number(part[1]) * (GO_UNITS[part[2] ?? ''] ?? 0);
  return m[1] === '-' ? -ms : ms;
}
