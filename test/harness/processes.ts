// Process plumbing shared by the peers the harness starts (Kafka, ElasticMQ, pstest): liveness
// checks, required tools, log tails, and child processes that never outlive the test run.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A peer's start timeout: the option, else the environment variable (checked), else `fallbackMs`. */
export function startTimeoutMs(given: number | undefined, envVar: string, fallbackMs: number): number {
  if (given !== undefined) return given;
  const fromEnv = process.env[envVar];
  if (fromEnv === undefined) return fallbackMs;
  const ms = Number(fromEnv);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new Error(`${envVar} must be a positive number of ms, got ${JSON.stringify(fromEnv)}`);
  }
  return ms;
}

export { isRunning as isAlive } from '@eddy/runtime';

/**
 * Runs `cmd args` and returns its combined output, or throws naming the tool and what needs it,
 * so a missing Java, Maven or Go is reported as such instead of as a spawn error later on.
 */
export function requireTool(cmd: string, args: string[], what: string, neededFor: string): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  if (res.error || res.status !== 0) {
    throw new Error(
      `${what} is needed to ${neededFor}, but \`${cmd} ${args.join(' ')}\` failed: ${res.error?.message ?? res.stderr.trim()}`,
    );
  }
  return `${res.stdout}${res.stderr}`;
}

export function tailFile(file: string, lines: number): string {
  try {
    const all = readFileSync(file, 'utf8').trimEnd().split('\n');
    return all.slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/**
 * A detached shell that outlives us: if this process disappears without running its exit hook
 * (SIGKILL, a crashed runner), it stops the child so no orphaned server keeps ports and memory.
 */
/** Sends `signal`, waits up to `graceMs` for `exited`, then SIGKILLs and waits for good. */
export async function killAndWait(
  child: ChildProcess,
  exited: Promise<unknown>,
  signal: 'SIGTERM' | 'SIGKILL',
  graceMs: number,
): Promise<void> {
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const done = await Promise.race([
    exited.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    }),
  ]);
  clearTimeout(timer);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}

export function startWatchdog(childPid: number, label: string): ChildProcess {
  const script = [
    'parent=$1; child=$2',
    'while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done',
    'if kill -0 "$child" 2>/dev/null; then',
    '  kill -TERM "$child" 2>/dev/null; i=0',
    '  while [ $i -lt 15 ] && kill -0 "$child" 2>/dev/null; do sleep 1; i=$((i+1)); done',
    '  kill -KILL "$child" 2>/dev/null',
    'fi',
  ].join('\n');
  const watchdog = spawn(
    'sh',
    ['-c', script, `eddy-${label}-watchdog`, String(process.pid), String(childPid)],
    {
      detached: true,
      stdio: 'ignore',
    },
  );
  watchdog.unref();
  return watchdog;
}

/**
 * Runs a command to completion with stdout and stderr appended to `outFile`; resolves with its
 * exit code (null if a signal ended it) and rejects only if it could not be started. With
 * `progress`, long runs (downloads, builds) report every `everyMs` how long they have taken and
 * the command's last output line, so a first run does not look stuck.
 */
export function runLogged(
  cmd: string,
  args: string[],
  options: {
    outFile: string;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    progress?: { log: (line: string) => void; what: string; everyMs?: number };
  },
): Promise<number | null> {
  const fd = openSync(options.outFile, 'a');
  const started = Date.now();
  const { progress } = options;
  const timer =
    progress &&
    setInterval(() => {
      const last = tailFile(options.outFile, 1).replace(/\s+/g, ' ').slice(0, 160);
      const lastPart = last === '' ? '' : ` (${last})`;
      progress.log(`${progress.what}: ${Math.round((Date.now() - started) / 1000)} s so far${lastPart}`);
    }, progress.everyMs ?? 15_000);
  return new Promise<number | null>((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['ignore', fd, fd],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    child.on('error', reject);
    child.on('close', resolve);
  }).finally(() => {
    clearInterval(timer);
    closeSync(fd);
  });
}

/** A server process whose output goes to a file and which is stopped with the test run. */
export interface PeerProcess {
  readonly pid: number | undefined;
  /** Resolves with the exit code (null when killed by a signal or never started). */
  readonly exited: Promise<number | null>;
  /** True once the process has ended. */
  readonly hasExited: boolean;
  /** How it ended, for error messages: `code 1`, `signal SIGKILL`, `spawn error: ...`. */
  readonly exitReason: string;
  /**
   * SIGTERM, then SIGKILL after `graceMs` (or SIGKILL at once: a crash); resolves once the process
   * is gone. Idempotent.
   */
  stop(graceMs?: number, signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface SpawnPeerOptions {
  /** stdout and stderr are appended here. */
  outFile: string;
  /** Used in the watchdog's process name. */
  label: string;
  env?: NodeJS.ProcessEnv;
  /**
   * 'pipe' keeps a pipe to the child's stdin open for its whole life, for servers that stop when
   * stdin closes (which then also happens when this process dies).
   */
  stdin?: 'ignore' | 'pipe';
}

const exitCleanups = new Set<() => void>();
let exitHookInstalled = false;

/**
 * Runs `cleanup` if this process exits while it is registered; the returned function unregisters
 * it. Only synchronous work is possible in 'exit'. Signals are left to the host (vitest, a CLI):
 * a SIGINT listener here would stop Node from exiting on Ctrl-C.
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const run of exitCleanups) {
        try {
          run();
        } catch {}
      }
    });
  }
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

export function spawnPeer(cmd: string, args: string[], options: SpawnPeerOptions): PeerProcess {
  const fd = openSync(options.outFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      stdio: [options.stdin ?? 'ignore', fd, fd],
      ...(options.env ? { env: options.env } : {}),
    });
  } finally {
    closeSync(fd);
  }
  let hasExited = false;
  let exitReason = '';
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      if (hasExited) return;
      writeFileSync(options.outFile, `failed to start ${cmd}: ${err.message}\n`, { flag: 'a' });
      hasExited = true;
      exitReason = `spawn error: ${err.message}`;
      resolve(null);
    });
    child.on('exit', (code, signal) => {
      if (hasExited) return;
      hasExited = true;
      exitReason = signal ? `signal ${signal}` : `code ${code}`;
      resolve(code);
    });
  });
  // The stdin pipe must not report EPIPE as an unhandled error once the child is gone.
  child.stdin?.on('error', () => {});
  const forget = onProcessExit(() => child.kill('SIGKILL'));
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid, options.label);
  void exited.then(() => {
    forget();
    if (watchdog?.pid !== undefined) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {}
    }
  });

  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    exited,
    get hasExited() {
      return hasExited;
    },
    get exitReason() {
      return exitReason;
    },
    stop(graceMs = 10_000, signal = 'SIGTERM') {
      stopping ??= (async () => {
        if (hasExited) return;
        await killAndWait(child, exited, signal, graceMs);
      })();
      return stopping;
    },
  };
}

/**
 * Polls `file` until a line matches `pattern` and returns the match; fails early if `proc` ends,
 * and at `deadline` with the file's last lines.
 */
export async function waitForLogLine(
  file: string,
  pattern: RegExp,
  proc: PeerProcess,
  deadline: number,
  what: string,
): Promise<RegExpExecArray> {
  for (;;) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {}
    const match = pattern.exec(text);
    if (match) return match;
    if (proc.hasExited) {
      throw new Error(
        `${what} exited (${proc.exitReason}) while starting\n--- last lines of ${file} ---\n${tailFile(file, 20)}`,
      );
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} did not start in time\n--- last lines of ${file} ---\n${tailFile(file, 20)}`);
    }
    await sleep(100);
  }
}
