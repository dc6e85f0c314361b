// The result tables: throughput (ingress and e2e cells, ratios to the anchor and to the bare
// server), latency at fixed rates, memory, CESQL.
import type { Memory } from './procs.ts';

export interface Row {
  contender: string;
  id: string;
  kind: 'ingress' | 'e2e' | 'latency' | 'backlog' | 'triggers';
  /** `c64` (wrk connections) or `1000/s` (open-loop rate). */
  cell: string;
  /** Accepted (2xx) events per second. */
  perSecond: number;
  /** Non-2xx responses and socket errors. */
  non2xx: number;
  /** wrk's response latency (throughput cells) or the e2e latency, due -> sink (latency cells). */
  p50Ms: number;
  p99Ms: number;
  /** Latency cells: the ingress's response time, due -> 202. */
  responseP50Ms?: number;
  responseP99Ms?: number;
  /** e2e cells: events the sink received per second while wrk ran. */
  deliveredPerSecond?: number;
  /** e2e cells: accepted but not yet delivered when wrk stopped. */
  backlog?: number;
  drainSeconds?: number;
  /** Accepted events the sink never got (drain gave up). */
  undelivered?: number;
  /** Many-Triggers cell: whether the probes reached the right Triggers. */
  note?: string;
  memory: ({ role: string } & Memory)[];
}

export interface Report {
  date: string;
  command: string;
  versions: string;
  settings: string;
  rows: Row[];
  cesql: { expression: string; nsPerOp: number; iterations: number };
  skipped: string[];
  logs: string;
}

const int = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US');
const ms = (n: number | undefined) =>
  n === undefined || Number.isNaN(n) ? '-' : n < 10 ? n.toFixed(2) : n.toFixed(1);
const ratio = (a: number, b: number | undefined) => (b === undefined || !b ? '-' : `${(a / b).toFixed(2)}x`);
const mem = (m: Row['memory']) => m.map((p) => `${p.role} ${int(p.hwmMb)}/${int(p.rssMb)}`).join(' + ');

export function renderReport(r: Report): string {
  const find = (id: string, kind: string, cell: string) =>
    r.rows.find((x) => x.id === id && x.kind === kind && x.cell === cell);
  const out: string[] = [
    '',
    `## broker, ${r.date}Z`,
    '',
    `Command: \`${r.command}\` (after \`pnpm run build\`)`,
    '',
  ];
  out.push(...r.versions.split('\n').map((l) => `${l}  `), '', `Settings: ${r.settings}.`, '');
  const throughput = r.rows.filter((x) => x.kind === 'ingress' || x.kind === 'e2e');
  if (throughput.length)
    out.push(
      '| cell | contender | req/s accepted | vs Knative | vs bare | wrk p50 / p99 ms | delivered/s at sink | backlog at end | errors | RSS MB peak/now |',
      '|---|---|---:|---:|---:|---|---:|---:|---:|---|',
    );
  for (const row of throughput) {
    const anchor = row.id === 'knative' ? undefined : find('knative', row.kind, row.cell);
    const bare = row.id === 'bare' ? undefined : find('bare', 'ingress', row.cell);
    out.push(
      `| ${row.kind} ${row.cell} | ${row.contender} | ${int(row.perSecond)} | ${ratio(row.perSecond, anchor?.perSecond)} | ${ratio(row.perSecond, bare?.perSecond)} | ${ms(row.p50Ms)} / ${ms(row.p99Ms)} | ${int(row.deliveredPerSecond)} | ${row.backlog === undefined ? '-' : int(row.backlog)}${row.undelivered ? ` (${int(row.undelivered)} never)` : ''} | ${int(row.non2xx)} | ${mem(row.memory)} |`,
    );
  }
  const latency = r.rows.filter((x) => x.kind === 'latency');
  if (latency.length) {
    out.push(
      '',
      '| rate | contender | accepted/s (first send -> last 202) | e2e p50 / p99 ms (due -> sink) | ingress 202 p50 / p99 ms | errors | undelivered | RSS MB peak/now |',
      '|---|---|---:|---|---|---:|---:|---|',
    );
    for (const row of latency) {
      out.push(
        `| ${row.cell} | ${row.contender} | ${int(row.perSecond)} | ${ms(row.p50Ms)} / ${ms(row.p99Ms)} | ${ms(row.responseP50Ms)} / ${ms(row.responseP99Ms)} | ${int(row.non2xx)} | ${int(row.undelivered)} | ${mem(row.memory)} |`,
      );
    }
  }
  const backlog = r.rows.filter((x) => x.kind === 'backlog');
  if (backlog.length) {
    out.push(
      '',
      '| backlog on one Trigger | contender | delivered/s while draining | left after | RSS MB peak/now (end) |',
      '|---|---|---:|---|---|',
    );
    for (const row of backlog) {
      out.push(
        `| ${row.cell} | ${row.contender} | ${int(row.perSecond)} | ${int(row.backlog)} after ${ms(row.drainSeconds)} s${row.note ? ` (${row.note})` : ''} | ${mem(row.memory)} |`,
      );
    }
  }
  const triggers = r.rows.filter((x) => x.kind === 'triggers');
  if (triggers.length) {
    out.push(
      '',
      '| Triggers on one broker | contender | start -> probes delivered | routing | RSS MB peak/now |',
      '|---|---|---|---|---|',
    );
    for (const row of triggers) {
      out.push(
        `| ${row.cell} | ${row.contender} | ${ms(row.drainSeconds)} s | ${row.note ?? '-'} | ${mem(row.memory)} |`,
      );
    }
  }
  out.push(
    '',
    `CESQL (@eddy/api, compiled once): \`${r.cesql.expression}\` ${r.cesql.nsPerOp.toFixed(1)} ns/op (${r.cesql.iterations.toLocaleString('en-US')} matching evaluations).`,
  );
  out.push(
    '',
    'req/s accepted = 2xx responses per second under wrk (closed loop). In e2e cells the dispatcher runs at the same time; "delivered/s" is what the sink received during the wrk run and "backlog" is accepted minus delivered when wrk stopped (then drained before the next cell). e2e latency is measured from the moment the open-loop generator was due to send the event (extension `benchts`) to the sink receiving it, so it includes the ingress request; an accepted/s below the rate means the contender (or the machine, which also runs the generator) did not keep up, and the latency then includes the queue in the generator. Backlog on one Trigger: events written to the topic before the contender started; delivered/s from the first delivery to the end of the window. RSS: VmHWM (peak since start) / VmRSS at the end of the cell, per process.',
  );
  if (r.skipped.length) out.push('', ...r.skipped.map((s) => `- not measured: ${s}`));
  out.push('', `Logs of this run: ${r.logs}`, '');
  return out.join('\n');
}
