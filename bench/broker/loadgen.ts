// Open-loop load generator: POSTs 1 KiB binary-mode CloudEvents at a fixed rate with undici,
// whatever the server's response time (a slow server gets a queue, not a lower rate). Each event
// carries its intended send time as the extension `benchts` (wall-clock microseconds), so the sink
// measures latency from when the event was due, not from when a busy client got round to it.
import { Pool } from 'undici';

export interface OpenLoopResult {
  sent: number;
  accepted: number;
  failed: number;
  /** Achieved send rate (requests handed to the client). */
  perSecond: number;
  /** Accepted events over the time from the first send to the last response. */
  acceptedPerSecond: number;
  /** Intended send time -> response, ms. */
  responseP50Ms: number;
  responseP99Ms: number;
}

const BODY = Buffer.from(`{"data":"${'x'.repeat(1024 - 11)}"}`);
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export interface OpenLoopOptions {
  /** The CloudEvent id of event i; default `o-<start>-<i>`. */
  id?: (i: number) => string;
  /** Told each event's outcome (accepted = 2xx), for a caller that checks delivery per id. */
  onResult?: (i: number, accepted: boolean) => void;
  /**
   * At most this many requests awaiting a response: a server slower than `rate` then gets fewer
   * events (sending stops at `seconds` however many were sent) instead of a queue that grows without
   * end in this process. Default: no bound (a true open loop).
   */
  maxInFlight?: number;
  /** While it says true nothing is sent (sending still stops at `seconds`). */
  paused?: () => boolean;
}

export async function openLoop(
  url: string,
  rate: number,
  seconds: number,
  connections = 64,
  options: OpenLoopOptions = {},
): Promise<OpenLoopResult> {
  const target = new URL(url);
  const pool = new Pool(target.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const total = Math.round(rate * seconds);
  const responseMs = new Float64Array(total);
  let sent = 0;
  let accepted = 0;
  let failed = 0;
  const inFlight = new Set<Promise<void>>();
  const startUs = nowUs();
  const send = (i: number) => {
    const due = startUs + Math.round((i * 1e6) / rate);
    const p = pool
      .request({
        method: 'POST',
        path: target.pathname,
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-type': 'dev.eddy.bench.broker',
          'ce-source': '/bench/broker/openloop',
          'ce-id': options.id?.(i) ?? `o-${startUs}-${i}`,
          'ce-benchts': String(due),
        },
        body: BODY,
      })
      .then(
        async (res) => {
          await res.body.dump();
          const ok = res.statusCode >= 200 && res.statusCode < 300;
          if (ok) accepted++;
          else failed++;
          responseMs[i] = (nowUs() - due) / 1000;
          options.onResult?.(i, ok);
        },
        () => {
          failed++;
          responseMs[i] = Number.NaN;
          options.onResult?.(i, false);
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const maxInFlight = options.maxInFlight ?? Number.POSITIVE_INFINITY;
  const bounded = Number.isFinite(maxInFlight) || options.paused !== undefined;
  const endUs = bounded ? startUs + seconds * 1e6 : Number.POSITIVE_INFINITY;
  while (sent < total && nowUs() < endUs) {
    const due = Math.min(total, Math.floor(((nowUs() - startUs) * rate) / 1e6) + 1);
    while (sent < due && inFlight.size < maxInFlight && !options.paused?.()) send(sent++);
    await new Promise((r) => setTimeout(r, 1));
  }
  const sendSeconds = (nowUs() - startUs) / 1e6;
  await Promise.all(inFlight);
  const totalSeconds = (nowUs() - startUs) / 1e6;
  await pool.close();
  const sorted = responseMs.filter((x) => !Number.isNaN(x)).sort();
  return {
    sent,
    accepted,
    failed,
    perSecond: sent / sendSeconds,
    acceptedPerSecond: accepted / totalSeconds,
    responseP50Ms: percentile(sorted, 50),
    responseP99Ms: percentile(sorted, 99),
  };
}
