// Data-plane processes as tests start them (the broker's packages/broker/dist/data-plane/main.js, or
// `eddy <component>` from packages/cli/dist/main.js): plain `node`, exactly as deployed, their output
// kept for waitForLine, SIGKILLed when the test ends.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMPONENT_NODE_FLAGS } from '@eddy/runtime';
import { expect, onTestFinished } from 'vitest';
import { contractFromYaml, freshDir } from './helpers.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
export const mainJs = join(repoRoot, 'packages', 'broker', 'dist', 'data-plane', 'main.js');
/** The `eddy` command (`eddy serving` is the serving process). */
export const eddyJs = join(repoRoot, 'packages', 'cli', 'dist', 'main.js');

export interface DataPlaneProcess {
  child: ChildProcess;
  output: string[];
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnDataPlane(args: string[]): DataPlaneProcess {
  return spawnNodeScript(mainJs, args);
}

/** `node <script> <args...>` (a built entry point, with the flags components run with), watched like spawnDataPlane's. */
export function spawnNodeScript(script: string, args: string[]): DataPlaneProcess {
  expect(existsSync(script), `${script} is missing: run pnpm run build first`).toBe(true);
  const child = spawn(process.execPath, [...COMPONENT_NODE_FLAGS, script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
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
            reject(new Error(`the process exited before printing ${pattern}; output:\n${output.join('\n')}`));
          }
        });
      });
    },
  };
}

/** Writes a contract computed from YAML for a data plane that will listen on `port`. */
export function writeContract(port: number, yaml: string): string {
  const file = `${freshDir('contract')}.json`;
  writeFileSync(file, JSON.stringify(contractFromYaml(yaml, `http://127.0.0.1:${port}`)));
  return file;
}
