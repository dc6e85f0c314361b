// Process helpers: memory of a pid, waiting for an HTTP endpoint, a sink process to talk to.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type PeerProcess, spawnPeer } from '../../test/harness/processes.ts';

export interface Memory {
  /** Peak resident set (VmHWM) and current (VmRSS), MiB; NaN when the process is gone. */
  hwmMb: number;
  rssMb: number;
  /** Of rssMb, anonymous memory (RssAnon: heaps, stacks; not mapped files), MiB. */
  anonMb: number;
}

export function memoryOf(pid: number | undefined): Memory {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) =>
      Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
    return { hwmMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024, anonMb: kb('RssAnon') / 1024 };
  } catch {
    return { hwmMb: Number.NaN, rssMb: Number.NaN, anonMb: Number.NaN };
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `url` until it answers 2xx; fails early when `proc` ends, or after `timeoutMs`. */
export async function waitHttp(url: string, timeoutMs: number, procs: PeerProcess[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {}
    const dead = procs.find((p) => p.hasExited);
    if (dead) throw new Error(`process ended (${dead.exitReason}) while waiting for ${url}`);
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${url}`);
    await sleep(250);
  }
}

/** The node binary running us, for child Node processes (TypeScript by type stripping). */
export const NODE = process.execPath;

export interface SinkStats {
  count: number;
  latency: { n: number; p50Ms: number; p99Ms: number; maxMs: number };
}

export interface Sink {
  url: string;
  proc: PeerProcess;
  stats(): Promise<SinkStats>;
  resetLatency(): Promise<void>;
  paths(): Promise<Record<string, number>>;
}

export async function startSink(port: number, logFile: string): Promise<Sink> {
  const proc = spawnPeer(NODE, [path.join(import.meta.dirname, 'sink.ts'), String(port)], {
    outFile: logFile,
    label: 'bench-sink',
  });
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/stats`, 15_000, [proc]);
  return {
    url: `${url}/`,
    proc,
    async stats() {
      return (await (await fetch(`${url}/stats`)).json()) as SinkStats;
    },
    async paths() {
      return (await (await fetch(`${url}/paths`)).json()) as Record<string, number>;
    },
    async resetLatency() {
      await (await fetch(`${url}/reset`, { method: 'POST' })).arrayBuffer();
    },
  };
}
