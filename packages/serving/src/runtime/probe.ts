// Readiness probes for one replica. Until the replica is first ready it is probed aggressively
// (every ~50 ms, as Knative's queue-proxy does) so a cold start is noticed at once; after that every
// `periodMs`, with `failureThreshold` consecutive failures taking it out of rotation and
// `successThreshold` consecutive successes putting it back.

import { request } from 'node:http';
import { connect } from 'node:net';
import type { ResolvedProbe } from '@eddy/api';

export interface ProbeResult {
  ok: boolean;
  /** Why it failed, e.g. `GET /healthz returned 503` or `connect ECONNREFUSED 127.0.0.1:4000`. */
  error?: string;
}

export function probeOnce(probe: ResolvedProbe, port: number): Promise<ProbeResult> {
  return probe.kind === 'tcp' ? probeTcp(port, probe.timeoutMs) : probeHttp(probe, port);
}

function probeHttp(probe: ResolvedProbe, port: number): Promise<ProbeResult> {
  const path = probe.path ?? '/';
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'GET',
        agent: false,
        headers: { 'user-agent': 'eddy-probe/1', ...probe.headers },
        timeout: probe.timeoutMs,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.on('error', () => {});
        // A body that never ends (a streaming endpoint) must not hold the connection open.
        const linger = setTimeout(() => req.destroy(), probe.timeoutMs);
        linger.unref();
        res.once('close', () => clearTimeout(linger));
        resolve(
          status >= 200 && status < 400
            ? { ok: true }
            : { ok: false, error: `GET ${path} returned ${status}` },
        );
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error(`GET ${path} got no response within ${probe.timeoutMs} ms`));
    });
    req.on('error', (err) => resolve({ ok: false, error: err.message }));
    req.end();
  });
}

function probeTcp(port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, error: `connect to 127.0.0.1:${port} timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve({ ok: true });
      // A graceful close (FIN, reading what the app sent) rather than a reset, which apps may log as errors.
      socket.resume();
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, error: err.message });
    });
  });
}

/** Probe interval until the replica is first ready. */
export const AGGRESSIVE_PROBE_MS = 50;

export interface ReadinessEvents {
  /** Readiness changed (first ready, out of rotation, back in rotation). */
  onChange(ready: boolean, result: ProbeResult): void;
}

/** Runs a replica's probe loop until stop(). */
export class ReadinessProber {
  readonly #probe: ResolvedProbe;
  readonly #port: number;
  readonly #events: ReadinessEvents;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #ready = false;
  #everReady = false;
  #successes = 0;
  #failures = 0;
  #last: ProbeResult | undefined;

  constructor(probe: ResolvedProbe, port: number, events: ReadinessEvents) {
    this.#probe = probe;
    this.#port = probe.port ?? port;
    this.#events = events;
  }

  start(): void {
    this.#schedule(this.#probe.initialDelayMs);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** The latest probe outcome (for ProbeFailed messages). */
  get lastResult(): ProbeResult | undefined {
    return this.#last;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#run(), delayMs);
  }

  async #run(): Promise<void> {
    const result = await probeOnce(this.#probe, this.#port);
    if (this.#stopped) return;
    this.#last = result;
    if (result.ok) {
      this.#failures = 0;
      this.#successes++;
      // The first readiness needs one success (Knative's aggressive startup probing); coming back
      // into rotation needs successThreshold in a row.
      const needed = this.#everReady ? Math.max(1, this.#probe.successThreshold) : 1;
      if (!this.#ready && this.#successes >= needed) {
        this.#ready = true;
        this.#everReady = true;
        this.#events.onChange(true, result);
      }
    } else {
      this.#successes = 0;
      this.#failures++;
      if (this.#ready && this.#failures >= Math.max(1, this.#probe.failureThreshold)) {
        this.#ready = false;
        this.#events.onChange(false, result);
      }
    }
    if (this.#stopped) return;
    this.#schedule(this.#everReady ? Math.max(1, this.#probe.periodMs) : AGGRESSIVE_PROBE_MS);
  }
}
