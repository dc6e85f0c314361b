// Shared pieces of the CLI end-to-end tests: the built CLI (packages/cli/dist/main.js) run with this
// Node as a user runs it, and the incremental build that keeps that dist current.

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { waitFor } from '../harness/wait.ts';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const MAIN = join(ROOT, 'packages/cli/dist/main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /** Default: the repository root. */
  cwd?: string;
  /** Default: this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** Default: 20 s. */
  timeoutMs?: number;
  /** The Node to run it with; default: this one. */
  node?: string;
}

/** Runs `eddy <args>` to its end; a non-zero exit (or -1 when killed) is in `code`, never thrown. */
export function runEddy(args: readonly string[], options: CliRunOptions = {}): Promise<CliRun> {
  return new Promise((done) => {
    execFile(
      options.node ?? process.execPath,
      [MAIN, ...args],
      {
        cwd: options.cwd ?? ROOT,
        timeout: options.timeoutMs ?? 20_000,
        ...(options.env ? { env: options.env } : {}),
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** `tsc -b packages/cli`, so a test never runs a stale or missing dist (for a beforeAll, ~3 min bound). */
export function buildCli(): void {
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'packages/cli'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}

/**
 * Exactly one `eddy: ...` line on stderr (`line`, or matching it), nothing on stdout, no stack trace,
 * and exit `code` (or any non-zero one).
 */
export function expectOneLine(r: CliRun, code: number | 'non-zero', line: string | RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  if (typeof line === 'string') expect(lines[0]).toBe(line);
  else expect(lines[0]).toMatch(line);
  if (code === 'non-zero') expect(r.code).not.toBe(0);
  else expect(r.code).toBe(code);
}

export interface RunningDev {
  child: ChildProcess;
  lines: string[];
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/**
 * `eddy dev <args>` spawned in `cwd` as a user runs it, its stdout and stderr collected as lines;
 * `env` is added to this process's environment.
 */
export function spawnEddyDev(args: string[], cwd: string, env: Record<string, string> = {}): RunningDev {
  const child = spawn(process.execPath, [MAIN, 'dev', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.on('data', (chunk: Buffer) =>
    lines.push(
      ...chunk
        .toString()
        .split('\n')
        .filter(Boolean)
        .map((l) => `stderr: ${l}`),
    ),
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    lines,
    exited,
    waitFor: (pattern, timeoutMs = 20_000) =>
      waitFor(
        `a line matching ${pattern}`,
        () => {
          const line = lines.find((l) => pattern.test(l));
          if (!line && child.exitCode !== null)
            throw new Error(`eddy dev exited; no line matching ${pattern} in:\n${lines.join('\n')}`);
          return line;
        },
        { timeoutMs, describe: () => lines.join('\n') },
      ),
  };
}

/**
 * POSTs a binary-mode JSON CloudEvent of `type` (a random id) to `url`, with `attributes` as more
 * `ce-` headers; the HTTP status.
 */
export async function sendJsonEvent(
  url: string,
  type: string,
  data: unknown,
  source = '/eddy-test',
  attributes: Record<string, string> = {},
): Promise<number> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'ce-specversion': '1.0',
      'ce-id': `${type}-${Math.random().toString(36).slice(2)}`,
      'ce-type': type,
      'ce-source': source,
      ...Object.fromEntries(Object.entries(attributes).map(([k, v]) => [`ce-${k}`, v])),
      'content-type': 'application/json',
    },
    body: JSON.stringify(data),
  });
  await res.body?.cancel();
  return res.status;
}
