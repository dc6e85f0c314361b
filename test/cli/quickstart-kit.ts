// What the spawned quickstart tests (quickstart.test.ts, quickstart-anywhere.test.ts) share: the
// environment their `eddy dev` runs in, its kept output, the events the quickstart's services log,
// `eddy get -o json` read back, and a GitHub webhook delivery signed as GitHub signs it.

import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { delimiter, dirname } from 'node:path';
import { expect } from 'vitest';
import type { WaitOptions } from '../harness/wait.ts';
import { type CliRun, MAIN } from './helpers.ts';

/** One line of EVENTS_LOG: an event a quickstart service received, and how it answered. */
export interface Received {
  service: string;
  path: string;
  status: number;
  id: string;
  type: string;
  source: string;
  data?: unknown;
  [extension: string]: unknown;
}

export interface Resource {
  kind: string;
  metadata: { name: string; generation: number };
  spec?: { template?: { spec?: { containers?: { command?: string[]; workingDir?: string }[] } } };
  status?: {
    observedGeneration?: number;
    address?: { url: string };
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/**
 * The quickstart's services append what they receive to `eventsLog`; their command is `node`, which
 * must be the Node running the test, whatever else is on PATH.
 */
export function quickstartEnv(dataDir: string, eventsLog: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    EDDY_DATA_DIR: dataDir,
    EVENTS_LOG: eventsLog,
    PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
  };
}

/** What eddy dev printed (its last 20,000 characters, across restarts), for assertions and timeouts. */
export class DevOutput {
  text = '';

  /** Spawns `eddy dev <args>` and keeps what it prints. */
  spawn(args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): ChildProcess {
    const child = spawn(process.execPath, [MAIN, 'dev', ...args], {
      ...options,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.text = (this.text + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return child;
  }

  /** Waiting on eddy dev: its requests may fail while it starts; a timeout shows its output. */
  waiting(timeoutMs: number): WaitOptions {
    return {
      timeoutMs,
      intervalMs: 300,
      ignoreErrors: true,
      describe: () => `--- eddy dev output (tail):\n${this.text.split('\n').slice(-40).join('\n')}`,
    };
  }
}

/** Stops eddy dev as Ctrl-C does, with SIGKILL after 20 s should it hang. */
export async function stopDev(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/** The events logged so far (none before the first one). */
export async function readReceived(eventsLog: string): Promise<Received[]> {
  const text = await readFile(eventsLog, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Received);
}

/** The resources in the output of `eddy get <kind> [name] -o json`; a failed run throws. */
export function resourcesOf(r: CliRun, kind: string): Resource[] {
  if (r.code !== 0) throw new Error(`eddy get ${kind} exited ${r.code}: ${r.stderr.trim()}`);
  const parsed = JSON.parse(r.stdout) as Resource | { items: Resource[] };
  return 'items' in parsed ? parsed.items : [parsed];
}

/** Ready, and for the resource's current generation. */
export function isReady(r: Resource): boolean {
  const observed = r.status?.observedGeneration;
  return (
    (observed === undefined || observed === r.metadata.generation) &&
    r.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
}

/** Rewrites a copied manifest; every replacement must hit, or the copy would silently test the original. */
export async function editCopy(
  file: string,
  replacements: readonly [from: string, to: string][],
): Promise<void> {
  let text = await readFile(file, 'utf8');
  for (const [from, to] of replacements) {
    const edited = text.replace(from, to);
    expect(edited).not.toBe(text);
    text = edited;
  }
  await writeFile(file, text);
}

const ISSUE_OPENED = JSON.stringify({
  action: 'opened',
  issue: { number: 7, html_url: 'https://github.com/your-org/your-repo/issues/7' },
  repository: { name: 'your-repo', owner: { login: 'your-org' } },
  sender: { login: 'octocat' },
});

/** POSTs an `issues` webhook to `url` signed with `secret`; the delivery id and the answer's status. */
export async function postIssueOpened(
  url: string,
  secret: string,
): Promise<{ delivery: string; status: number }> {
  const delivery = randomUUID();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(ISSUE_OPENED).digest('hex')}`,
    },
    body: ISSUE_OPENED,
  });
  await res.arrayBuffer();
  return { delivery, status: res.status };
}
