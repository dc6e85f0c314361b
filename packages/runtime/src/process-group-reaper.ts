// Processes Eddy starts (serving replicas, ContainerSource containers) must not outlive it, even when
// Eddy is SIGKILLed (Node has no PR_SET_PDEATHSIG). One small helper process holds the read end of a
// pipe and a list of process groups: `+<pgid>` adds one, `-<pgid>` forgets it (it exited). When the pipe closes - Eddy exited,
// however it died - the helper SIGTERMs every group it still knows, SIGKILLs whatever is left after
// a short grace, and exits. It runs in its own process group so a terminal's Ctrl-C (sent to Eddy's
// group) does not take it down before it has done its job.

import { type ChildProcess, spawn } from 'node:child_process';

/** The two pino methods the reaper logs with (any pino logger fits). */
export interface ReaperLogger {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** The helper's program (plain JavaScript, run with `node -e`, so it works from src and dist alike). */
const REAPER_SOURCE = `
process.title = 'eddy-process-reaper';
const graceMs = Number(process.argv[1]) || 2000;
const groups = new Set();
let buffered = '';
let reaping = false;
const signalAll = (signal) => {
  for (const pgid of groups) {
    try { process.kill(-pgid, signal); } catch (err) { if (err.code === 'ESRCH') groups.delete(pgid); }
  }
};
const reap = () => {
  if (reaping) return;
  reaping = true;
  signalAll('SIGTERM');
  const deadline = Date.now() + graceMs;
  const poll = () => {
    signalAll(0);
    if (groups.size === 0) process.exit(0);
    if (Date.now() >= deadline) { signalAll('SIGKILL'); process.exit(0); }
    setTimeout(poll, 50);
  };
  poll();
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buffered += chunk;
  let newline;
  while ((newline = buffered.indexOf('\\n')) >= 0) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    const pgid = Number(line.slice(1));
    if (!Number.isInteger(pgid) || pgid <= 1) continue;
    if (line[0] === '+') groups.add(pgid);
    else if (line[0] === '-') groups.delete(pgid);
  }
});
process.stdin.on('end', reap);
process.stdin.on('error', reap);
process.on('SIGINT', () => {});
process.on('SIGHUP', () => {});
process.on('SIGTERM', reap);
`;

export interface ReaperOptions {
  logger: ReaperLogger;
  /** How long the helper waits between SIGTERM and SIGKILL once Eddy is gone. Default 2000 ms. */
  graceMs?: number;
}

/**
 * Eddy's side of the helper: started on first use, restarted (with every live group) if it dies. Spawn
 * each watched process with `detached: true` (its own group), watch(pid) once spawned, forget(pid) when
 * it exited.
 */
export class ProcessGroupReaper {
  readonly #logger: ReaperLogger;
  readonly #graceMs: number;
  readonly #groups = new Set<number>();
  #child: ChildProcess | undefined;
  #closing = false;

  constructor(options: ReaperOptions) {
    this.#logger = options.logger;
    this.#graceMs = options.graceMs ?? 2000;
  }

  /** The helper's pid, when running (for tests and diagnostics). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  watch(pgid: number): void {
    this.#groups.add(pgid);
    this.#send(`+${pgid}\n`);
  }

  forget(pgid: number): void {
    if (!this.#groups.delete(pgid)) return;
    this.#send(`-${pgid}\n`);
  }

  /** Closes the pipe (the helper then exits; groups still listed get stopped) and waits for it. */
  async close(): Promise<void> {
    this.#closing = true;
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Ref'd again so `await runtime.close()` resolves even when nothing else keeps the loop alive.
    child.ref();
    child.stdin?.end();
    await exited;
  }

  #send(line: string): void {
    if (this.#closing) return;
    const child = this.#child ?? this.#start();
    child.stdin?.write(line);
  }

  #start(): ChildProcess {
    const child = spawn(process.execPath, ['-e', REAPER_SOURCE, String(this.#graceMs)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    this.#child = child;
    // Neither the helper nor its pipe may keep Eddy's event loop alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    child.stdin?.on('error', () => {});
    child.once('error', (err) => {
      this.#logger.error(
        { err },
        'process reaper could not be started; child processes may outlive Eddy if it is killed',
      );
    });
    child.once('exit', (code, signal) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      if (this.#closing) return;
      this.#logger.warn({ code, signal }, 'process reaper exited unexpectedly; starting a new one');
      // Hand every live group to a fresh helper.
      for (const pgid of this.#groups) this.#send(`+${pgid}\n`);
    });
    // A helper started late must also know the groups registered before.
    for (const pgid of this.#groups) child.stdin?.write(`+${pgid}\n`);
    return child;
  }
}
