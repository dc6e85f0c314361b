// Autoscaler benchmark: the real decision code on recorded load, in a deterministic simulator (no
// peers, no wall clock: simulated time only, so the figures do not depend on the machine).
//
//   pnpm run build && node bench/autoscaler/run.ts [--seed N] [--cold-start-ms N] [--no-write]
//
// Three policies on the same traces: Eddy (createAutoscaler with the backlog signal), KPA alone (the
// same code, backlog off: it only sees the HTTP concurrency the dispatcher causes) and a KEDA-like lag
// scaler (policies.ts); on backlog traces also Eddy without the in-flight cap on its backlog signal. See simulator.ts for the model and traces.ts for how each trace is generated.
import { parseArgs } from 'node:util';
import { publishResults } from '../eventlog/measure.ts';
import { KEDA_DEFAULTS, KedaLikePolicy, KnativePolicy } from './policies.ts';
import { Prng } from './prng.ts';
import { type Policy, type SimConfig, type SimResult, simulate } from './simulator.ts';
import { burstCold, burstWarm, bursty, httpStep, type Trace, type TraceShape } from './traces.ts';

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    'cold-start-ms': { type: 'string', default: '1000' },
    'no-write': { type: 'boolean', default: false },
  },
});
const SEED = Number(args.seed);
const COLD_START_MS = Number(args['cold-start-ms']);
if (!Number.isInteger(SEED)) throw new Error(`--seed must be an integer, got ${JSON.stringify(args.seed)}`);
if (!Number.isFinite(COLD_START_MS) || COLD_START_MS < 0)
  throw new Error(`--cold-start-ms must be a number >= 0, got ${JSON.stringify(args['cold-start-ms'])}`);

const CONTAINER_CONCURRENCY = 10;
const MAX_SCALE = 20;
const shape: TraceShape = {
  containerConcurrency: CONTAINER_CONCURRENCY,
  dispatcherMaxInFlight: 100,
  maxScale: MAX_SCALE,
};
const config: SimConfig = {
  containerConcurrency: CONTAINER_CONCURRENCY,
  coldStartMs: COLD_START_MS,
  dispatcherMaxInFlight: shape.dispatcherMaxInFlight,
  stepMs: 100,
};
const ANNOTATIONS = { 'autoscaling.knative.dev/max-scale': String(MAX_SCALE) };

function policies(trace: Trace, index: number): Policy[] {
  const phases = new Prng(SEED * 7919 + index);
  // Eddy as the serving data plane runs it: the backlog recommendation is capped by what the
  // dispatchers keep in flight (DecisionInput.backlogInFlightLimit, from the routes' maxInFlight).
  const list: Policy[] = [
    new KnativePolicy('Eddy (HTTP + backlog)', ANNOTATIONS, CONTAINER_CONCURRENCY, {
      backlogInFlightLimit: shape.dispatcherMaxInFlight,
    }),
    new KnativePolicy(
      'KPA alone',
      { ...ANNOTATIONS, 'autoscaling.eddy.dev/backlog': 'false' },
      CONTAINER_CONCURRENCY,
    ),
  ];
  if (trace.hasBacklog)
    list.splice(
      1,
      0,
      // Without the in-flight cap: ceil(lag / lag-target) alone, for comparison.
      new KnativePolicy('Eddy, backlog not capped by in-flight', ANNOTATIONS, CONTAINER_CONCURRENCY),
    );
  if (trace.hasBacklog)
    list.push(
      new KedaLikePolicy({
        ...KEDA_DEFAULTS,
        maxReplicas: MAX_SCALE,
        pollingPhaseMs: Math.floor(phases.uniform(0, KEDA_DEFAULTS.pollingMs)),
        hpaPhaseMs: Math.floor(phases.uniform(0, KEDA_DEFAULTS.hpaSyncMs)),
      }),
    );
  return list;
}

function progress(line: string): void {
  process.stderr.write(`[bench] ${line}\n`);
}

const s = (ms: number | undefined) => (ms === undefined ? 'never' : `${(ms / 1000).toFixed(1)} s`);

function quantile(sorted: Float64Array, q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Time to the needed replicas: the one load change, or over a trace's bursts the median and the misses. */
function timeToTarget(r: SimResult, onlyFirst: boolean): string {
  if (onlyFirst || r.phases.length === 1) return `${s(r.toDesired[0])} / ${s(r.toReady[0])}`;
  const reached = r.toReady.filter((x): x is number => x !== undefined);
  const desired = r.toDesired.filter((x): x is number => x !== undefined);
  const missed = r.toReady.length - reached.length;
  return `median ${s(median(desired))} / ${s(median(reached))}${missed > 0 ? ` (${missed} of ${r.toReady.length} bursts never)` : ''}`;
}

const traces: Trace[] = [
  burstCold(shape),
  burstWarm(shape, SEED),
  httpStep(shape, SEED + 1),
  bursty(shape, SEED + 2),
];
const rows: string[] = [];
const results: { trace: Trace; result: SimResult; policy: Policy }[] = [];
for (const [index, trace] of traces.entries()) {
  for (const policy of policies(trace, index)) {
    const started = Date.now();
    const r = simulate(trace, policy, config);
    results.push({ trace, result: r, policy });
    progress(`${trace.name} / ${policy.name}: ${Date.now() - started} ms`);
    const needed =
      trace.phases.length === 1 || trace.name.startsWith('b.')
        ? String(trace.phases[0]?.needed)
        : 'per burst';
    rows.push(
      `| ${trace.name} | ${policy.name} | ${needed} | ${timeToTarget(r, trace.name.startsWith('b.'))} | ${s(quantile(r.delays, 0.5))} / ${s(quantile(r.delays, 0.99))} | ${Math.round(r.replicaSeconds).toLocaleString('en-US')} | ${r.coldStarts} | ${r.peakReplicas} | ${r.lastEventDoneMs === undefined ? '-' : s(r.lastEventDoneMs - trace.measureFromMs)} | ${r.unfinished} |`,
    );
  }
  if (!trace.hasBacklog)
    rows.push(
      `| ${trace.name} | KEDA-like lag scaler | - | n/a: a lag scaler sees no HTTP load | | | | | | |`,
    );
}

function verdicts(): string[] {
  const lines: string[] = [];
  for (const trace of traces) {
    const mine = results.filter((x) => x.trace === trace);
    const kpa = mine.find((x) => x.policy.name.startsWith('KPA'))?.result;
    if (kpa === undefined) continue;
    for (const { policy, result: eddy } of mine.filter((x) => x.policy.name.startsWith('Eddy'))) {
      if (trace.hasBacklog && trace.phases.length === 1) {
        const ready = eddy.toReady[0];
        lines.push(
          `- ${trace.name}, ${policy.name}: asks for the needed ${trace.phases[0]?.needed} replicas after ${s(eddy.toDesired[0])}, has them ready after ${s(ready)} ` +
            `(cold start ${COLD_START_MS / 1000} s): "within 2 s" ${ready !== undefined && ready <= 2000 ? 'met' : 'missed'}.`,
        );
      }
      const p99e = quantile(eddy.delays, 0.99) ?? 0;
      const p99k = quantile(kpa.delays, 0.99) ?? 0;
      const met = eddy.replicaSeconds <= kpa.replicaSeconds && p99e <= p99k;
      lines.push(
        `- ${trace.name}, ${policy.name}: ${Math.round(eddy.replicaSeconds)} vs KPA alone ${Math.round(kpa.replicaSeconds)} replica-seconds, p99 ${s(p99e)} vs ${s(p99k)}: ` +
          `"no more replica-seconds at equal or better p99" ${met ? 'met' : 'missed'}.`,
      );
    }
  }
  return lines;
}

const eddyReasons = results
  .filter((x) => x.policy instanceof KnativePolicy && x.policy.name === 'Eddy (HTTP + backlog)')
  .map(
    (x) =>
      `${x.trace.name}: ${[...(x.policy as KnativePolicy).reasons].map(([k, v]) => `${k} ${v}`).join(', ')}`,
  );

const text = [
  `## autoscaler, ${new Date().toISOString().slice(0, 16)}Z`,
  '',
  `Command: \`node bench/autoscaler/run.ts --seed ${SEED} --cold-start-ms ${COLD_START_MS}\` (after \`pnpm run build\`; \`pnpm run bench:autoscaler\` runs the defaults).`,
  'Simulated time, deterministic (seeded PRNG): the figures do not depend on the machine.',
  `Model: one revision, containerConcurrency ${CONTAINER_CONCURRENCY}, cold start ${COLD_START_MS / 1000} s, max-scale ${MAX_SCALE} for every policy; ` +
    `a dispatcher with at most ${shape.dispatcherMaxInFlight} events in flight (Eddy's default) feeding the router; 100 ms measurement steps, ` +
    'Eddy/KPA decide every 1 s (the data plane tick) and on the first request at zero replicas (activator poke); ' +
    'Knative defaults otherwise (target = containerConcurrency x 0.7, 60 s / 6 s windows, grace 30 s, initial-scale 1), lag-target 100. ' +
    'KEDA-like: lagThreshold 10, 30 s polling, HPA 15 s sync with 10% tolerance, max(100%, 4 pods) up per sync, 300 s down stabilization, 300 s cooldown.',
  'Queueing delay = handler start - arrival (HTTP) or append (event); replica-seconds and delays count from the load change (after a 120 s warm-up in which initial-scale settles).',
  '"needed" = replicas whose slots cover what is offered at once (backlog: the dispatcher\'s 100 in flight / 10 = 10; HTTP: 500 rps x 0.1 s / 10 = 5).',
  '',
  ...traces.map((t) => `- ${t.name}: ${t.description}`),
  '',
  '| trace | policy | needed | time to needed (desired / ready) | p50 / p99 queueing delay | replica-s | cold starts | peak replicas | last event done | unfinished |',
  '|---|---|---:|---|---|---:|---:|---:|---:|---:|',
  ...rows,
  '',
  'Targets (aims, not gates):',
  ...verdicts(),
  '',
  `Eddy's decision reasons (ticks): ${eddyReasons.join('; ')}.`,
  '',
].join('\n');

publishResults(text, !args['no-write']);
