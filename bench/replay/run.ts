// Replay benchmark: a Replay through a Trigger against that Trigger's live dispatch of the same backlog,
// in the same run, on the embedded log and on Kafka; and the memory of a long replay. Not a test: it
// never gates CI.
//
//   pnpm run build && node bench/replay/run.ts [options]      (pnpm run bench:replay)
//
// Per log, a process of its own (this file again, with the data plane's production Node flags) runs the
// broker data plane (createBrokerDataPlane on the log, as packages/broker/dist/data-plane/main.js runs
// it), which delivers to bench/broker/sink.ts (a process of its own, counting). See README.md.
//   throughput  --events 1 KiB events are written into the broker's topic, then, --rounds times,
//               interleaved: live (the Trigger on a fresh group from the earliest offset drains the
//               backlog) and replay (a ReplayPlan of exactly that window through the same Trigger's
//               route, as the control plane makes it). events/s from the first to the last delivery the
//               sink counted; the median of the rounds.
//   memory      --big events are written into a fresh topic of the broker, then replayed through its
//               Trigger (which reads from the latest offset, so only the replay delivers): that
//               process's RSS before the replay and its peak, sampled every 250 ms while it runs.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  type DataPlaneContract,
  type DispatchRoute,
  type ReplayPlan,
  replayGroup,
  replayTargetId,
} from '@eddy/api';
import {
  type BrokerDataPlane,
  createBrokerDataPlane,
  DEFAULT_KAFKA_CLIENT,
  type EventLog,
  openEmbeddedEventLog,
  openKafkaEventLog,
  progressFrom,
  ReplayCheckpoints,
} from '@eddy/broker';
import { COMPONENT_NODE_FLAGS } from '@eddy/runtime';
import pino from 'pino';
import { freePorts } from '../../test/harness/free-ports.ts';
import { type KafkaCluster, startKafka } from '../../test/harness/kafka.ts';
import { onProcessExit, startWatchdog } from '../../test/harness/processes.ts';
import { appendBacklog, produceBacklog } from '../broker/backlog.ts';
import { eddyContract, PARTITIONS } from '../broker/contenders.ts';
import { type Memory, memoryOf, type Sink, sleep, startSink } from '../broker/procs.ts';
import { publishResults } from '../eventlog/measure.ts';
import { progress } from '../progress.ts';

type LogKind = 'embedded' | 'kafka';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    big: { type: 'string', default: '1000000' },
    rounds: { type: 'string', default: '2' },
    log: { type: 'string', default: 'both' },
    'no-write': { type: 'boolean', default: false },
    // Internal (runLog): measure the one --log in this process and write the result to this file.
    'child-out': { type: 'string' },
    'work-dir': { type: 'string' },
    // Internal: what the child does (throughput rounds, writing the big window, replaying it) and, for
    // the big replay, where its window is (written by the big-write child).
    'child-role': { type: 'string', default: 'throughput' },
    'big-window': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(`usage: node bench/replay/run.ts [options]
  --events N              backlog replayed and drained live, per round (200000)
  --big N                 events of the replay whose memory is sampled (1000000; 0 = skip)
  --rounds N              live/replay pairs, interleaved; the median is reported (2)
  --log embedded|kafka|both   which event logs (both); Kafka: KAFKA_BROKERS, else the test harness starts one
  --no-write              print only, do not append to bench/RESULTS.md`);
  process.exit(0);
}
const count = (name: 'events' | 'big' | 'rounds', min: number): number => {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${JSON.stringify(args[name])}`);
    process.exit(2);
  }
  return n;
};
const EVENTS = count('events', 1);
const BIG = count('big', 0);
const ROUNDS = count('rounds', 1);
const LOGS: LogKind[] =
  args.log === 'both'
    ? ['embedded', 'kafka']
    : args.log === 'embedded' || args.log === 'kafka'
      ? [args.log]
      : [];
if (LOGS.length === 0) {
  console.error(`--log must be embedded, kafka or both, got ${JSON.stringify(args.log)}`);
  process.exit(2);
}

/** How often the sink's count is read: the resolution of "first" and "last" delivery. */
const SINK_SAMPLE_MS = 100;
const RSS_SAMPLE_MS = 250;
/** A phase whose deliveries stop moving for this long failed (a first Kafka group join takes seconds). */
const STALL_MS = 60_000;
/** How long a finished replay's checkpoints may take to cover its last commit. */
const CHECKPOINT_WAIT_MS = 30_000;

interface Phase {
  /** First to last delivery. */
  seconds: number;
  perSecond: number;
  /** Deliveries beyond the expected count (duplicates), 1 s after the last expected one. */
  extra: number;
}

interface LogResult {
  label: string;
  live: Phase[];
  replay: Phase[];
  big?: Phase & { baseline: Memory; peak: Memory };
  /** Anything that did not add up (checkpoint counts, duplicates). */
  notes: string[];
}

// Results cross a process boundary as JSON, where NaN becomes null: both print as '-'.
const int = (n: number | null) =>
  Number.isFinite(n) ? Math.round(n as number).toLocaleString('en-US') : '-';
const secs = (n: number | null) => (Number.isFinite(n) ? `${(n as number).toFixed(1)} s` : '-');
/** Of the runs that measured something (NaN when none did). */
const median = (values: (number | null)[]) => {
  const sorted = values.filter((v): v is number => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** This process's memory (the data plane's): VmRSS, its anonymous part, and the V8 heap in use. */
function memoryNow(): Memory & { heapMb: number } {
  return { ...memoryOf(process.pid), heapMb: process.memoryUsage().heapUsed / 2 ** 20 };
}

const showMemory = (m: Memory & { heapMb: number }) =>
  `RSS ${int(m.rssMb)} MB (anon ${int(m.anonMb)}, V8 heap used ${int(m.heapMb)})`;

/** The sample of this process with the highest RSS, sampled every RSS_SAMPLE_MS until stop(). */
function sampleRss(): { peak(): Memory & { heapMb: number }; stop(): Memory & { heapMb: number } } {
  let peak = memoryNow();
  const sample = () => {
    const m = memoryNow();
    if (m.rssMb > peak.rssMb) peak = m;
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/**
 * Runs `start` (applying a contract) and measures the deliveries it causes: until the sink counted
 * `expected` more than before, events/s from the first delivery seen to the last. `status` adds to the
 * progress line printed every 5 s.
 */
async function deliveries(
  sink: Sink,
  expected: number,
  what: string,
  start: () => Promise<unknown>,
  status: () => string = () => `; ${showMemory(memoryNow())}`,
): Promise<Phase> {
  const before = (await sink.stats()).count;
  let first: { t: number; count: number } | undefined;
  let last = { t: performance.now(), count: 0 };
  let stopped = false;
  // Sampling starts before the contract is applied: deliveries may begin before apply() resolves.
  const sampler = (async () => {
    let lastChange = Date.now();
    let lastLog = Date.now();
    while (!stopped) {
      const delivered = (await sink.stats()).count - before;
      const t = performance.now();
      if (delivered !== last.count) lastChange = Date.now();
      last = { t, count: delivered };
      if (first === undefined && delivered > 0) first = last;
      if (delivered >= expected) return;
      if (Date.now() - lastChange > STALL_MS)
        throw new Error(
          `${what}: no delivery for ${STALL_MS / 1000} s, ${delivered} of ${expected} delivered`,
        );
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        progress(
          `${what}: ${delivered.toLocaleString('en-US')} of ${expected.toLocaleString('en-US')} delivered${status()}`,
        );
      }
      await sleep(SINK_SAMPLE_MS);
    }
  })();
  try {
    await start();
  } catch (error) {
    stopped = true;
    await sampler.catch(() => {});
    throw error;
  }
  await sampler;
  // Anything delivered twice shows up right after the last expected delivery.
  await sleep(1000);
  const extra = (await sink.stats()).count - before - expected;
  const seconds = first !== undefined && last.t > first.t ? (last.t - first.t) / 1000 : Number.NaN;
  const phase = { seconds, perSecond: (last.count - (first?.count ?? 0)) / seconds, extra };
  progress(
    `${what}: ${int(phase.perSecond)} events/s (${seconds.toFixed(1)} s first to last delivery)${extra ? `, ${extra} extra deliveries` : ''}; ${showMemory(memoryNow())}`,
  );
  return phase;
}

/** The replay of [from, to) of the Trigger's topic through its route, as the control plane plans it. */
function replayPlan(trigger: DispatchRoute, name: string, uid: string, from: number, to: number): ReplayPlan {
  return {
    namespace: trigger.namespace,
    name,
    id: `${trigger.namespace}/${name}`,
    uid,
    topic: trigger.topic,
    from,
    to,
    targets: [
      {
        ...trigger,
        id: replayTargetId(trigger.namespace, name, trigger.name),
        group: replayGroup(uid, trigger.name),
        startFrom: { timestamp: from },
      },
    ],
    dryRun: false,
    suspended: false,
  };
}

/**
 * Waits until the replay's checkpoints say it is done (what the control plane completes it on); a
 * note when they do not match `expected` (window size and deliveries), undefined when they do.
 */
async function checkpointed(
  checkpoints: ReplayCheckpoints,
  plan: ReplayPlan,
  expected: number,
): Promise<string | undefined> {
  const progressOf = progressFrom(checkpoints);
  const targets = plan.targets.map((t) => t.id);
  const deadline = Date.now() + CHECKPOINT_WAIT_MS;
  for (;;) {
    await checkpoints.sync();
    const p = progressOf(plan.uid, targets);
    if (p?.done && p.total === expected && p.counts.delivered === expected) return undefined;
    if (Date.now() > deadline) {
      return p === undefined
        ? `${plan.id}: no checkpoints after ${CHECKPOINT_WAIT_MS / 1000} s`
        : `${plan.id}: checkpoints say total ${p.total}, delivered ${p.counts.delivered}, done ${p.done} (expected ${expected})`;
    }
    await sleep(200);
  }
}

/** Where the big window is: written by one child, replayed by the next (a fresh process). */
interface BigWindow {
  topic: string;
  dataDir: string;
  from: number;
  to: number;
  /** The stamp of the run: names its state topics. */
  stamp: string;
}

type ChildRole = 'throughput' | 'big-write' | 'big-replay';

async function benchLog(
  kind: LogKind,
  brokers: string[],
  sink: Sink,
  workDir: string,
  role: ChildRole,
  window: BigWindow | undefined,
): Promise<LogResult & { window?: BigWindow }> {
  const stamp = window?.stamp ?? `${Date.now().toString(36)}`;
  const topic = `bench-replay-${stamp}`;
  const bigTopic = `${topic}-big`;
  // Topics and groups of this run only: a shared Kafka's other users keep theirs.
  const retryStateTopic = `${topic}-retry-state`;
  const checkpointTopic = `${topic}-replay-checkpoints`;
  const logger = pino(
    { level: 'info' },
    pino.destination({ dest: path.join(workDir, `data-plane-${kind}.log`), sync: true }),
  );
  // The big window's data dir outlives the child that wrote it: the replay runs in the next one.
  const dataDir =
    kind !== 'embedded' ? '' : (window?.dataDir ?? mkdtempSync(path.join(workDir, `embedded-${role}-`)));
  const log: EventLog =
    kind === 'kafka' ? openKafkaEventLog({ brokers, logger }) : await openEmbeddedEventLog({ dataDir });
  const label = kind === 'kafka' ? `Kafka (${DEFAULT_KAFKA_CLIENT})` : 'embedded (SQLite)';
  const write = (to: string, events: number) => {
    const say = (line: string) => progress(`${kind} ${line}`);
    return kind === 'kafka'
      ? produceBacklog(brokers, to, PARTITIONS, events, say)
      : appendBacklog(log, to, events, say);
  };
  const result: LogResult & { window?: BigWindow } = { label, live: [], replay: [], notes: [] };
  let plane: BrokerDataPlane | undefined;
  let checkpoints: ReplayCheckpoints | undefined;
  let generation = 0;
  /** bench/broker's contract on `on`: its Trigger on `group` reading from `startFrom` (none without a group). */
  const contract = (
    on: string,
    group?: string,
    startFrom?: DispatchRoute['startFrom'],
  ): DataPlaneContract => {
    const c = eddyContract({
      kind: group ? 'e2e' : 'ingress',
      topic: on,
      group: group ?? '',
      sinkUrl: sink.url,
    });
    return {
      ...c,
      generation: ++generation,
      routes: c.routes.map((r) => ({ ...r, ...(startFrom ? { startFrom } : {}) })),
      replays: [],
    };
  };
  // Groups of Triggers a contract drops are deleted, as for a deleted Trigger: nothing is left behind.
  const apply = (c: DataPlaneContract) => (plane as BrokerDataPlane).apply(c, { deleteGroupsOf: () => true });
  try {
    plane = await createBrokerDataPlane({
      log,
      logger,
      dispatcher: { retryStateTopic, replayCheckpointTopic: checkpointTopic },
    });
    // The broker alone first: its ingress creates the topic as it does in production (on Kafka with
    // LogAppendTime, which the replay's time window relies on).
    await apply(contract(role === 'throughput' ? topic : bigTopic));
    progress(`${kind}: data plane started; ${showMemory(memoryNow())}`);
    checkpoints = await ReplayCheckpoints.open({ log, topic: checkpointTopic, logger });
    if (role === 'big-write') {
      progress(`${kind}: writing ${BIG.toLocaleString('en-US')} events to ${bigTopic}`);
      const from = Date.now();
      await write(bigTopic, BIG);
      result.window = { topic: bigTopic, dataDir, from, to: Date.now() + 1, stamp };
      return result;
    }
    const from = Date.now();
    if (role === 'throughput') {
      progress(`${kind}: writing ${EVENTS.toLocaleString('en-US')} events to ${topic}`);
      await write(topic, EVENTS);
    }
    const to = Date.now() + 1;
    for (let round = 1; role === 'throughput' && round <= ROUNDS; round++) {
      const live = contract(topic, `${topic}-live-${round}`);
      const trigger = live.routes[0] as DispatchRoute;
      progress(
        `${kind} live ${round}: Trigger ${trigger.id} on group ${trigger.group}, from the earliest offset`,
      );
      result.live.push(await deliveries(sink, EVENTS, `${kind} live ${round}`, () => apply(live)));
      const plan = replayPlan(trigger, `replay-${round}`, `${stamp}-${round}`, from, to);
      progress(
        `${kind} replay ${round}: ${plan.id} through ${trigger.id} on group ${plan.targets[0]?.group}`,
      );
      result.replay.push(
        await deliveries(sink, EVENTS, `${kind} replay ${round}`, () =>
          apply({ ...live, generation: ++generation, replays: [plan] }),
        ),
      );
      const note = await checkpointed(checkpoints, plan, EVENTS);
      if (note) result.notes.push(note);
      // Finished: the control plane drops it from the contract (its groups and checkpoints go).
      await apply({ ...live, generation: ++generation });
    }
    for (const [phase, runs] of [
      ['live', result.live],
      ['replay', result.replay],
    ] as const) {
      const extra = runs.reduce((sum, r) => sum + r.extra, 0);
      if (extra) result.notes.push(`${extra} more ${phase} deliveries than events, over ${ROUNDS} run(s)`);
    }

    if (role === 'big-replay' && window !== undefined) {
      // A process that did nothing but start: its memory is the replay's, not the writer's.
      const { from: bigFrom, to: bigTo } = window;
      // Its Trigger runs as in production but from the latest offset: the replay alone delivers.
      const live = contract(bigTopic, `${bigTopic}-live`, 'latest');
      await apply(live);
      const plan = replayPlan(live.routes[0] as DispatchRoute, 'replay-big', `${stamp}-big`, bigFrom, bigTo);
      const baseline = memoryNow();
      const rss = sampleRss();
      progress(`${kind} big replay: ${plan.id}; before it, ${showMemory(baseline)}`);
      const phase = await deliveries(
        sink,
        BIG,
        `${kind} big replay`,
        () => apply({ ...live, generation: ++generation, replays: [plan] }),
        () => `; peak ${showMemory(rss.peak())}`,
      ).finally(() => rss.stop());
      const peak = rss.peak();
      result.big = { ...phase, baseline, peak };
      progress(`${kind} big replay: peak ${showMemory(peak)}; before it, ${showMemory(baseline)}`);
      const note = await checkpointed(checkpoints, plan, BIG);
      if (note) result.notes.push(note);
      if (phase.extra) result.notes.push(`${phase.extra} more big replay deliveries than events`);
    }
    // No Trigger and no replay left: every group of the run is deleted.
    await apply(contract(topic));
  } finally {
    await checkpoints?.close();
    await plane?.close();
    // The big window stays for the replay child; everything else of the run goes with its last child.
    if (kind === 'kafka' && role !== 'big-write') {
      for (const t of [topic, bigTopic, retryStateTopic, checkpointTopic])
        await log.deleteTopic(t).catch(() => {});
    }
    await log.close();
    logger.flush();
    if (dataDir && role !== 'big-write') rmSync(dataDir, { recursive: true, force: true });
  }
  return result;
}

function versions(kafka: string | undefined): string {
  const git = (...a: string[]) => spawnSync('git', a, { encoding: 'utf8' }).stdout?.trim() ?? '';
  const dirty = git('status', '--porcelain', '--untracked-files=no') ? ' + uncommitted changes' : '';
  return [
    `Eddy ${git('rev-parse', '--short', 'HEAD') || '?'}${dirty}; Node ${process.version} (data plane processes: ${CHILD_FLAGS.join(' ')}); ${kafka ?? 'no Kafka'}`,
    `Machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()}`,
  ].join('\n');
}

function report(results: LogResult[], failures: string[], kafka: string | undefined, logs: string): string {
  const out = [
    '',
    `## replay, ${new Date().toISOString().slice(0, 16).replace('T', ' ')}Z`,
    '',
    `Command: \`${`node bench/replay/run.ts ${process.argv.slice(2).join(' ')}`.trim()}\` (after \`pnpm run build\`)`,
    '',
    ...versions(kafka)
      .split('\n')
      .map((l) => `${l}  `),
    '',
    `Settings: ${EVENTS.toLocaleString('en-US')} events of 1 KiB JSON (binary mode on Kafka), ${PARTITIONS} partitions, one Trigger (unordered, maxInFlight 100) delivering to bench/broker/sink.ts (its own process); the broker data plane in a process of its own per log; live and replay ${ROUNDS} times each, interleaved, median shown; events/s from the first to the last delivery the sink counted (sampled every ${SINK_SAMPLE_MS} ms). Memory: a ${BIG.toLocaleString('en-US')}-event replay through the Trigger of a fresh topic, RSS of that process before it and its peak (VmRSS sampled every ${RSS_SAMPLE_MS} ms; anon = its RssAnon part, the rest is mapped files: code, SQLite's shared memory).`,
    'Targets: replay >= 0.9x live; RSS peak < 200 MB during the big replay.',
    '',
    '| log | live events/s | replay events/s | replay / live | runs (live; replay) | big replay | duration | events/s | RSS before MB (anon) | RSS peak MB (anon) |',
    '|---|---:|---:|---:|---|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const live = median(r.live.map((p) => p.perSecond));
    const replay = median(r.replay.map((p) => p.perSecond));
    const runs = `${r.live.map((p) => int(p.perSecond)).join(', ')}; ${r.replay.map((p) => int(p.perSecond)).join(', ')}`;
    const big = r.big
      ? `${BIG.toLocaleString('en-US')} | ${secs(r.big.seconds)} | ${int(r.big.perSecond)} | ${int(r.big.baseline.rssMb)} (${int(r.big.baseline.anonMb)}) | ${int(r.big.peak.rssMb)} (${int(r.big.peak.anonMb)})`
      : '- | - | - | - | -';
    out.push(
      `| ${r.label} | ${int(live)} | ${int(replay)} | ${Number.isFinite(replay / live) ? `${(replay / live).toFixed(2)}x` : '-'} | ${runs} | ${big} |`,
    );
  }
  const notes = [...results.flatMap((r) => r.notes.map((n) => `${r.label}: ${n}`)), ...failures];
  if (notes.length) out.push('', ...notes.map((n) => `- ${n}`));
  out.push('', `Logs of this run: ${logs}`, '');
  return out.join('\n');
}

/** Node flags of the processes running a data plane: the caller's, plus those it runs with in production. */
const CHILD_FLAGS = [
  ...process.execArgv,
  ...COMPONENT_NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag)),
];

/** The child process now measuring a log, if any. */
let running: ChildProcess | undefined;

/**
 * Measures one log in a process of its own (this file with --child-out), so each log's RSS is its data
 * plane's alone, from a fresh start, and the process has the data plane's Node flags.
 */
async function runLog(kind: LogKind, brokers: string[], workDir: string): Promise<LogResult> {
  const result = await runChild(kind, brokers, workDir, 'throughput');
  if (BIG === 0) return result;
  const { window } = await runChild(kind, brokers, workDir, 'big-write');
  const big = await runChild(kind, brokers, workDir, 'big-replay', window);
  return { ...result, ...(big.big ? { big: big.big } : {}), notes: [...result.notes, ...big.notes] };
}

async function runChild(
  kind: LogKind,
  brokers: string[],
  workDir: string,
  role: ChildRole,
  window?: BigWindow,
): Promise<LogResult & { window?: BigWindow }> {
  const out = path.join(workDir, `${kind}-${role}.json`);
  const child = spawn(
    process.execPath,
    [
      ...CHILD_FLAGS,
      import.meta.filename,
      ...['--log', kind, '--events', String(EVENTS), '--big', String(BIG), '--rounds', String(ROUNDS)],
      ...['--child-out', out, '--work-dir', workDir, '--child-role', role],
      ...(window ? ['--big-window', JSON.stringify(window)] : []),
    ],
    { stdio: 'inherit', env: { ...process.env, KAFKA_BROKERS: brokers.join(',') } },
  );
  running = child;
  // SIGTERM, not SIGKILL: the child then stops its sink on the way out.
  const forget = onProcessExit(() => child.kill('SIGTERM'));
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, `bench-replay-${kind}`);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('exit', (c, sig) => resolve([c, sig])),
    );
    if (code !== 0) throw new Error(`its process ended (${signal ?? `code ${code}`}; see its lines above)`);
    return JSON.parse(readFileSync(out, 'utf8')) as LogResult & { window?: BigWindow };
  } finally {
    running = undefined;
    forget();
    if (watchdog?.pid !== undefined) process.kill(watchdog.pid, 'SIGKILL');
  }
}

/** A child's work (runLog): one log, its own sink, the result as JSON in `out`. */
async function child(out: string, workDir: string): Promise<void> {
  const kind = LOGS[0] as LogKind;
  const [sinkPort] = (await freePorts(1)) as [number];
  const sink = await startSink(sinkPort, path.join(workDir, `sink-${kind}.log`));
  try {
    const brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
    const role = args['child-role'] as ChildRole;
    const window = args['big-window'] ? (JSON.parse(args['big-window']) as BigWindow) : undefined;
    writeFileSync(out, JSON.stringify(await benchLog(kind, brokers, sink, workDir, role, window)));
  } finally {
    await sink.proc.stop();
  }
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-bench-replay-'));
  let cluster: KafkaCluster | undefined;
  const results: LogResult[] = [];
  const failures: string[] = [];
  let kafka: string | undefined;
  try {
    let brokers = process.env.KAFKA_BROKERS?.split(',').filter(Boolean) ?? [];
    if (LOGS.includes('kafka')) {
      if (brokers.length === 0) {
        progress('starting a single-node Kafka (set KAFKA_BROKERS to use an existing one)');
        cluster = await startKafka({ fastStartJvm: false, log: (l) => progress(`kafka: ${l}`) });
        brokers = cluster.brokers;
      }
      kafka = cluster ? `Kafka ${cluster.version} (1 node, test harness)` : `Kafka at ${brokers.join(',')}`;
    }
    for (const kind of LOGS) {
      progress(`${kind}: a process of its own (node ${CHILD_FLAGS.join(' ')})`);
      try {
        results.push(await runLog(kind, brokers, workDir));
      } catch (error) {
        const message = `${kind}: ${(error as Error).message}`;
        progress(`FAILED ${message}`);
        failures.push(`not measured: ${message}`);
      }
    }
  } finally {
    await cluster?.stop();
  }
  publishResults(report(results, failures, kafka, workDir), !args['no-write']);
  if (failures.length) process.exitCode = 1;
}

const childOut = args['child-out'];
// Ctrl-C / kill: exit through process.exit so the exit hooks stop the sink, the child and Kafka; a
// parent waits for its child (which got the signal too) to clean up first.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (childOut === undefined) progress(`${signal}: stopping everything`);
    if (running === undefined) process.exit(130);
    running.kill(signal);
    running.once('exit', () => process.exit(130));
  });
}
if (childOut === undefined) await main();
else await child(childOut, args['work-dir'] ?? os.tmpdir());
