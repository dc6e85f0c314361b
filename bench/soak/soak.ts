// One soak run: `eddy dev` (the built CLI) on a manifest of one Broker, two Triggers and two Services
// (service.ts replicas: `auto` autoscaled by Knative KPA annotations, `fixed` at two replicas), a
// paced open-loop load of unique ids into the Broker's ingress, a sample of every process every
// `sampleSeconds`, then a drain and the tally: per Service, acknowledged events never received
// (lost) and extra copies (duplicates). Shared by bench/soak/run.ts and test/soak/soak.test.ts.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type PeerProcess, spawnPeer } from '../../test/harness/processes.ts';
import { openLoop } from '../broker/loadgen.ts';
import { sleep } from '../broker/procs.ts';
import { manifest, PARTITIONS } from './manifest.ts';
import { machineBusySeconds } from './proc.ts';
import { ReceivedIds } from './received.ts';
import { type ComponentSample, Sampler } from './sampler.ts';

export type SoakMode = 'embedded' | 'kafka';

export interface SoakOptions {
  mode: SoakMode;
  /** Kafka bootstrap servers (mode kafka). */
  brokers?: string[];
  /** More `eddy dev` arguments for this mode (e.g. `--ingresses 1`). */
  devArgs?: string[];
  seconds: number;
  rate: number;
  warmupSeconds: number;
  outDir: string;
  sampleSeconds?: number;
  /** Gives up waiting for missing events after this long without a new one (default 60 s)... */
  drainIdleSeconds?: number;
  /** ...or after this long in all (default 600 s). */
  maxDrainSeconds?: number;
  /** Acknowledged events not yet at both Services past which the sender waits (default 5 s of rate). */
  maxBacklog?: number;
  log?: (line: string) => void;
}

export interface SoakSample {
  /** Seconds since the load started. */
  t: number;
  components: ComponentSample[];
  /** Cumulative CPU seconds: every core of the machine busy, and this bench process (load generator, sampler). */
  cpu: { machineBusySeconds: number; benchSeconds: number };
  /** Over the last interval: events acknowledged (2xx) per second, and received per second per Service. */
  ackedPerSecond: number;
  failedPerSecond: number;
  receivedPerSecond: Record<string, number>;
  /** Per Service: events acknowledged and not yet received (received counts duplicates too). */
  backlog: Record<string, number>;
  replicas: Record<string, number>;
}

export interface SoakResult {
  mode: SoakMode;
  rate: number;
  seconds: number;
  warmupSeconds: number;
  sent: number;
  acked: number;
  failed: number;
  /** Acknowledged events over the load's duration. */
  achievedRate: number;
  drainSeconds: number;
  services: Record<string, { received: number; lost: number; duplicates: number; lostSample: number[] }>;
  samples: SoakSample[];
  /** eddy dev was still running when the drain ended. */
  devAlive: boolean;
}

export const SERVICES = ['auto', 'fixed'] as const;
const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'packages/cli/dist/main.js');

async function waitForLine(
  file: string,
  pattern: RegExp,
  proc: PeerProcess,
  timeoutMs: number,
): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readFileSync(file, 'utf8');
    const m = pattern.exec(text);
    if (m) return m;
    if (proc.hasExited)
      throw new Error(
        `eddy dev ended (${proc.exitReason}) before printing ${pattern}:\n${text.slice(-3000)}`,
      );
    if (Date.now() > deadline)
      throw new Error(`eddy dev did not print ${pattern} in ${timeoutMs} ms:\n${text.slice(-3000)}`);
    await sleep(250);
  }
}

export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => {});
  const sampleSeconds = o.sampleSeconds ?? 10;
  const receivedDir = path.join(o.outDir, `received-${o.mode}`);
  // A reused --out must not count an earlier run's ids (received, and so never lost) nor its log.
  for (const stale of [receivedDir, path.join(o.outDir, `data-${o.mode}`)])
    rmSync(stale, { recursive: true, force: true });
  mkdirSync(receivedDir, { recursive: true });
  // A namespace of this run: a shared Kafka's other users keep their topics.
  const namespace = `soak-${o.mode}-${Date.now().toString(36)}`;
  const manifestFile = path.join(o.outDir, `soak-${o.mode}.yaml`);
  writeFileSync(manifestFile, manifest(namespace, receivedDir, PARTITIONS[o.mode]));
  const devLog = path.join(o.outDir, `eddy-dev-${o.mode}.log`);
  writeFileSync(devLog, '');
  const args = [
    CLI,
    'dev',
    '-f',
    manifestFile,
    '--port',
    '0',
    '--data-dir',
    path.join(o.outDir, `data-${o.mode}`),
  ];
  if (o.mode === 'kafka') {
    if (!o.brokers?.length) throw new Error('soak: mode kafka needs brokers');
    args.push('--kafka', o.brokers.join(','));
  }
  args.push(...(o.devArgs ?? []));
  log(`${o.mode}: eddy dev -f ${manifestFile} (output in ${devLog})`);
  const dev = spawnPeer(process.execPath, args, { outFile: devLog, label: `soak-eddy-dev-${o.mode}` });
  try {
    const ingress = (await waitForLine(devLog, /^ {2}ingress {2}(http:\/\/\S+)/m, dev, 120_000))[1] as string;
    for (const s of SERVICES)
      await waitForLine(devLog, new RegExp(`^Service ${namespace}/${s} {2}Ready$`, 'm'), dev, 120_000);
    for (const s of SERVICES)
      await waitForLine(devLog, new RegExp(`^Trigger ${namespace}/to-${s} {2}Ready$`, 'm'), dev, 120_000);
    const url = `${ingress}/${namespace}/default`;
    log(`${o.mode}: ready; ${o.rate}/s for ${o.seconds} s into ${url}`);

    const capacity = Math.ceil(o.rate * o.seconds) + 1;
    const acked = new Uint8Array(capacity);
    let ackedCount = 0;
    let failedCount = 0;
    const received = new ReceivedIds(receivedDir, [...SERVICES], capacity);
    const sampler = new Sampler(dev.pid as number);
    const samples: SoakSample[] = [];
    const receivedTotal: Record<string, number> = Object.fromEntries(SERVICES.map((s) => [s, 0]));
    const pollReceived = () => {
      const added = received.poll();
      for (const s of SERVICES) receivedTotal[s] = (receivedTotal[s] ?? 0) + (added.get(s) ?? 0);
      return [...added.values()].some((n) => n > 0);
    };
    let receivedAtSample = { ...receivedTotal };
    const started = Date.now();
    let last = { t: 0, acked: 0, failed: 0 };
    let sampling = false;
    const takeSample = async () => {
      if (sampling) return; // a slow scrape on a busy machine must not pile samples up
      sampling = true;
      try {
        const t = (Date.now() - started) / 1000;
        const components = await sampler.sample();
        pollReceived();
        const dt = Math.max(t - last.t, 1e-3);
        const receivedPerSecond: Record<string, number> = {};
        for (const s of SERVICES)
          receivedPerSecond[s] = ((receivedTotal[s] ?? 0) - (receivedAtSample[s] ?? 0)) / dt;
        receivedAtSample = { ...receivedTotal };
        const backlogs = Object.fromEntries(SERVICES.map((s) => [s, ackedCount - (receivedTotal[s] ?? 0)]));
        const replicas = Object.fromEntries(
          SERVICES.map((s) => [s, components.filter((c) => c.label.startsWith(`${s} replica`)).length]),
        );
        const bench = process.cpuUsage();
        const sample: SoakSample = {
          t,
          components,
          cpu: { machineBusySeconds: machineBusySeconds(), benchSeconds: (bench.user + bench.system) / 1e6 },
          ackedPerSecond: (ackedCount - last.acked) / dt,
          failedPerSecond: (failedCount - last.failed) / dt,
          receivedPerSecond,
          backlog: backlogs,
          replicas,
        };
        samples.push(sample);
        last = { t, acked: ackedCount, failed: failedCount };
        const eddyRss = components
          .filter((c) => !c.label.includes('replica'))
          .reduce((s, c) => s + c.sample.rssBytes, 0);
        log(
          `${o.mode} t=${Math.round(t)}s acked ${Math.round(sample.ackedPerSecond)}/s received auto ${Math.round(receivedPerSecond.auto ?? 0)}/s fixed ${Math.round(receivedPerSecond.fixed ?? 0)}/s backlog ${SERVICES.map((s) => backlogs[s]).join('/')} replicas auto ${replicas.auto} fixed ${replicas.fixed} eddy RSS ${Math.round(eddyRss / 2 ** 20)} MiB${failedCount ? ` failed ${failedCount}` : ''}`,
        );
      } catch (error) {
        log(`${o.mode}: sample failed: ${(error as Error).message}`);
      } finally {
        sampling = false;
      }
    };
    await takeSample();
    const timer = setInterval(() => void takeSample(), sampleSeconds * 1000);
    const poller = setInterval(pollReceived, 500);
    // Acknowledged but not yet at the slower Service: past this the sender waits, so a pipeline that
    // delivers less than the target rate runs at what it delivers instead of piling up a backlog
    // that would take hours to drain (the achieved rate is what is reported).
    const maxBacklog = o.maxBacklog ?? Math.max(1000, o.rate * 5);
    const backlog = () => ackedCount - Math.min(...SERVICES.map((s) => receivedTotal[s] ?? 0));
    let load: Awaited<ReturnType<typeof openLoop>>;
    try {
      load = await openLoop(url, o.rate, o.seconds, 64, {
        maxInFlight: 1024,
        paused: () => backlog() > maxBacklog,
        id: (i) => `${namespace}-${i}`,
        onResult: (i, ok) => {
          if (ok) {
            acked[i] = 1;
            ackedCount++;
          } else failedCount++;
        },
      });
    } finally {
      clearInterval(timer);
      clearInterval(poller);
    }
    const loadSeconds = (Date.now() - started) / 1000;
    await takeSample();
    log(
      `${o.mode}: load done (${load.sent} sent, ${load.accepted} acknowledged, ${load.failed} failed); draining`,
    );

    // Drain: until every acknowledged event reached both Services, or nothing new arrives for a while.
    const drainStarted = Date.now();
    let lastProgress = Date.now();
    for (;;) {
      if (pollReceived()) lastProgress = Date.now();
      const tally = received.tally(acked, load.sent);
      if ([...tally.values()].every((x) => x.lost === 0)) break;
      if (Date.now() - lastProgress > (o.drainIdleSeconds ?? 60) * 1000) break;
      if (Date.now() - drainStarted > (o.maxDrainSeconds ?? 600) * 1000) break;
      await sleep(1000);
    }
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    const tally = received.tally(acked, load.sent);
    const devAlive = !dev.hasExited;
    const services = Object.fromEntries(
      SERVICES.map((s) => {
        const t = tally.get(s) ?? { lost: Number.NaN, duplicates: Number.NaN, lostSample: [] };
        return [s, { received: receivedTotal[s] ?? 0, ...t }];
      }),
    );
    log(
      `${o.mode}: drained in ${drainSeconds.toFixed(0)} s; ${SERVICES.map((s) => `${s}: lost ${services[s]?.lost}, duplicates ${services[s]?.duplicates}`).join('; ')}`,
    );
    return {
      mode: o.mode,
      rate: o.rate,
      seconds: o.seconds,
      warmupSeconds: o.warmupSeconds,
      sent: load.sent,
      acked: ackedCount,
      failed: failedCount,
      achievedRate: ackedCount / loadSeconds,
      drainSeconds,
      services,
      samples,
      devAlive,
    };
  } finally {
    await dev.stop(30_000, 'SIGTERM');
  }
}
