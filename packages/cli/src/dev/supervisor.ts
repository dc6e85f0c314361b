// `eddy dev`'s process supervisor: it runs data-plane components (`eddy ingress`, `eddy dispatcher`,
// `eddy serving`, `eddy sources`, ...) as child processes, restarts one that dies with a growing
// delay and names it in a status line, relays their warnings to eddy dev's log, and stops them
// with SIGTERM (SIGKILL after a grace); all of them die with eddy dev, even on SIGKILL
// (ProcessGroupReaper). What each child runs is its owner's business (the `command` callback).

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  COMPONENT_NODE_FLAGS,
  type ContractFeed,
  type Generational,
  ProcessGroupReaper,
  sleep,
} from '@eddy/runtime';
import type pino from 'pino';
import type { ComponentProcessStatus } from '../admin/protocol.js';
import { processStatus } from './process-status.js';

/** packages/cli/dist/main.js (the `eddy` command), from the sources too: what a child runs as `eddy <component>`. */
export const EDDY_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** What every supervised component (broker, serving, sources processes) is configured with. */
export interface SupervisedComponentOptions {
  /** Where its processes listen. */
  host: string;
  logger: pino.Logger;
  /** Status lines (a process exited and is restarted). */
  print(line: string): void;
  /** How long apply() waits for its processes to run a contract (each component has a default). */
  applyTimeoutMs?: number;
  /** Extra flags for every process (tests: shorter timeouts and ticks). */
  extraArgs?: string[];
  /** The processes that serve HTTP to clients serve HTTPS with these files (`--tls-cert`, `--tls-key`). */
  tlsFiles?: { cert: string; key: string };
}

/** `--tls-cert`/`--tls-key` for a child, none without TLS. */
export function tlsArgs(options: SupervisedComponentOptions): string[] {
  const f = options.tlsFiles;
  return f ? ['--tls-cert', f.cert, '--tls-key', f.key] : [];
}

/** A child's listen URL: https when it serves TLS. */
export function childUrl(options: SupervisedComponentOptions, url: string): string {
  return options.tlsFiles ? url.replace(/^http:/, 'https:') : url;
}

/** The `--log-level` of a child: eddy dev's own, but never silent (the supervisor relays its warnings). */
export function childLogLevel(logger: pino.Logger): string {
  return logger.level === 'silent' ? 'warn' : logger.level;
}

export interface SupervisedSpec {
  /** e.g. `dispatcher`; children of one component are counted together in summary(). */
  component: string;
  /** Unique, stable across restarts: `dispatcher-2`. */
  id: string;
}

export interface SupervisorOptions {
  /** Names the children in status lines: `broker dispatcher-2 exited ...`. */
  label: string;
  logger: pino.Logger;
  /** Status lines (a process exited and is restarted). */
  print(line: string): void;
  /** The Node arguments and environment a child runs with (asked at every (re)start). */
  command(child: SupervisedSpec): { args: string[]; env?: Record<string, string> };
  /** Every line a child prints, after it was relayed to the log (e.g. to find its address). */
  onLine?(child: SupervisedSpec, line: string): void;
  /** A child exited (before any restart): its feed membership is void. `how`: `signal SIGKILL`, `code 1`. */
  onExit?(child: SupervisedSpec, how: string): void;
}

interface Child extends SupervisedSpec {
  process: ChildProcess | undefined;
  restarts: number;
  startedAt: number;
  /** The last lines it printed, for the status line when it dies. */
  tail: string[];
}

const RESTART_MIN_MS = 1_000;
const RESTART_MAX_MS = 30_000;
const STOP_GRACE_MS = 30_000;

export class Supervisor {
  readonly #o: SupervisorOptions;
  readonly #children: Child[];
  readonly #reaper: ProcessGroupReaper;
  #stopping = false;

  constructor(options: SupervisorOptions, children: readonly SupervisedSpec[]) {
    this.#o = options;
    this.#children = children.map((c) => ({ ...c, process: undefined, restarts: 0, startedAt: 0, tail: [] }));
    this.#reaper = new ProcessGroupReaper({ logger: options.logger });
  }

  start(): void {
    for (const child of this.#children) this.#spawn(child);
  }

  /** How many children of `component` run now (one still starting counts). */
  running(component: string): number {
    return this.#children.filter((c) => c.component === component && c.process !== undefined).length;
  }

  /** `2/2 dispatchers (1 restart)`: how many of `component` run, and restarts so far. */
  summary(component: string, plural = `${component}s`): string {
    const all = this.#children.filter((c) => c.component === component);
    const running = all.filter((c) => c.process !== undefined).length;
    const restarts = all.reduce((n, c) => n + c.restarts, 0);
    return `${running}/${all.length} ${all.length === 1 ? component : plural}${restarts ? ` (${restarts} restart${restarts === 1 ? '' : 's'})` : ''}`;
  }

  pid(id: string): number | undefined {
    return this.#children.find((c) => c.id === id)?.process?.pid;
  }

  /** Stops the children, `order`'s components one group after another (the rest last, together). */
  async stop(order: readonly string[] = []): Promise<void> {
    this.#stopping = true;
    for (const component of order)
      await Promise.all(this.#children.filter((c) => c.component === component).map((c) => this.#stop(c)));
    await Promise.all(this.#children.map((c) => this.#stop(c)));
    await this.#reaper.close();
  }

  #spawn(child: Child): void {
    const o = this.#o;
    const { args, env } = o.command(child);
    const proc = spawn(process.execPath, [...COMPONENT_NODE_FLAGS, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, ...env },
    });
    child.process = proc;
    child.startedAt = Date.now();
    if (proc.pid !== undefined) this.#reaper.watch(proc.pid);
    const onLine = (line: string) => {
      if (line.trim() === '') return;
      child.tail.push(line);
      if (child.tail.length > 20) child.tail.shift();
      this.#relay(child, line);
      o.onLine?.(child, line);
    };
    for (const stream of [proc.stdout, proc.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', onLine);
    }
    proc.once('error', (error) =>
      o.logger.error({ err: error, process: child.id }, `cannot start ${o.label} ${child.id}`),
    );
    proc.once('exit', (code, signal) => {
      if (proc.pid !== undefined) this.#reaper.forget(proc.pid);
      child.process = undefined;
      const how = signal ? `signal ${signal}` : `code ${code}`;
      o.onExit?.(child, how);
      if (this.#stopping) return;
      const ranMs = Date.now() - child.startedAt;
      // A process that ran a minute counts as healthy again: its next crash restarts it at once-ish.
      const streak = ranMs > 60_000 ? 0 : child.restarts;
      const delay = Math.min(RESTART_MAX_MS, RESTART_MIN_MS * 2 ** streak);
      child.restarts++;
      const last = child.tail.at(-1);
      o.print(
        `${o.label} ${child.id} exited (${how}); restarting in ${Math.round(delay / 1000)} s${last ? ` — last output: ${summarize(last)}` : ''}`,
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

/** What `feed` knows of each supervised process, with its pid now (for the admin API's status). */
export function processStatuses(
  feed: ContractFeed<Generational>,
  supervisor: Supervisor,
  component?: string,
): ComponentProcessStatus[] {
  const now = Date.now();
  return feed
    .members(component)
    .sort((a, b) => a.id.localeCompare(b.id))
    .map((m) => processStatus(m, supervisor.pid(m.id), now));
}

/** A port nothing listens on now, for a child to bind (so its address is known before it starts). */
export async function freePort(host: string): Promise<number> {
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

function summarize(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string };
    if (entry.msg) return entry.msg.slice(0, 200);
  } catch {}
  return line.slice(0, 200);
}
