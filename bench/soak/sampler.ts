// Every sample: each process under `eddy dev` (the dev process, under --kafka its ingress,
// dispatcher, serving and sources processes, and the Services' replicas) by pid: RSS, CPU time and open fds
// from /proc, heap used (and after the latest major GC) and event-loop delay p99 from its own
// Prometheus /metrics. The metrics URL is found, not configured: the ports the pid listens on (/proc/net/tcp), the first whose /metrics
// has nodejs_heap_size_used_bytes. Ingresses share one port (SO_REUSEPORT), so a scrape of it may
// land on any of them: each answer goes to the pid whose RSS (/proc, read just after) is nearest its
// process_resident_memory_bytes (CPU time would not do: prom-client counts it from its first scrape).
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { HEAP_AFTER_MAJOR_GC_METRIC } from '@eddy/runtime';
import { cpuSeconds, descendants, listeningPorts, openFds, rssBytes } from './proc.ts';

/** The gauge reads 0 until the process's first major collection. */
const afterGc = (v: number) => (v > 0 ? v : Number.NaN);

export interface ProcessSample {
  rssBytes: number;
  /** CPU time used since the process started (user + system), seconds: the report turns it into % of a core. */
  cpuSeconds: number;
  fds: number;
  /** NaN when the process has no /metrics (or the scrape failed). */
  heapBytes: number;
  /** Heap used just after the latest major GC (Eddy's processes); NaN when not reported or none yet. */
  heapAfterGcBytes: number;
  eventLoopP99Ms: number;
}

export interface ComponentSample {
  /** Stable across samples: `eddy dev`, `ingress-1`, `serving-1`, `auto replica 1234`, ... */
  label: string;
  pid: number;
  sample: ProcessSample;
}

/** A GET on a fresh connection (a kept-alive one would always reach the same reuse-port process). */
export function getText(url: string, timeoutMs = 3000): Promise<string | undefined> {
  return new Promise((done) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => done(res.statusCode === 200 ? body : undefined));
      res.on('error', () => done(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => done(undefined));
  });
}

/** Sum of a metric's series in Prometheus text (NaN without any). */
export function metricValue(text: string, name: string): number {
  let sum = Number.NaN;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[3]);
  }
  return sum;
}

function labelOf(pid: number, cmdline: string): string | undefined {
  const member = /--member-id (\S+)/.exec(cmdline)?.[1];
  if (member) return member;
  if (cmdline.includes('soak/service.ts')) {
    let service = '?';
    try {
      service = /(?:^|\0)SERVICE=([^\0]*)/.exec(readFileSync(`/proc/${pid}/environ`, 'utf8'))?.[1] ?? '?';
    } catch {}
    return `${service} replica ${pid}`;
  }
  return undefined; // the process reaper and anything else not ours to judge
}

export class Sampler {
  readonly #devPid: number;
  /** pid -> its metrics URL, `null` when none of its ports has one (asked again later: ports come late). */
  readonly #urls = new Map<number, { url: string | null; tries: number }>();

  constructor(devPid: number) {
    this.#devPid = devPid;
  }

  async #metricsUrl(pid: number, sharedPorts: Set<number>): Promise<string | null> {
    const known = this.#urls.get(pid);
    if (known && (known.url !== null || known.tries >= 5)) return known.url;
    let url: string | null = null;
    for (const port of listeningPorts(pid)) {
      const candidate = `http://127.0.0.1:${port}/metrics`;
      // A shared port answers for some process of the group: good enough to know it has metrics.
      const text = await getText(candidate);
      if (text?.includes('nodejs_heap_size_used_bytes')) {
        url = candidate;
        if (!sharedPorts.has(port)) break;
      }
    }
    this.#urls.set(pid, { url, tries: (known?.tries ?? 0) + 1 });
    return url;
  }

  /** One sample of every process. */
  async sample(): Promise<ComponentSample[]> {
    const procs = [
      { pid: this.#devPid, label: 'eddy dev' },
      ...descendants(this.#devPid).flatMap(({ pid, cmdline }) => {
        const label = labelOf(pid, cmdline);
        return label ? [{ pid, label }] : [];
      }),
    ];
    const portOwners = new Map<number, number[]>();
    for (const p of procs)
      for (const port of listeningPorts(p.pid))
        portOwners.set(port, [...(portOwners.get(port) ?? []), p.pid]);
    const shared = new Set([...portOwners].filter(([, owners]) => owners.length > 1).map(([port]) => port));
    const byUrl = new Map<string, number[]>();
    const urls = await Promise.all(procs.map((p) => this.#metricsUrl(p.pid, shared)));
    procs.forEach((p, i) => {
      const url = urls[i];
      if (url) byUrl.set(url, [...(byUrl.get(url) ?? []), p.pid]);
    });
    const texts = new Map<number, string>();
    // In parallel: on a busy machine one slow process must not hold up the others' samples.
    await Promise.all(
      [...byUrl].map(async ([url, pids]) => {
        // One scrape per owner, more when the kernel keeps picking the same one of a shared port.
        for (let attempt = 0; attempt < pids.length * 4 && pids.some((pid) => !texts.has(pid)); attempt++) {
          const text = await getText(url);
          if (!text) continue;
          const rss = metricValue(text, 'process_resident_memory_bytes');
          const owner =
            pids.length === 1
              ? pids[0]
              : pids.reduce((best, pid) =>
                  Math.abs(rssBytes(pid) - rss) < Math.abs(rssBytes(best) - rss) ? pid : best,
                );
          if (owner !== undefined && !texts.has(owner)) texts.set(owner, text);
          if (pids.length === 1) break;
        }
      }),
    );
    const components = procs.map(({ pid, label }) => {
      const text = texts.get(pid);
      return {
        label,
        pid,
        sample: {
          rssBytes: rssBytes(pid),
          cpuSeconds: cpuSeconds(pid),
          fds: openFds(pid),
          heapBytes: text ? metricValue(text, 'nodejs_heap_size_used_bytes') : Number.NaN,
          heapAfterGcBytes: text ? afterGc(metricValue(text, HEAP_AFTER_MAJOR_GC_METRIC)) : Number.NaN,
          eventLoopP99Ms: text ? metricValue(text, 'nodejs_eventloop_lag_p99_seconds') * 1000 : Number.NaN,
        },
      };
    });
    return components.filter((c) => !Number.isNaN(c.sample.rssBytes));
  }
}
