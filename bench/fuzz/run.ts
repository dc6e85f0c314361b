// Fuzz benchmark: the property tests of every edge parser (`*.fuzz.test.ts`) at 100,000 generated
// inputs per parser, then generated hostile HTTP requests against a real ingress on the embedded log.
// Counts crashes (a property failed: an exception other than the parser's own error, or a wrong
// result), hangs (an input slower than HANG_MS; a real hang trips the run's deadline), 5xx answers,
// and memory before/after (RSS and heap after a GC): bounded memory shows as little growth.
// Not a test: it never gates CI; the CI-sized subset of the same properties runs in the suite.
//
//   pnpm run build && node --expose-gc bench/fuzz/run.ts [--runs 100000] [--http 10000] [--no-write]   (pnpm run bench:fuzz)

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createIngress, openEmbeddedEventLog } from '@eddy/broker';
import fc from 'fast-check';
import pino from 'pino';
import { answerProblem, hostileRequest, sendRaw } from '../../test/broker/ingress-fuzz-requests.ts';
import type { FuzzReport } from '../../test/harness/fuzz.ts';
import { publishResults } from '../eventlog/measure.ts';
import { progress, ticking } from '../progress.ts';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '100000' },
    http: { type: 'string', default: '10000' },
    'no-write': { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs);
const httpRequests = Number(args.http);
const root = path.resolve(import.meta.dirname, '../..');
const FUZZ_FILES = [
  'packages/api/src/cloudevents/http-binding.fuzz.test.ts',
  'packages/api/src/cloudevents/kafka-binding.fuzz.test.ts',
  'packages/api/src/cesql/cesql.fuzz.test.ts',
  'packages/api/src/resources/load.fuzz.test.ts',
  'packages/sources/src/foreign-messages.fuzz.test.ts',
];

const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)}`;
const signed = (bytes: number) => `${bytes >= 0 ? '+' : ''}${mib(bytes)}`;

async function inProcess(): Promise<{ rows: string[]; failed: boolean }> {
  const reportDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-fuzz-report-'));
  progress(`property tests: ${runs} inputs per parser, ${FUZZ_FILES.length} files`);
  const exit = await ticking(
    'property tests',
    new Promise<number>((resolve) => {
      const child = spawn(
        path.join(root, 'node_modules/.bin/vitest'),
        ['run', ...FUZZ_FILES, '--testTimeout=0', '--no-file-parallelism'],
        {
          cwd: root,
          stdio: ['ignore', 'ignore', 'inherit'],
          env: {
            ...process.env,
            EDDY_FUZZ_RUNS: String(runs),
            EDDY_FUZZ_REPORT: reportDir,
            NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim(),
          },
        },
      );
      child.on('exit', (code) => resolve(code ?? 1));
    }),
  );
  const reports: FuzzReport[] = readdirSync(reportDir).map((f) =>
    JSON.parse(readFileSync(path.join(reportDir, f), 'utf8')),
  );
  rmSync(reportDir, { recursive: true, force: true });
  reports.sort((a, b) => a.name.localeCompare(b.name));
  const rows: string[] = [];
  const parsers = new Map<string, FuzzReport[]>();
  for (const r of reports) {
    const parser = r.name.split(':')[0] ?? r.name;
    parsers.set(parser, [...(parsers.get(parser) ?? []), r]);
  }
  for (const [parser, list] of parsers) {
    const sum = (f: (r: FuzzReport) => number) => list.reduce((n, r) => n + f(r), 0);
    rows.push(
      `| ${parser} | ${list.length} | ${sum((r) => r.inputs).toLocaleString('en-US')} | ${sum((r) => r.failures)} | ${sum((r) => r.hangs)} | ${Math.max(...list.map((r) => r.slowestMs)).toFixed(0)} | ${(sum((r) => r.durationMs) / 1000).toFixed(0)} | ${signed(Math.max(...list.map((r) => r.heapAfter - r.heapBefore)))} | ${signed(Math.max(...list.map((r) => r.rssAfter - r.rssBefore)))} |`,
    );
    for (const r of list.filter((x) => x.counterexample)) progress(`FAILED ${r.name}: ${r.counterexample}`);
  }
  return { rows, failed: exit !== 0 };
}

async function overHttp(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eddy-fuzz-ingress-'));
  const log = await openEmbeddedEventLog({ dataDir: dir });
  const ingress = createIngress({ log, logger: pino({ level: 'silent' }), maxBatchEvents: 5 });
  const route = {
    namespace: 'fuzz',
    name: 'default',
    path: '/fuzz/default',
    topic: 'fuzz-bench',
    partitions: 1,
  };
  await ingress.updateContract([route], []);
  const port = Number(new URL(await ingress.listen()).port);
  const stored = async () => (await log.lag('fuzz-probe', route.topic)).reduce((n, p) => n + p.end, 0);
  const statuses = new Map<number, number>();
  let hangs = 0;
  let fiveXx = 0;
  let noReason = 0;
  let storedOn4xx = 0;
  let slowest = 0;
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.memoryUsage();
  const started = performance.now();
  const requests = fc.sample(hostileRequest(route.path), { numRuns: httpRequests });
  for (const [i, bytes] of requests.entries()) {
    if (i % 1000 === 0) progress(`HTTP: ${i}/${requests.length} requests`);
    const count = await stored();
    let answer: Awaited<ReturnType<typeof sendRaw>>;
    try {
      answer = await sendRaw(port, bytes, 5_000);
    } catch {
      hangs++;
      continue;
    }
    slowest = Math.max(slowest, answer.ms);
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    if (answer.status >= 500) fiveXx++;
    else if (answerProblem(answer)) noReason++;
    if (answer.status !== 202 && (await stored()) !== count) storedOn4xx++;
  }
  const seconds = (performance.now() - started) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const after = process.memoryUsage();
  await ingress.close();
  await log.close();
  rmSync(dir, { recursive: true, force: true });
  const answers = [...statuses]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  return [
    `| requests | answers by status | 5xx | hangs (> 5 s) | 4xx without a reason | 4xx that stored | slowest ms | s | heap growth MiB | RSS growth MiB |`,
    `|---|---|---|---|---|---|---|---|---|---|`,
    `| ${requests.length.toLocaleString('en-US')} | ${answers} | ${fiveXx} | ${hangs} | ${noReason} | ${storedOn4xx} | ${slowest.toFixed(0)} | ${seconds.toFixed(0)} | ${signed(after.heapUsed - before.heapUsed)} | ${signed(after.rss - before.rss)} |`,
  ].join('\n');
}

const { rows, failed } = await inProcess();
progress(`HTTP: ${httpRequests} generated requests against a real ingress (embedded log)`);
const http = await overHttp();
const when = new Date().toISOString().slice(0, 16).replace('T', ' ');
publishResults(
  [
    `## fuzz, ${when}Z`,
    '',
    `\`node --expose-gc bench/fuzz/run.ts --runs ${runs} --http ${httpRequests}\` on ${os.cpus().length} cores (shared). Parsers in process (the \`*.fuzz.test.ts\` properties; a crash is a failed property (a hang would stop the run); memory after a GC, the largest growth of one property):`,
    '',
    '| parser | properties | inputs | crashes | inputs over 1 s | slowest input ms | s | heap growth MiB | RSS growth MiB |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    'The ingress over HTTP (raw requests: odd headers, percent-encoding, content types, bodies, batches, bad framing and paths; one at a time, the log checked around each):',
    '',
    http,
    '',
  ].join('\n'),
  !args['no-write'],
);
if (failed) process.exitCode = 1;
