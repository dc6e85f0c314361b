// The one knob and bookkeeping of the property/fuzz tests (`*.fuzz.test.ts`).
//
// EDDY_FUZZ_RUNS sets how many generated inputs each parser gets, shared among its properties by
// the `share` each passes to checkFuzz: the default is CI-sized (the whole fuzz subset stays well
// under a minute on a 2-core machine); bench/fuzz raises it to 100,000.
// With EDDY_FUZZ_REPORT=<dir>, each property also writes what it measured (inputs, slowest input,
// memory before and after) to <dir>/<name>.json, which bench/fuzz turns into its table.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

const DEFAULT_RUNS = 1000;

/** Generated inputs for a property with `share` of its parser's EDDY_FUZZ_RUNS (else the CI-sized default). */
export function fuzzRuns(share = 1): number {
  const raw = process.env.EDDY_FUZZ_RUNS;
  const runs = raw === undefined || raw === '' ? DEFAULT_RUNS : Number(raw);
  if (!Number.isSafeInteger(runs) || runs <= 0) {
    throw new RangeError(`EDDY_FUZZ_RUNS must be a positive integer, got "${raw}"`);
  }
  return Math.max(1, Math.round(runs * share));
}

/** An input slower than this counts as a hang in the report (a real hang trips the test timeout). */
export const HANG_MS = 1_000;

export interface FuzzReport {
  name: string;
  inputs: number;
  failures: number;
  hangs: number;
  slowestMs: number;
  durationMs: number;
  rssBefore: number;
  rssAfter: number;
  heapBefore: number;
  heapAfter: number;
  counterexample?: string;
}

/**
 * Checks `predicate` on `fuzzRuns(share)` inputs from `arbitrary` (fails with fast-check's shrunk
 * counterexample), timing every input. `name` is "<parser>: <property>", the key of the report.
 */
export function checkFuzz<T>(
  name: string,
  share: number,
  arbitrary: fc.Arbitrary<T>,
  predicate: (value: T) => void,
): void {
  const numRuns = fuzzRuns(share);
  let inputs = 0;
  let hangs = 0;
  let slowestMs = 0;
  settleHeap();
  const before = process.memoryUsage();
  const started = performance.now();
  let failure: unknown;
  try {
    fc.assert(
      fc.property(arbitrary, (value) => {
        const t0 = performance.now();
        try {
          predicate(value);
        } finally {
          const ms = performance.now() - t0;
          inputs++;
          if (ms > slowestMs) slowestMs = ms;
          if (ms > HANG_MS) hangs++;
        }
      }),
      { numRuns },
    );
  } catch (error) {
    failure = error;
  }
  const durationMs = performance.now() - started;
  settleHeap();
  const after = process.memoryUsage();
  writeReport({
    name,
    inputs,
    failures: failure === undefined ? 0 : 1,
    hangs,
    slowestMs,
    durationMs,
    rssBefore: before.rss,
    rssAfter: after.rss,
    heapBefore: before.heapUsed,
    heapAfter: after.heapUsed,
    ...(failure === undefined ? {} : { counterexample: String((failure as Error).message).slice(0, 2000) }),
  });
  if (failure !== undefined) throw failure;
}

function settleHeap(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

function writeReport(report: FuzzReport): void {
  const dir = process.env.EDDY_FUZZ_REPORT;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  const file = `${report.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`;
  writeFileSync(join(dir, file), `${JSON.stringify(report)}\n`);
}

/** Strings with the bytes parsers trip on: controls, quotes, %, lone surrogates, non-Latin text. */
export const oddString = (maxLength = 40): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.string({
      unit: fc.constantFrom('%', '"', '\\', 'z', '0', 'F', '\u0000', '\u00ff', 'é', ' '),
      maxLength,
    }),
  );
