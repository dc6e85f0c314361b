// Broker data-plane benchmark: a bare Node HTTP server, Knative's Kafka broker data plane (the
// anchor, built from source by anchor/build.sh) and Eddy's broker data plane, side by side on the
// same Kafka and machine in one run. Not a test: it never gates CI.
//
//   pnpm run build && node bench/broker/run.ts [options]      (pnpm run bench:broker)
//
// Cells, for every contender that has them (see contenders.ts):
//   ingress   wrk (ce.lua: 1 KiB binary-mode CloudEvents) at each --conns; the ingress answers, nobody consumes
//   e2e       the same wrk load while one Trigger delivers to a Node sink: req/s accepted, events/s the sink
//             received during the run, and the backlog (accepted - delivered) when wrk stopped; then drained
//   latency   open-loop load at each --rates (loadgen.ts, undici), the sink's receive time minus the
//             event's due time (extension benchts): p50/p99
// plus RSS (VmHWM peak / VmRSS now, /proc) of each contender process, and CESQL evaluation ns/op.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { COMPONENT_NODE_FLAGS } from '@eddy/runtime';
import { freePorts } from '../../test/harness/free-ports.ts';
import { type KafkaCluster, startKafka } from '../../test/harness/kafka.ts';
import { publishResults } from '../eventlog/measure.ts';
import { progress, ticking } from '../progress.ts';
import { type AnchorBuild, buildAnchor, DEFAULT_SOURCE } from './anchor/knative.ts';
import { produceBacklog } from './backlog.ts';
import { benchCesql } from './cesql.ts';
import {
  type CellKind,
  type Contender,
  contenders,
  PARTITIONS,
  type RunningContender,
  triggerType,
} from './contenders.ts';
import { openLoop } from './loadgen.ts';
import { memoryOf, type Sink, sleep, startSink } from './procs.ts';
import { type Row, renderReport } from './report.ts';
import { runWrk } from './wrk.ts';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '10' },
    conns: { type: 'string', default: '64,256' },
    rates: { type: 'string', default: '1000,5000' },
    'rate-duration': { type: 'string', default: '15' },
    'rate-conns': { type: 'string', default: '256' },
    contenders: { type: 'string' },
    'anchor-source': { type: 'string', default: process.env.EKB_SRC ?? DEFAULT_SOURCE },
    'no-anchor': { type: 'boolean', default: false },
    'drain-timeout': { type: 'string', default: '120' },
    backlog: { type: 'string', default: '1000000' },
    'backlog-seconds': { type: 'string', default: '60' },
    triggers: { type: 'string', default: '0' },
    'triggers-timeout': { type: 'string', default: '600' },
    'no-write': { type: 'boolean', default: false },
    only: { type: 'string', default: 'ingress,e2e,backlog,triggers' },
    'node-flags': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
/** Node flags of Eddy's processes: the ones they run with in production unless --node-flags says otherwise. */
const nodeFlags: readonly string[] =
  args['node-flags'] === undefined
    ? COMPONENT_NODE_FLAGS
    : args['node-flags'] === 'none'
      ? []
      : args['node-flags'].split(' ').filter(Boolean);
if (args.help) {
  console.log(`usage: node bench/broker/run.ts [options]   (see bench/broker/README.md)
  --duration S          wrk seconds per ingress/e2e cell (15)      --warmup S        wrk c64 warm-up per start (10)
  --conns N,N           wrk connections (64,256)                   --rates R,R       open-loop events/s (1000,5000)
  --rate-duration S     seconds per rate (15)                      --rate-conns N    open-loop connections (256)
  --contenders a,b      ids from contenders.ts (all)               --no-anchor       skip Knative
  --anchor-source DIR   eventing-kafka-broker source (EKB_SRC)     --drain-timeout S (120)
  --backlog N           events pre-written for the backlog cell (1000000; 0 = skip)  --backlog-seconds S (60)
  --triggers N          Triggers for the many-Triggers cell (0 = skip)               --triggers-timeout S (600)
  --only k,k            cell kinds to run: ingress,e2e (with the fixed rates),backlog,triggers (all)
  --node-flags "F F"    Node flags of Eddy's processes (default: @eddy/runtime's COMPONENT_NODE_FLAGS; none = Node's defaults)
  --no-write            print only, do not append to bench/RESULTS.md`);
  process.exit(0);
}
const num = (name: keyof typeof args, min: number) => {
  const n = Number(args[name]);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} must be a number >= ${min}, got ${JSON.stringify(args[name])}`);
    process.exit(2);
  }
  return n;
};
const list = (name: keyof typeof args) =>
  String(args[name] ?? '')
    .split(',')
    .filter(Boolean)
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n <= 0) {
        console.error(`--${name}: "${s}" is not a positive integer`);
        process.exit(2);
      }
      return n;
    });
const DURATION = num('duration', 1);
const WARMUP = num('warmup', 0);
const RATE_DURATION = num('rate-duration', 1);
const RATE_CONNS = num('rate-conns', 1);
const DRAIN_TIMEOUT_MS = num('drain-timeout', 1) * 1000;
const BACKLOG = num('backlog', 0);
const BACKLOG_SECONDS = num('backlog-seconds', 1);
const TRIGGERS = num('triggers', 0);
const TRIGGERS_TIMEOUT_MS = num('triggers-timeout', 1) * 1000;
const CONNS = list('conns');
const ONLY = new Set(String(args.only).split(','));
for (const k of ONLY) {
  if (!['ingress', 'e2e', 'backlog', 'triggers'].includes(k)) {
    console.error(`--only: unknown cell kind "${k}" (ingress, e2e, backlog, triggers)`);
    process.exit(2);
  }
}
const RATES = list('rates');

/** Waits until the sink has counted `expected` events, or it stops making progress for 15 s. */
async function drain(
  sink: Sink,
  expected: number,
  what: string,
): Promise<{ count: number; seconds: number }> {
  const started = Date.now();
  let last = -1;
  let lastChange = Date.now();
  let lastLog = Date.now();
  for (;;) {
    const { count } = await sink.stats();
    if (count !== last) {
      last = count;
      lastChange = Date.now();
    }
    // Done once everything counted has arrived and nothing more came for 1 s: wrk stops with requests
    // in flight that the ingress accepted but wrk never counted, and those arrive too.
    if (count >= expected && Date.now() - lastChange >= 1000) {
      return { count, seconds: (lastChange - started) / 1000 };
    }
    if (Date.now() - lastLog > 5000) {
      progress(`${what}: draining, ${Math.max(0, expected - count)} events to go`);
      lastLog = Date.now();
    }
    if (Date.now() - lastChange > 15_000 || Date.now() - started > DRAIN_TIMEOUT_MS) {
      progress(`${what}: drain gave up with ${expected - count} events undelivered`);
      return { count, seconds: (Date.now() - started) / 1000 };
    }
    await sleep(200);
  }
}

/** "dispatcher ended (code 3)" for every contender process that is gone, or ''. */
function deaths(running: RunningContender): string {
  return running.processes
    .filter(({ proc }) => proc.hasExited)
    .map(({ role, proc }) => `${role} ended (${proc.exitReason}; see its log)`)
    .join(', ');
}

function memory(running: RunningContender): Row['memory'] {
  return running.processes.map(({ role, proc }) => ({ role, ...memoryOf(proc.pid) }));
}

async function runCells(
  c: Contender,
  kind: CellKind,
  kafka: KafkaCluster | undefined,
  sink: Sink,
  workDir: string,
): Promise<Row[]> {
  const rows: Row[] = [];
  const stamp = Date.now().toString(36);
  const dir = path.join(workDir, `${c.id}-${kind}`);
  mkdirSync(dir, { recursive: true });
  progress(`${c.id} ${kind}: starting (files in ${dir})`);
  const running = await ticking(
    `${c.id} ${kind}: starting`,
    c.start({
      kind,
      brokers: kafka?.brokers ?? [],
      topic: `bench-broker-${c.id}-${kind}-${stamp}`,
      group: `bench-broker-${c.id}-${kind}-${stamp}-trigger`,
      sinkUrl: sink.url,
      ports: await freePorts(8),
      nodeFlags,
      dir,
      log: progress,
    }),
  );
  try {
    const e2e = kind === 'e2e';
    let expected = (await sink.stats()).count;
    if (WARMUP > 0) {
      progress(`${c.id} ${kind}: warm-up, wrk -c64 ${WARMUP} s`);
      const w = await runWrk(running.url, 64, WARMUP);
      if (e2e) {
        expected += w.requests - w.non2xx;
        await drain(sink, expected, `${c.id} warm-up`);
      }
    }
    for (const conns of CONNS) {
      const before = (await sink.stats()).count;
      progress(`${c.id} ${kind}: wrk -c${conns} ${DURATION} s`);
      const w = await ticking(`${c.id} ${kind} c${conns}`, runWrk(running.url, conns, DURATION));
      const atEnd = (await sink.stats()).count;
      writeFileSync(path.join(dir, `wrk-c${conns}.txt`), w.raw);
      const mem = memory(running);
      const accepted = w.requests - w.non2xx;
      const row: Row = {
        contender: c.label,
        id: c.id,
        kind,
        cell: `c${conns}`,
        perSecond: accepted / w.seconds,
        non2xx: w.non2xx + w.socketErrors,
        p50Ms: w.p50Ms,
        p99Ms: w.p99Ms,
        memory: mem,
      };
      if (e2e) {
        row.deliveredPerSecond = (atEnd - before) / w.seconds;
        // wrk stops with requests in flight that the ingress accepted but wrk never counted: can go below 0.
        row.backlog = Math.max(0, accepted - (atEnd - before));
        const d = await drain(sink, before + accepted, `${c.id} c${conns}`);
        row.drainSeconds = d.seconds;
        row.undelivered = Math.max(0, before + accepted - d.count);
      }
      progress(
        `${c.id} ${kind} c${conns}: ${Math.round(row.perSecond)} req/s${e2e ? `, delivered ${Math.round(row.deliveredPerSecond ?? 0)}/s, backlog ${row.backlog}` : ''}`,
      );
      rows.push(row);
    }
    if (e2e) {
      for (const rate of RATES) {
        await sink.resetLatency();
        const before = (await sink.stats()).count;
        progress(`${c.id} latency: open loop ${rate}/s for ${RATE_DURATION} s`);
        const r = await ticking(`${c.id} ${rate}/s`, openLoop(running.url, rate, RATE_DURATION, RATE_CONNS));
        const d = await drain(sink, before + r.accepted, `${c.id} ${rate}/s`);
        const s = await sink.stats();
        rows.push({
          contender: c.label,
          id: c.id,
          kind: 'latency',
          cell: `${rate}/s`,
          perSecond: r.acceptedPerSecond,
          non2xx: r.failed,
          p50Ms: s.latency.p50Ms,
          p99Ms: s.latency.p99Ms,
          responseP50Ms: r.responseP50Ms,
          responseP99Ms: r.responseP99Ms,
          undelivered: Math.max(0, before + r.accepted - d.count),
          memory: memory(running),
        });
        progress(
          `${c.id} ${rate}/s: e2e p50 ${s.latency.p50Ms} ms p99 ${s.latency.p99Ms} ms (${s.latency.n} samples)`,
        );
      }
    }
  } finally {
    progress(`${c.id} ${kind}: stopping`);
    await running.stop();
  }
  return rows;
}

/**
 * The dispatcher on a backlog: BACKLOG events are written to a fresh topic first, then the contender
 * starts with one Trigger on it; for up to BACKLOG_SECONDS its memory is sampled every second while the
 * sink counts. Reports the peak RSS, the drain rate, and what was left.
 */
async function runBacklog(c: Contender, kafka: KafkaCluster, sink: Sink, workDir: string): Promise<Row> {
  const stamp = Date.now().toString(36);
  const dir = path.join(workDir, `${c.id}-backlog`);
  mkdirSync(dir, { recursive: true });
  const topic = `bench-broker-${c.id}-backlog-${stamp}`;
  progress(`${c.id} backlog: writing ${BACKLOG.toLocaleString('en-US')} events to ${topic}`);
  await produceBacklog(kafka.brokers, topic, PARTITIONS, BACKLOG, progress);
  const before = (await sink.stats()).count;
  // The dispatcher may start delivering before start() returns: sample the sink from now on, and
  // take the drain rate from the first delivery to the last sample.
  const samples: { t: number; count: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      samples.push({ t: Date.now(), count: (await sink.stats()).count - before });
      await sleep(250);
    }
  })();
  const running = await ticking(
    `${c.id} backlog: starting`,
    c.start({
      kind: 'e2e',
      brokers: kafka.brokers,
      topic,
      group: `${topic}-trigger`,
      sinkUrl: sink.url,
      ports: await freePorts(8),
      nodeFlags,
      dir,
      log: progress,
    }),
  );
  try {
    const started = Date.now();
    const peak = new Map<string, number>();
    let delivered = 0;
    let lastLog = Date.now();
    while (Date.now() - started < BACKLOG_SECONDS * 1000 && delivered < BACKLOG) {
      await sleep(1000);
      delivered = (await sink.stats()).count - before;
      for (const m of memory(running)) peak.set(m.role, Math.max(peak.get(m.role) ?? 0, m.rssMb));
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        progress(
          `${c.id} backlog: ${delivered.toLocaleString('en-US')} delivered, RSS ${[...peak].map(([r, mb]) => `${r} ${Math.round(mb)} MB`).join(', ')}`,
        );
      }
    }
    sampling = false;
    await sampler;
    const first = samples.find((x) => x.count > 0) ?? samples[0];
    const last = samples.at(-1);
    const seconds = first && last && last.t > first.t ? (last.t - first.t) / 1000 : Number.NaN;
    return {
      contender: c.label,
      id: c.id,
      kind: 'backlog',
      cell: `${BACKLOG.toLocaleString('en-US')} events`,
      perSecond: first && last ? (last.count - first.count) / seconds : Number.NaN,
      non2xx: 0,
      p50Ms: Number.NaN,
      p99Ms: Number.NaN,
      backlog: BACKLOG - delivered,
      ...(deaths(running) ? { note: deaths(running) } : {}),
      drainSeconds: (Date.now() - started) / 1000,
      memory: memory(running),
    };
  } finally {
    sampling = false;
    await sampler;
    progress(`${c.id} backlog: stopping`);
    await running.stop();
  }
}

/**
 * Many Triggers on one broker: the contender starts with TRIGGERS Triggers, Trigger i filtering
 * type = triggerType(i) and delivering to <sink>/t/<i>. Once its ingress answers, one event is sent
 * for each of up to 20 Triggers spread over the range; "apply" is the time from the start of the
 * processes to the last of those events reaching its path. Correct = each probed path got exactly its
 * event and no other path got anything.
 */
async function runTriggers(
  c: Contender,
  kafka: KafkaCluster | undefined,
  sink: Sink,
  workDir: string,
): Promise<Row> {
  const stamp = Date.now().toString(36);
  const dir = path.join(workDir, `${c.id}-triggers`);
  mkdirSync(dir, { recursive: true });
  const before = await sink.paths();
  const probes = [
    ...new Set(
      Array.from({ length: Math.min(20, TRIGGERS) }, (_, k) =>
        Math.floor((k * (TRIGGERS - 1)) / Math.max(1, Math.min(20, TRIGGERS) - 1)),
      ),
    ),
  ];
  const started = Date.now();
  progress(`${c.id} triggers: starting with ${TRIGGERS.toLocaleString('en-US')} Triggers`);
  const running = await ticking(
    `${c.id} triggers: starting`,
    c.start({
      kind: 'e2e',
      brokers: kafka?.brokers ?? [],
      topic: `bench-broker-${c.id}-triggers-${stamp}`,
      group: `bench-broker-${c.id}-triggers-${stamp}`,
      sinkUrl: sink.url,
      triggers: TRIGGERS,
      ports: await freePorts(8),
      nodeFlags,
      dir,
      log: progress,
    }),
  );
  try {
    const deadline = started + TRIGGERS_TIMEOUT_MS;
    for (const i of probes) {
      for (;;) {
        const res = await fetch(running.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-id': `probe-${stamp}-${i}`,
            'ce-type': triggerType(i),
            'ce-source': '/bench/broker/triggers',
          },
          body: '{}',
        }).catch(() => undefined);
        await res?.arrayBuffer();
        if (res?.status === 202) break;
        if (Date.now() > deadline) throw new Error(`the ingress did not accept the probe for Trigger ${i}`);
        await sleep(500);
      }
    }
    progress(`${c.id} triggers: ${probes.length} probes accepted, waiting for their deliveries`);
    let got: Record<string, number> = {};
    let lastLog = Date.now();
    const fresh = (all: Record<string, number>) =>
      Object.fromEntries(
        Object.entries(all)
          .map(([p, n]) => [p, n - (before[p] ?? 0)])
          .filter(([, n]) => (n as number) > 0),
      );
    while (Date.now() < deadline) {
      got = fresh(await sink.paths());
      if (probes.every((i) => got[`/t/${i}`])) break;
      if (deaths(running)) break; // a crashed dispatcher delivers nothing more
      if (Date.now() - lastLog > 5000) {
        lastLog = Date.now();
        progress(
          `${c.id} triggers: ${probes.filter((i) => got[`/t/${i}`]).length} of ${probes.length} probes delivered`,
        );
      }
      await sleep(200);
    }
    const applySeconds = (Date.now() - started) / 1000;
    await sleep(2000); // anything misrouted or duplicated has a moment to show up
    got = fresh(await sink.paths());
    const expected = new Set(probes.map((i) => `/t/${i}`));
    const missing = [...expected].filter((p) => !got[p]);
    const wrong = Object.keys(got).filter((p) => !expected.has(p));
    const dup = Object.entries(got)
      .filter(([, n]) => n > 1)
      .map(([p]) => p);
    const note =
      missing.length || wrong.length || dup.length
        ? `missing ${missing.length}, to wrong Triggers ${wrong.length}, duplicated ${dup.length}`
        : `all ${probes.length} probes reached exactly their Trigger`;
    const dead = deaths(running);
    progress(`${c.id} triggers: ${note}, ${applySeconds.toFixed(1)} s`);
    return {
      contender: c.label,
      id: c.id,
      kind: 'triggers',
      cell: `${TRIGGERS.toLocaleString('en-US')} Triggers`,
      perSecond: Number.NaN,
      non2xx: 0,
      p50Ms: Number.NaN,
      p99Ms: Number.NaN,
      drainSeconds: missing.length ? Number.NaN : applySeconds,
      note: dead ? `${note}; ${dead}` : note,
      memory: memory(running),
    };
  } finally {
    progress(`${c.id} triggers: stopping`);
    await running.stop();
  }
}

function versions(anchor: AnchorBuild | string, kafka: KafkaCluster | undefined): string {
  /** stdout and stderr together (`java -version` and `wrk -v` print to stderr). */
  const sh = (cmd: string, a: string[]) => {
    const res = spawnSync(cmd, a, { encoding: 'utf8' });
    return `${res.stdout ?? ''}${res.stderr ?? ''}`.trim() || String(res.error ?? '?');
  };
  const wrk = sh('wrk', ['-v']).split('\n')[0] ?? '?';
  let knative = 'not run';
  if (typeof anchor !== 'string') {
    const src = readFileSync(path.join(anchor.source, 'SOURCE.txt'), 'utf8').split('\n')[0] ?? '';
    knative = `${src} receiver-loom + dispatcher-loom on ${sh(anchor.java, ['-version']).split('\n')[0]}`;
  }
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']) ? ' + uncommitted changes' : '';
  const commit = `${sh('git', ['rev-parse', '--short', 'HEAD'])}${dirty}`;
  return [
    `Eddy ${commit}; Node ${process.version}; ${kafka ? `Kafka ${kafka.version} (1 node, test harness, full JIT)` : 'no Kafka'}; ${wrk}`,
    `Knative: ${knative}`,
    `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}`,
  ].join('\n');
}

// Ctrl-C / kill: exit through process.exit so the exit hooks kill every process we started (their
// watchdogs would too, a few seconds later).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping everything`);
    process.exit(130);
  });
}

async function main(): Promise<void> {
  const wanted = args.contenders?.split(',').filter(Boolean);
  const needAnchor = !args['no-anchor'] && (!wanted || wanted.includes('knative'));
  const anchor: AnchorBuild | string = needAnchor
    ? buildAnchor(args['anchor-source'] as string, progress)
    : 'anchor skipped (--no-anchor or not in --contenders)';
  if (typeof anchor === 'string') progress(anchor);
  const all = contenders(anchor);
  const unknown = wanted?.filter((id) => !all.some((c) => c.id === id)) ?? [];
  if (unknown.length) {
    console.error(`unknown contender(s) ${unknown.join(', ')}; known: ${all.map((c) => c.id).join(', ')}`);
    process.exit(2);
  }
  const chosen = all.filter((c) => (!wanted || wanted.includes(c.id)) && !c.unavailable);
  progress(`contenders: ${chosen.map((c) => c.id).join(', ')}`);

  progress('CESQL: compiling once, evaluating in a loop');
  const cesql = benchCesql();
  progress(`CESQL: ${cesql.nsPerOp.toFixed(1)} ns/op`);

  const workDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-broker-'));
  let kafka: KafkaCluster | undefined;
  let sink: Sink | undefined;
  const rows: Row[] = [];
  const failures: string[] = [];
  try {
    if (chosen.some((c) => c.needsKafka)) {
      progress('starting Kafka (test/harness/kafka.ts, full JIT)');
      kafka = await startKafka({ fastStartJvm: false, log: (l) => progress(`kafka: ${l}`) });
      progress(`Kafka ${kafka.version} at ${kafka.brokers.join(',')}`);
    }
    const [sinkPort] = (await freePorts(1)) as [number];
    sink = await startSink(sinkPort, path.join(workDir, 'sink.log'));
    for (const c of chosen) {
      for (const kind of c.kinds.filter((k) => ONLY.has(k))) {
        try {
          rows.push(...(await runCells(c, kind, kafka, sink, workDir)));
        } catch (error) {
          const message = `${c.id} ${kind}: ${(error as Error).message}`;
          progress(`FAILED ${message}`);
          failures.push(message);
        }
      }
    }
    for (const c of chosen.filter((c) => TRIGGERS > 0 && ONLY.has('triggers') && c.kinds.includes('e2e'))) {
      try {
        rows.push(await runTriggers(c, kafka, sink, workDir));
      } catch (error) {
        const message = `${c.id} triggers: ${(error as Error).message}`;
        progress(`FAILED ${message}`);
        failures.push(message);
      }
    }
    for (const c of chosen.filter(
      (c) => BACKLOG > 0 && ONLY.has('backlog') && c.needsKafka && c.kinds.includes('e2e'),
    )) {
      try {
        rows.push(await runBacklog(c, kafka as KafkaCluster, sink, workDir));
      } catch (error) {
        const message = `${c.id} backlog: ${(error as Error).message}`;
        progress(`FAILED ${message}`);
        failures.push(message);
      }
    }
  } finally {
    await sink?.proc.stop();
    if (kafka) {
      progress('stopping Kafka');
      await kafka.stop();
    }
  }
  const command = `node bench/broker/run.ts ${process.argv.slice(2).join(' ')}`.trim();
  const report = renderReport({
    date: new Date().toISOString().slice(0, 16).replace('T', ' '),
    command,
    versions: versions(anchor, kafka),
    settings: `wrk -t2, ${DURATION} s per cell after a ${WARMUP} s warm-up at c64 (drained), ce.lua (1 KiB binary-mode CloudEvents); open loop ${RATE_DURATION} s per rate, up to ${RATE_CONNS} connections; 4 partitions; fresh topic and group per contender and cell kind`,
    rows,
    cesql,
    skipped: [...all.filter((c) => c.unavailable).map((c) => `${c.id}: ${c.unavailable}`), ...failures],
    logs: workDir,
  });
  publishResults(report, !args['no-write']);
  if (failures.length) process.exitCode = 1;
}

await main();
