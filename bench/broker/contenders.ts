// The contenders: a small registry, one entry per data plane under test. Each entry knows how to start
// its processes for a cell kind ('ingress': accept events only; 'e2e': accept, dispatch to one Trigger
// whose subscriber is the sink) and hands back the ingress URL and the pids to measure. Adding a
// contender (separate `eddy ingress` + `eddy dispatcher` processes, another Kafka client through
// `kafkaClient`/`extraArgs`) is one more entry in `contenders()`.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { DataPlaneContract } from '@eddy/api';
import { type PeerProcess, spawnPeer } from '../../test/harness/processes.ts';
import { type AnchorBuild, startKnative } from './anchor/knative.ts';
import { NODE, waitHttp } from './procs.ts';

export type CellKind = 'ingress' | 'e2e';

export interface StartContext {
  kind: CellKind;
  brokers: string[];
  /** A fresh topic name for this start (the contender creates it, or its log does). */
  topic: string;
  /** A fresh consumer group for the Trigger. */
  group: string;
  /** The sink URL (e2e only). */
  sinkUrl?: string;
  /**
   * e2e: this many Triggers instead of one, Trigger i filtering `type = triggerType(i)` and delivering
   * to `<sink>/t/<i>` (the many-Triggers cell).
   */
  triggers?: number;
  /** Free 127.0.0.1 ports this contender may use. */
  ports: number[];
  /** Node flags for Eddy's processes (see @eddy/runtime's COMPONENT_NODE_FLAGS). */
  nodeFlags: readonly string[];
  /** A fresh folder for config files, data and logs. */
  dir: string;
  log: (line: string) => void;
}

export interface RunningContender {
  /** Where events are POSTed (binary-mode CloudEvents). */
  url: string;
  /** The processes whose memory is reported, by role. */
  processes: { role: string; proc: PeerProcess }[];
  stop(): Promise<void>;
}

export interface Contender {
  /** Short id used on the command line (`--contenders bare,eddy-kafka`). */
  id: string;
  /** Table label. */
  label: string;
  kinds: CellKind[];
  needsKafka: boolean;
  /** Why this contender cannot run here, if it cannot (checked once, before any cell). */
  unavailable?: string;
  start(ctx: StartContext): Promise<RunningContender>;
}

export const PARTITIONS = 4;
const ROOT = path.join(import.meta.dirname, '..', '..');
const PATH = '/default/perf';

async function stopAll(processes: { proc: PeerProcess }[]): Promise<void> {
  await Promise.all(processes.map(({ proc }) => proc.stop(10_000)));
}

/** The raw baseline: bench/broker/bare.ts, ingress cells only. */
export const bare: Contender = {
  id: 'bare',
  label: 'bare Node http 202',
  kinds: ['ingress'],
  needsKafka: false,
  async start(ctx) {
    const port = ctx.ports[0] as number;
    const proc = spawnPeer(NODE, [path.join(import.meta.dirname, 'bare.ts'), String(port)], {
      outFile: path.join(ctx.dir, 'bare.log'),
      label: 'bench-bare',
    });
    const processes = [{ role: 'server', proc }];
    await waitHttp(`http://127.0.0.1:${port}/`, 15_000, [proc]);
    return { url: `http://127.0.0.1:${port}${PATH}`, processes, stop: () => stopAll(processes) };
  },
};

/** The event type Trigger i of the many-Triggers cell filters on. */
export const triggerType = (i: number) => `dev.eddy.bench.t${i}`;

/** What a contract needs of a start (bench/replay builds its contracts from it too). */
export type ContractContext = Pick<StartContext, 'kind' | 'topic' | 'group' | 'sinkUrl' | 'triggers'>;

/** The e2e Triggers of a start: one to the sink, or `ctx.triggers` filtered ones to `<sink>/t/<i>`. */
export function benchTriggers(
  ctx: ContractContext,
): { name: string; group: string; subscriber: string; type?: string }[] {
  if (ctx.kind !== 'e2e') return [];
  const sink = ctx.sinkUrl ?? '';
  if (!ctx.triggers) return [{ name: 'perf-trigger', group: ctx.group, subscriber: sink }];
  return Array.from({ length: ctx.triggers }, (_, i) => ({
    name: `perf-trigger-${i}`,
    group: `${ctx.group}-${i}`,
    subscriber: new URL(`t/${i}`, sink).href,
    type: triggerType(i),
  }));
}

/** Eddy's contract for one broker and its e2e Triggers (what computeContract would give). */
export function eddyContract(ctx: ContractContext): DataPlaneContract {
  return {
    generation: 1,
    brokers: [{ namespace: 'default', name: 'perf', path: PATH, topic: ctx.topic, partitions: PARTITIONS }],
    channels: [],
    routes: benchTriggers(ctx).map((t) => ({
      kind: 'Trigger',
      namespace: 'default',
      name: t.name,
      id: `default/${t.name}`,
      topic: ctx.topic,
      group: t.group,
      ...(t.type ? { filter: { attributes: { type: t.type } } } : {}),
      subscriber: t.subscriber,
      reply: { kind: 'topic', topic: ctx.topic },
      delivery: { retry: 3, backoffPolicy: 'exponential', backoffDelayMs: 200, timeoutMs: 10_000 },
      ordering: 'unordered',
      maxInFlight: 100, // Eddy's default (DEFAULT_MAX_IN_FLIGHT)
      startFrom: 'earliest', // a fresh topic per start: nothing from earlier runs
    })),
  };
}

export interface EddyOptions {
  id: string;
  label: string;
  log: 'kafka' | 'embedded';
  /** `--kafka-client <name>` when set (kafkajs or platformatic). */
  kafkaClient?: string;
  /** More flags for main.js. */
  extraArgs?: string[];
}

/** The processes of one Eddy start: `count` processes per component (`all` = both halves in one). */
interface EddyLayout {
  /** Ingress processes sharing the ingress port (SO_REUSEPORT when more than one). */
  ingresses: number;
  /** Dispatcher processes sharing the Triggers' consumer groups (0 = the ingresses dispatch too). */
  dispatchers: number;
}

/**
 * Eddy's broker data plane (`packages/broker/dist/data-plane/main.js`): one process doing both halves,
 * or (`layout`) separate ingress and dispatcher processes, as `eddy dev --kafka` runs them.
 */
export function eddyDataPlane(options: EddyOptions & { layout?: EddyLayout }): Contender {
  const layout = options.layout ?? { ingresses: 1, dispatchers: 0 };
  return {
    id: options.id,
    label: options.label,
    kinds: ['ingress', 'e2e'],
    needsKafka: options.log === 'kafka',
    async start(ctx) {
      const port = ctx.ports[0] as number;
      const contractFile = path.join(ctx.dir, 'contract.json');
      writeFileSync(contractFile, JSON.stringify(eddyContract(ctx), null, 2));
      const dataDir = path.join(ctx.dir, 'data');
      const common = ['--contract', contractFile, '--log-level', 'warn', '--log', options.log];
      if (options.log === 'kafka') common.push('--brokers', ctx.brokers.join(','));
      else {
        mkdirSync(dataDir, { recursive: true });
        common.push('--data-dir', dataDir);
      }
      if (options.kafkaClient) common.push('--kafka-client', options.kafkaClient);
      common.push(...(options.extraArgs ?? []));
      const split = layout.dispatchers > 0;
      const plan: { role: string; port: number; args: string[] }[] = [];
      for (let i = 1; i <= layout.ingresses; i++) {
        const component = split ? ['--component', 'ingress'] : [];
        const shared = layout.ingresses > 1 ? ['--reuse-port', 'true'] : [];
        plan.push({ role: split ? `ingress ${i}` : 'data plane', port, args: [...component, ...shared] });
      }
      for (let i = 1; i <= (ctx.kind === 'e2e' ? layout.dispatchers : 0); i++) {
        const probes = ctx.ports[i] as number;
        plan.push({ role: `dispatcher ${i}`, port: probes, args: ['--component', 'dispatcher'] });
      }
      const processes = plan.map(({ role, port: p, args }, i) => {
        const argv = [
          ...ctx.nodeFlags,
          path.join(ROOT, 'packages/broker/dist/data-plane/main.js'),
          ...args,
          '--port',
          String(p),
          ...common,
        ];
        ctx.log(
          `${options.id}: node ${argv.map((a) => (a.startsWith(`${ROOT}/`) ? path.relative(ROOT, a) : a)).join(' ')}`,
        );
        const proc = spawnPeer(NODE, argv, {
          outFile: path.join(ctx.dir, `${options.id}-${i}.log`),
          label: `bench-${options.id}-${i}`,
        });
        return { role, proc, port: p };
      });
      try {
        for (const { port: p } of processes)
          await waitHttp(
            `http://127.0.0.1:${p}/healthz`,
            60_000,
            processes.map((x) => x.proc),
          );
      } catch (error) {
        await stopAll(processes);
        throw error;
      }
      return {
        url: `http://127.0.0.1:${port}${PATH}`,
        processes,
        async stop() {
          await stopAll(processes);
          rmSync(dataDir, { recursive: true, force: true }); // the embedded log's events; logs stay
        },
      };
    },
  };
}

/** Knative's Kafka broker data plane (receiver-loom, + dispatcher-loom for e2e), when it could be built. */
export function knative(build: AnchorBuild | string): Contender {
  return {
    id: 'knative',
    label: 'Knative Kafka broker (loom)',
    kinds: ['ingress', 'e2e'],
    needsKafka: true,
    ...(typeof build === 'string' ? { unavailable: build } : {}),
    start(ctx) {
      if (typeof build === 'string') throw new Error(build);
      return startKnative(build, ctx, PATH, PARTITIONS);
    },
  };
}

/** Every contender, in table order. */
export function contenders(anchor: AnchorBuild | string): Contender[] {
  return [
    bare,
    knative(anchor),
    eddyDataPlane({ id: 'eddy-kafka', label: 'Eddy data plane, Kafka log (kafkajs)', log: 'kafka' }),
    eddyDataPlane({
      id: 'eddy-kafka-platformatic',
      label: 'Eddy data plane, Kafka log (@platformatic/kafka)',
      log: 'kafka',
      kafkaClient: 'platformatic',
    }),
    eddyDataPlane({
      id: 'eddy-kafka-shared',
      label: 'Eddy data plane, Kafka log (@platformatic/kafka, shared readers)',
      log: 'kafka',
      kafkaClient: 'platformatic',
      extraArgs: ['--kafka-shared-readers', 'true'],
    }),
    eddyDataPlane({
      id: 'eddy-split-platformatic',
      label: `Eddy, ${availableParallelism()} ingress + ${availableParallelism()} dispatcher processes (@platformatic/kafka)`,
      log: 'kafka',
      kafkaClient: 'platformatic',
      layout: { ingresses: availableParallelism(), dispatchers: availableParallelism() },
    }),
    eddyDataPlane({
      id: 'eddy-split-shared',
      label: `Eddy, ${availableParallelism()} ingress + ${availableParallelism()} dispatcher processes (@platformatic/kafka, shared readers)`,
      log: 'kafka',
      kafkaClient: 'platformatic',
      extraArgs: ['--kafka-shared-readers', 'true'],
      layout: { ingresses: availableParallelism(), dispatchers: availableParallelism() },
    }),
    eddyDataPlane({ id: 'eddy-embedded', label: 'Eddy data plane, embedded log', log: 'embedded' }),
  ];
}
