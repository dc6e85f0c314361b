// `eddy dev --kafka`'s broker data plane: N ingress and M dispatcher processes (`eddy ingress` /
// `eddy dispatcher`, i.e. @eddy/broker's data-plane main) instead of one in-process data plane, so
// the broker uses every core. Each follows the contract feed on the admin server; the ingresses share
// one port (SO_REUSEPORT, the kernel spreads connections), the dispatchers share the Triggers'
// consumer groups (Kafka spreads partitions). A process that dies is restarted with a growing delay
// and named in a status line; all of them die with eddy dev, even on SIGKILL (ProcessGroupReaper).
//
// To the reconcile loop this is a broker data plane like the in-process one: apply() publishes the
// contract and resolves once every live member runs it (bounded), lag() reads the consumer groups'
// committed offsets with the control plane's own Kafka client (so it covers every dispatcher), and
// the groups of deleted Triggers are deleted here, once no dispatcher runs them any more.

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { DataPlaneContract, DispatchRoute } from '@eddy/api';
import {
  type ApplyOptions,
  type ApplyResult,
  createLogRetryStateStore,
  DATA_PLANE_MAIN,
  type EventLog,
  type RetryStateStore,
} from '@eddy/broker';
import { ContractFeed, ProcessGroupReaper, sleep } from '@eddy/runtime';
import type pino from 'pino';
import type { BrokerProcessStatus } from '../admin/protocol.js';

export type BrokerComponent = 'ingress' | 'dispatcher';

export interface BrokerProcessesOptions {
  kafka: string[];
  host: string;
  /** The ingresses' shared port; 0 = a free one, chosen before they start. */
  port: number;
  ingresses: number;
  dispatchers: number;
  /** The control plane's log client: lag and group deletion. */
  log: EventLog;
  logger: pino.Logger;
  /** Status lines (a process exited and is restarted). */
  print(line: string): void;
  /** How long apply() waits for every process to run a contract; default 30 s. */
  applyTimeoutMs?: number;
  /** Extra flags for every process (tests: a short Kafka session). */
  extraArgs?: string[];
}

interface Child {
  component: BrokerComponent;
  id: string;
  process: ChildProcess | undefined;
  restarts: number;
  startedAt: number;
  /** The last lines it printed, for the status line when it dies. */
  tail: string[];
}

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const STOP_GRACE_MS = 30_000;

/** A port nothing listens on now (the ingresses then all bind it with SO_REUSEPORT). */
async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class BrokerProcesses {
  readonly feed = new ContractFeed<DataPlaneContract>();
  readonly url: string;
  readonly #o: BrokerProcessesOptions;
  readonly #port: number;
  readonly #children: Child[] = [];
  readonly #reaper: ProcessGroupReaper;
  #feedUrl: string | undefined;
  #token: string | undefined;
  #retryState: RetryStateStore | undefined;
  #stopping = false;
  #closed: Promise<void> | undefined;

  static async create(options: BrokerProcessesOptions): Promise<BrokerProcesses> {
    const port = options.port === 0 ? await freePort(options.host) : options.port;
    return new BrokerProcesses(options, port);
  }

  private constructor(options: BrokerProcessesOptions, port: number) {
    this.#o = options;
    this.#port = port;
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    this.url = `http://${host}:${port}`;
    this.#reaper = new ProcessGroupReaper({ logger: options.logger });
    const add = (component: BrokerComponent, count: number) => {
      for (let i = 1; i <= count; i++) {
        this.#children.push({
          component,
          id: `${component}-${i}`,
          process: undefined,
          restarts: 0,
          startedAt: 0,
          tail: [],
        });
      }
    };
    add('ingress', options.ingresses);
    add('dispatcher', options.dispatchers);
  }

  /** Starts every process, following the feed at `feedUrl` with `token`. */
  start(feedUrl: string, token: string): void {
    this.#feedUrl = feedUrl;
    this.#token = token;
    for (const child of this.#children) this.#spawn(child);
  }

  /** One line per component: how many run, and restarts so far. */
  summary(): string {
    const parts = (['ingress', 'dispatcher'] as const).map((component) => {
      const all = this.#children.filter((c) => c.component === component);
      const running = all.filter((c) => c.process !== undefined).length;
      const restarts = all.reduce((n, c) => n + c.restarts, 0);
      return `${running}/${all.length} ${component === 'ingress' ? (all.length === 1 ? 'ingress' : 'ingresses') : all.length === 1 ? 'dispatcher' : 'dispatchers'}${restarts ? ` (${restarts} restarts)` : ''}`;
    });
    return parts.join(', ');
  }

  /** What the feed knows of each process (for the admin API's status). */
  members(): BrokerProcessStatus[] {
    const now = Date.now();
    return this.feed
      .members()
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((m) => ({
        id: m.id,
        component: m.component,
        ...pidOf(this.#children.find((c) => c.id === m.id)),
        ...(m.applied !== undefined ? { generation: m.applied } : {}),
        ...(m.error !== undefined ? { error: m.error } : {}),
        lastSeenMs: now - m.lastSeen,
      }));
  }

  async apply(contract: DataPlaneContract, options: ApplyOptions = {}): Promise<ApplyResult> {
    const previous = this.feed.current;
    if (!this.feed.publish(contract)) return { applied: false, generation: previous?.generation };
    const timeoutMs = this.#o.applyTimeoutMs ?? 30_000;
    // Every process that runs now must run it (one still starting counts: it is about to poll).
    const running = (component: BrokerComponent) =>
      this.#children.filter((c) => c.component === component && c.process !== undefined).length;
    const [ingresses, dispatchers] = await Promise.all([
      this.feed.appliedBy('ingress', contract.generation, timeoutMs, running('ingress')),
      this.feed.appliedBy('dispatcher', contract.generation, timeoutMs, running('dispatcher')),
    ]);
    const failing = this.feed.members().filter((m) => m.error !== undefined);
    if (!ingresses || !dispatchers) {
      this.#o.logger.warn(
        { generation: contract.generation, members: this.feed.members() },
        `broker processes: not all run contract generation ${contract.generation} after ${timeoutMs} ms`,
      );
    }
    if (dispatchers && previous && options.deleteGroupsOf) {
      await this.#deleteGroups(previous.routes, contract.routes, options.deleteGroupsOf);
    }
    if (failing.length > 0) {
      throw new Error(failing.map((m) => `${m.id}: ${m.error}`).join('; '));
    }
    return { applied: true, generation: contract.generation };
  }

  /** Records of the route's consumer group not committed yet, across every dispatcher. */
  async lag(routeId: string): Promise<number> {
    const route = this.feed.current?.routes.find((r) => r.id === routeId);
    if (!route) return 0;
    const lag = await this.#o.log.lag(route.group, route.topic);
    return lag.reduce((sum, partition) => sum + partition.lag, 0);
  }

  /** Ingresses first, so nothing new lands while the dispatchers drain. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#stopping = true;
      this.feed.close();
      for (const component of ['ingress', 'dispatcher'] as const) {
        await Promise.all(this.#children.filter((c) => c.component === component).map((c) => this.#stop(c)));
      }
      await this.#retryState?.close();
      await this.#reaper.close();
    })();
    return this.#closed;
  }

  async #deleteGroups(
    before: DispatchRoute[],
    after: DispatchRoute[],
    pick: (route: DispatchRoute) => boolean,
  ): Promise<void> {
    const kept = new Set(after.map((r) => r.group));
    for (const route of before) {
      if (kept.has(route.group) || !pick(route)) continue;
      try {
        await this.#o.log.deleteGroup(route.group);
        this.#retryState ??= await createLogRetryStateStore({ log: this.#o.log, logger: this.#o.logger });
        await this.#retryState.deleteGroup(route.group);
      } catch (error) {
        // As in the in-process dispatcher: a re-created route then resumes instead of starting afresh.
        this.#o.logger.warn(
          { err: error, group: route.group },
          `could not delete the consumer group of removed route ${route.id}: ${(error as Error).message}`,
        );
      }
    }
  }

  #spawn(child: Child): void {
    const o = this.#o;
    const args = [
      DATA_PLANE_MAIN,
      '--component',
      child.component,
      '--member-id',
      child.id,
      '--contract',
      this.#feedUrl ?? '',
      '--log',
      'kafka',
      '--brokers',
      o.kafka.join(','),
      '--host',
      o.host,
      '--port',
      child.component === 'ingress' ? String(this.#port) : '0',
      '--reuse-port',
      String(child.component === 'ingress'),
      '--log-level',
      o.logger.level === 'silent' ? 'warn' : o.logger.level,
      ...(o.extraArgs ?? []),
    ];
    const proc = spawn(process.execPath, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, EDDY_CONTRACT_TOKEN: this.#token ?? '' },
    });
    child.process = proc;
    child.startedAt = Date.now();
    if (proc.pid !== undefined) this.#reaper.watch(proc.pid);
    const onLine = (line: string) => {
      if (line.trim() === '') return;
      child.tail.push(line);
      if (child.tail.length > 20) child.tail.shift();
      this.#relay(child, line);
    };
    for (const stream of [proc.stdout, proc.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', onLine);
    }
    proc.once('error', (error) =>
      o.logger.error({ err: error, process: child.id }, `cannot start ${child.id}`),
    );
    proc.once('exit', (code, signal) => {
      if (proc.pid !== undefined) this.#reaper.forget(proc.pid);
      this.feed.forget(child.id);
      child.process = undefined;
      if (this.#stopping) return;
      const ranMs = Date.now() - child.startedAt;
      // A process that ran a minute counts as healthy again: its next crash restarts it at once-ish.
      const streak = ranMs > 60_000 ? 0 : child.restarts;
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** streak);
      child.restarts++;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      const last = child.tail.at(-1);
      o.print(
        `broker ${child.id} exited (${how}); restarting in ${Math.round(delay / 1000)} s${last ? ` — last output: ${summarize(last)}` : ''}`,
      );
      void sleep(delay).then(() => {
        if (!this.#stopping) this.#spawn(child);
      });
    });
  }

  /** Warnings and errors of a process go to eddy dev's log, tagged with the process. */
  #relay(child: Child, line: string): void {
    let entry: { level?: number; msg?: string };
    try {
      entry = JSON.parse(line);
    } catch {
      this.#o.logger.warn({ process: child.id }, line);
      return;
    }
    if ((entry.level ?? 30) >= 50) this.#o.logger.error({ process: child.id }, entry.msg ?? line);
    else if ((entry.level ?? 30) >= 40) this.#o.logger.warn({ process: child.id }, entry.msg ?? line);
    else this.#o.logger.debug({ process: child.id }, entry.msg ?? line);
  }

  async #stop(child: Child): Promise<void> {
    const proc = child.process;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
}

function summarize(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string };
    if (entry.msg) return entry.msg.slice(0, 200);
  } catch {}
  return line.slice(0, 200);
}

function pidOf(child: Child | undefined): { pid?: number } {
  const pid = child?.process?.pid;
  return pid === undefined ? {} : { pid };
}
