// One replica's OS process: spawned without a shell as the leader of its own process group, so a
// signal to the group also reaches whatever the app forked. When the leader exits, the rest of the
// group is killed (as a container's processes die with its PID 1).

import { type ChildProcess, spawn } from 'node:child_process';
import { workingDirectoryProblem } from '@eddy/runtime';
import { LineSplitter, LogTail } from './log-tail.js';

export interface ReplicaProcessSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Every output line, as it arrives. */
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

export interface ReplicaExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (command not found, bad working directory). */
  spawnError?: Error;
}

/** After the leader exited, how long to wait for its output pipes to close before giving up on them. */
const OUTPUT_DRAIN_MS = 1000;

export class ReplicaProcess {
  readonly pid: number | undefined;
  readonly logs = new LogTail(20);
  /** Resolves once the process is gone and its output has been read (never rejects). */
  readonly exited: Promise<ReplicaExit>;
  #finished = false;
  #leaderExited = false;

  constructor(spec: ReplicaProcessSpec) {
    let settle!: (exit: ReplicaExit) => void;
    this.exited = new Promise<ReplicaExit>((resolve) => {
      settle = (exit) => {
        if (this.#finished) return;
        this.#finished = true;
        resolve(exit);
      };
    });

    const cwdProblem = workingDirectoryProblem(spec.cwd);
    if (cwdProblem) {
      this.pid = undefined;
      queueMicrotask(() => settle({ code: null, signal: null, spawnError: new Error(cwdProblem) }));
      return;
    }

    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      this.pid = undefined;
      queueMicrotask(() => settle({ code: null, signal: null, spawnError: err as Error }));
      return;
    }
    this.pid = child.pid;

    for (const stream of ['stdout', 'stderr'] as const) {
      const splitter = new LineSplitter((line) => {
        this.logs.push(line);
        spec.onLine(stream, line);
      });
      const readable = child[stream];
      readable?.setEncoding('utf8');
      readable?.on('data', (chunk: string) => splitter.write(chunk));
      readable?.on('end', () => splitter.end());
      readable?.on('error', () => {});
    }

    child.once('error', (err) => {
      // Errors after a successful spawn (a failed kill) are not exits.
      if (child.pid === undefined) settle({ code: null, signal: null, spawnError: err });
    });
    child.once('exit', (code, signal) => {
      this.#leaderExited = true;
      this.#killGroup('SIGKILL');
      const timer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        settle({ code, signal });
      }, OUTPUT_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(timer);
        settle({ code, signal });
      });
    });
  }

  /** Signals the whole process group (a no-op once the process is gone). */
  signal(signal: NodeJS.Signals): void {
    if (this.#finished) return;
    this.#killGroup(signal);
  }

  get leaderExited(): boolean {
    return this.#leaderExited;
  }

  #killGroup(signal: NodeJS.Signals): void {
    if (this.pid === undefined) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}
