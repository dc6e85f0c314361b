// Runs wrk with our CloudEvents script (ce.lua) and parses what it prints.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { onProcessExit } from '../../test/harness/processes.ts';

export interface WrkResult {
  requests: number;
  seconds: number;
  /** Responses per second as wrk reports it (all statuses). */
  perSecond: number;
  non2xx: number;
  socketErrors: number;
  p50Ms: number;
  p99Ms: number;
}

const SCRIPT = path.join(import.meta.dirname, 'ce.lua');

/** wrk's latency figures: "850.00us", "1.20ms", "2.01s". */
function toMs(text: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? '');
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? Number.NaN);
  const requests = num(/^\s*(\d+) requests in/m);
  const seconds = toMs(/requests in ([\d.]+\w+),/.exec(out)?.[1]) / 1000;
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests,
    seconds,
    perSecond: num(/Requests\/sec:\s+([\d.]+)/),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    p50Ms: toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99Ms: toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
  };
}

/** `wrk -t<threads> -c<connections> -d<seconds>s --latency -s ce.lua <url>`; rejects if wrk fails. */
export function runWrk(
  url: string,
  connections: number,
  seconds: number,
  threads = 2,
): Promise<WrkResult & { raw: string }> {
  const args = [
    `-t${threads}`,
    `-c${connections}`,
    `-d${seconds}s`,
    '--timeout',
    '10s',
    '--latency',
    '-s',
    SCRIPT,
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const forget = onProcessExit(() => child.kill('SIGKILL'));
    child.on('exit', forget);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', (e) => reject(new Error(`cannot run wrk (apt-get install -y wrk): ${e.message}`)));
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`wrk ${args.join(' ')} exited ${code}:\n${out}`));
      resolve({ ...parseWrk(out), raw: out });
    });
  });
}
