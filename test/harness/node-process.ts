// A Node script started as a deployment would (plain `node`, exactly as built), its output kept for
// waitForLine, SIGKILLed when the test ends: how tests run data-plane processes (the broker's, the
// sources').

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { COMPONENT_NODE_FLAGS } from '@eddy/runtime';
import { expect, onTestFinished } from 'vitest';

export interface NodeProcess {
  child: ChildProcess;
  output: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node <COMPONENT_NODE_FLAGS> <script> <args>`; `env` is added to this process's environment. */
export function spawnNodeScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): NodeProcess {
  expect(existsSync(script), `${script} is missing: run pnpm run build first`).toBe(true);
  const child = spawn(process.execPath, [...COMPONENT_NODE_FLAGS, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const output: string[] = [];
  let partial = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    output.push(...lines);
    for (const w of waiters) w();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    child,
    output,
    exited,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = output.find((l) => pattern.test(l));
          if (line !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(line);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`no output line matching ${pattern} in ${timeoutMs} ms; output:\n${output.join('\n')}`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
        void exited.then(() => {
          if (waiters.has(check)) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(new Error(`${script} exited before printing ${pattern}; output:\n${output.join('\n')}`));
          }
        });
      });
    },
  };
}
