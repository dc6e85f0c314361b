// A soak result as verdicts (growth of each metric of each process after warm-up), the chart's
// panels, and the markdown for bench/RESULTS.md.

import os from 'node:os';
import { HEAP_AFTER_MAJOR_GC_METRIC } from '@eddy/runtime';
import { PARTITIONS, SERVICES_SETUP } from './manifest.ts';
import { SERVICES, type SoakResult, type SoakSample } from './soak.ts';
import type { Panel, Series } from './svg.ts';
import { type Growth, growthOf } from './verdict.ts';

/** Growth over the window above which a metric is "growing" (the acceptance's 5%). */
export const FLAT_LIMIT = 0.05;

const METRICS = ['rssBytes', 'heapBytes', 'heapAfterGcBytes', 'fds', 'eventLoopP99Ms'] as const;
type Metric = (typeof METRICS)[number];

export interface ProcessVerdict {
  label: string;
  /** A Service replica (bench code) rather than an Eddy process. */
  replica: boolean;
  /** Window samples this process has. */
  samples: number;
  growth: Record<Metric, Growth>;
  /** Which heap reading was judged: after major GCs when the process reports it, else used heap. */
  judgedHeap: 'heapAfterGcBytes' | 'heapBytes';
  /** RSS and the judged heap (when it has one) grew less than FLAT_LIMIT. */
  flat: boolean;
  /** Mean CPU over the window, in % of one core (NaN with fewer than two samples). */
  cpuPercent: number;
}

/** CPU between the first and last of `points` (cumulative seconds), in % of one core. */
function cpuPercentOf(points: { t: number; v: number }[]): number {
  const known = points.filter((p) => Number.isFinite(p.v));
  const first = known[0];
  const last = known.at(-1);
  if (!first || !last || last.t <= first.t) return Number.NaN;
  return ((last.v - first.v) / (last.t - first.t)) * 100;
}

const isReplica = (label: string) => / replica \d+$/.test(label);

/** The samples the verdict looks at: after warm-up, up to the end of the load. */
export function windowOf(r: SoakResult): SoakSample[] {
  return r.samples.filter((s) => s.t >= r.warmupSeconds && s.t <= r.seconds + 15);
}

export function verdicts(r: SoakResult): ProcessVerdict[] {
  const window = windowOf(r);
  const windowSeconds = r.seconds - r.warmupSeconds;
  const labels = [...new Set(window.flatMap((s) => s.components.map((c) => c.label)))];
  return (
    labels
      .map((label) => {
        const points = (m: Metric) =>
          window.flatMap((s) => {
            const c = s.components.find((x) => x.label === label);
            return c ? [{ t: s.t, v: c.sample[m] }] : [];
          });
        const growth = Object.fromEntries(
          METRICS.map((m) => [m, growthOf(points(m), windowSeconds)]),
        ) as Record<Metric, Growth>;
        const memoryFlat = (g: Growth) => Number.isNaN(g.growth) || g.growth < FLAT_LIMIT;
        // Used heap is a sawtooth whose height follows GC timing, not what is kept: the live heap (after
        // a major GC) is judged where the process reports it.
        const judgedHeap: ProcessVerdict['judgedHeap'] = Number.isNaN(growth.heapAfterGcBytes.growth)
          ? 'heapBytes'
          : 'heapAfterGcBytes';
        return {
          label,
          replica: isReplica(label),
          samples: points('rssBytes').length,
          growth,
          judgedHeap,
          flat: memoryFlat(growth.rssBytes) && memoryFlat(growth[judgedHeap]),
          cpuPercent: cpuPercentOf(
            window.flatMap((s) => {
              const c = s.components.find((x) => x.label === label);
              return c ? [{ t: s.t, v: c.sample.cpuSeconds }] : [];
            }),
          ),
        };
      })
      // A replica that lived through only part of the window (autoscaling) has no trend to judge.
      .filter((v) => !v.replica || v.samples >= window.length * 0.8)
  );
}

/** What --check fails on: loss, a non-flat Eddy process, eddy dev gone. */
export function failures(r: SoakResult): string[] {
  const out: string[] = [];
  for (const s of SERVICES) {
    const x = r.services[s];
    if (x?.lost !== 0)
      out.push(
        `${r.mode}: ${x?.lost} events acknowledged and never received by ${s} (e.g. seq ${x?.lostSample.join(', ')})`,
      );
  }
  for (const v of verdicts(r))
    if (!v.replica && !v.flat)
      out.push(
        `${r.mode}: ${v.label} memory grew after warm-up: RSS ${pct(v.growth.rssBytes.growth)}, ${v.judgedHeap === 'heapAfterGcBytes' ? 'heap after major GC' : 'heap used'} ${pct(v.growth[v.judgedHeap].growth)} (limit ${pct(FLAT_LIMIT)})`,
      );
  if (!r.devAlive) out.push(`${r.mode}: eddy dev was not running at the end`);
  return out;
}

const mib = (b: number) => b / 2 ** 20;
const pct = (g: number) => (Number.isNaN(g) ? '-' : `${g >= 0 ? '+' : ''}${(g * 100).toFixed(1)}%`);
const int = (n: number) => (Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'));
const one = (n: number) => (Number.isNaN(n) ? '-' : n.toFixed(1));

/** Eddy's processes one line each; a Service's replicas as their mean (they come and go). */
function componentSeries(r: SoakResult, metric: Metric, scale: (v: number) => number): Series[] {
  const eddy = [...new Set(r.samples.flatMap((s) => s.components.map((c) => c.label)))].filter(
    (l) => !isReplica(l),
  );
  const series: Series[] = eddy.map((label) => ({
    name: label,
    points: r.samples.map((s) => {
      const c = s.components.find((x) => x.label === label);
      return [s.t, c ? scale(c.sample[metric]) : Number.NaN];
    }),
  }));
  for (const svc of SERVICES)
    series.push({
      name: `${svc} replicas (mean)`,
      points: r.samples.map((s) => {
        const vs = s.components
          .filter((c) => c.label.startsWith(`${svc} replica`))
          .map((c) => c.sample[metric])
          .filter(Number.isFinite);
        return [s.t, vs.length ? scale(vs.reduce((a, b) => a + b, 0) / vs.length) : Number.NaN];
      }),
    });
  return series;
}

/** CPU of the processes `label` picks between samples a and b, % of a core (NaN when none). */
function cpuBetween(
  a: SoakSample | undefined,
  b: SoakSample | undefined,
  label: (l: string) => boolean,
): number {
  if (!a || !b || b.t <= a.t) return Number.NaN;
  let sum = Number.NaN;
  for (const c of b.components) {
    if (!label(c.label)) continue;
    const before = a.components.find((x) => x.pid === c.pid)?.sample.cpuSeconds;
    if (before === undefined || !Number.isFinite(before) || !Number.isFinite(c.sample.cpuSeconds)) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + ((c.sample.cpuSeconds - before) / (b.t - a.t)) * 100;
  }
  return sum;
}

/** Mean CPU over the window, % of one core: Eddy's processes, the replicas, this bench, the whole machine. */
export function cpuTotals(r: SoakResult): { eddy: number; replicas: number; bench: number; machine: number } {
  const window = windowOf(r);
  const mean = (between: (a: SoakSample, b: SoakSample) => number) => {
    let weighted = 0;
    let seconds = 0;
    for (let i = 1; i < window.length; i++) {
      const a = window[i - 1];
      const b = window[i];
      if (!a || !b || b.t <= a.t) continue;
      const v = between(a, b);
      if (Number.isNaN(v)) continue;
      weighted += v * (b.t - a.t);
      seconds += b.t - a.t;
    }
    return seconds > 0 ? weighted / seconds : Number.NaN;
  };
  const counter = (f: (s: SoakSample) => number | undefined) => (a: SoakSample, b: SoakSample) =>
    (((f(b) ?? Number.NaN) - (f(a) ?? Number.NaN)) / (b.t - a.t)) * 100;
  return {
    eddy: mean((a, b) => cpuBetween(a, b, (l) => !isReplica(l))),
    replicas: mean((a, b) => cpuBetween(a, b, isReplica)),
    bench: mean(counter((s) => s.cpu?.benchSeconds)),
    machine: mean(counter((s) => s.cpu?.machineBusySeconds)),
  };
}

/** Each Eddy process's CPU between consecutive samples, and the replicas' sum per Service. */
function cpuSeries(r: SoakResult): Series[] {
  const eddy = [...new Set(r.samples.flatMap((s) => s.components.map((c) => c.label)))].filter(
    (l) => !isReplica(l),
  );
  const points = (label: (l: string) => boolean) =>
    r.samples.slice(1).map((s, i): [number, number] => [s.t, cpuBetween(r.samples[i], s, label)]);
  return [
    ...eddy.map((name) => ({ name, points: points((l) => l === name) })),
    ...SERVICES.map((svc) => ({
      name: `${svc} replicas (sum)`,
      points: points((l) => l.startsWith(`${svc} replica`)),
    })),
  ];
}

export function panels(r: SoakResult): Panel[] {
  const at = (f: (s: SoakSample) => number): [number, number][] => r.samples.slice(1).map((s) => [s.t, f(s)]);
  return [
    { title: 'RSS per process', unit: 'MiB', series: componentSeries(r, 'rssBytes', mib) },
    { title: 'Heap used per process', unit: 'MiB', series: componentSeries(r, 'heapBytes', mib) },
    {
      title: 'Heap after the latest major GC per process (live heap)',
      unit: 'MiB',
      series: componentSeries(r, 'heapAfterGcBytes', mib),
    },
    { title: 'CPU per process (between samples)', unit: '% of a core', series: cpuSeries(r) },
    { title: 'Open file descriptors', unit: 'count', series: componentSeries(r, 'fds', (v) => v) },
    {
      title: 'Event-loop delay p99 per 10 s',
      unit: 'ms',
      series: componentSeries(r, 'eventLoopP99Ms', (v) => v),
    },
    {
      title: 'Rates',
      unit: 'events/s',
      series: [
        { name: 'acknowledged (202)', points: at((s) => s.ackedPerSecond) },
        ...SERVICES.map((svc) => ({
          name: `received by ${svc}`,
          points: at((s) => s.receivedPerSecond[svc] ?? Number.NaN),
        })),
        { name: `target ${r.rate}/s`, points: at(() => r.rate) },
      ],
    },
    {
      title: 'Backlog (acknowledged, not yet received) and replicas x 1000',
      unit: 'events',
      series: [
        ...SERVICES.map((svc) => ({
          name: `backlog of ${svc}`,
          points: at((s) => s.backlog[svc] ?? Number.NaN),
        })),
        ...SERVICES.map((svc) => ({
          name: `${svc} replicas x 1000`,
          points: at((s) => (s.replicas[svc] ?? 0) * 1000),
        })),
      ],
    },
  ];
}

export function renderMarkdown(
  results: SoakResult[],
  command: string,
  machine: string,
  svgPaths: Record<string, string>,
): string {
  const date = new Date().toISOString().slice(0, 16).replace('T', ' ');
  const out = [
    '',
    `## soak, ${date}Z`,
    '',
    `Command: \`${command}\` (after \`pnpm run build\`).  `,
    `Machine: ${machine}.  `,
    `Setup: \`eddy dev\` (the built CLI) on one Broker (topic partitions: embedded ${PARTITIONS.embedded}, Kafka ${PARTITIONS.kafka}, set by its \`spec.config\` ConfigMap), two Triggers, two Services run as processes: ${SERVICES_SETUP}. 1 KiB binary CloudEvents with unique ids, paced at the target rate, with at most 1,024 awaiting a 202 and at most 5 s of the target rate acknowledged but not yet at both Services (a slower pipeline gets fewer: the achieved rate is what was acknowledged). Every replica writes each id it gets before answering; lost = acknowledged and never received by a Service after the drain; duplicates = extra copies (at-least-once allows them).`,
    `Verdict: per process, the least-squares slope of RSS and of the live heap over the samples after warm-up, times the window, relative to the window's mean; flat when < ${pct(FLAT_LIMIT)}. The live heap is the heap used just after the latest major GC, young generation excluded (\`${HEAP_AFTER_MAJOR_GC_METRIC}\`, Eddy's processes); heap used, a sawtooth that follows GC timing, is shown but judged only for processes without it (the bench's replicas). Sampled every 10 s: RSS, CPU time and fds from /proc, heaps and event-loop delay p99 from each process's /metrics.`,
    '',
    '| mode | minutes (warm-up) | target/s | acknowledged/s | sent | acknowledged | failed | auto: received / lost / dups | fixed: received / lost / dups | drain | auto replicas (max) | verdict |',
    '|---|---|---:|---:|---:|---:|---:|---|---|---:|---:|---|',
  ];
  for (const r of results) {
    const f = failures(r);
    const svc = (s: string) => {
      const x = r.services[s];
      return x ? `${int(x.received)} / ${int(x.lost)} / ${int(x.duplicates)}` : '-';
    };
    out.push(
      `| ${r.mode} | ${one(r.seconds / 60)} (${one(r.warmupSeconds / 60)}) | ${int(r.rate)} | ${int(r.achievedRate)} | ${int(r.sent)} | ${int(r.acked)} | ${int(r.failed)} | ${svc('auto')} | ${svc('fixed')} | ${int(r.drainSeconds)} s | ${Math.max(0, ...r.samples.map((s) => s.replicas.auto ?? 0))} | ${f.length ? `FAIL: ${f.join('; ')}` : '0 lost, memory flat'} |`,
    );
  }
  for (const r of results) {
    out.push(
      '',
      `${r.mode}, after warm-up (growth = slope x window / mean):`,
      '',
      '| process | RSS MiB (mean) | RSS growth | heap used MiB (mean) | heap used growth | heap after major GC MiB (mean) | its growth | fds (mean) | fds growth | event-loop p99 ms (mean) | CPU % of a core (mean) | flat |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const v of verdicts(r)) {
      const g = v.growth;
      out.push(
        `| ${v.label} | ${one(mib(g.rssBytes.mean))} | ${pct(g.rssBytes.growth)} | ${one(mib(g.heapBytes.mean))} | ${pct(g.heapBytes.growth)} | ${one(mib(g.heapAfterGcBytes.mean))} | ${pct(g.heapAfterGcBytes.growth)} | ${one(g.fds.mean)} | ${pct(g.fds.growth)} | ${one(g.eventLoopP99Ms.mean)} | ${int(v.cpuPercent)} | ${v.replica ? `${v.flat ? 'yes' : 'no'} (bench code, not judged)` : v.flat ? 'yes' : 'NO'} |`,
      );
    }
    const cpu = cpuTotals(r);
    out.push(
      '',
      `CPU over the window, % of one core (the machine has ${os.cpus().length} cores, ${os.cpus().length * 100}%): machine busy ${int(cpu.machine)}, of which Eddy's processes ${int(cpu.eddy)}, the Services' replicas ${int(cpu.replicas)}, this bench (load generator, sampler) ${int(cpu.bench)}, the rest ${int(cpu.machine - cpu.eddy - cpu.replicas - cpu.bench)} (${r.mode === 'kafka' ? 'the Kafka broker, ' : ''}other work on the machine).`,
    );
    const svg = svgPaths[r.mode];
    if (svg) out.push('', `![soak ${r.mode}](${svg})`);
  }
  return out.join('\n');
}
