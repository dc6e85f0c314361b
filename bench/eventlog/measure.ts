// Shared measurement and reporting helpers for the benchmarks: every contender is timed the same way.
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Measurement {
  events: number;
  seconds: number;
  perSecond: number;
}

export async function measure(events: number, run: () => Promise<void>): Promise<Measurement> {
  const started = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { events, seconds, perSecond: events / seconds };
}

/** Resolves when `done()` is true, polling; rejects after `timeoutMs` with what was still missing. */
export async function waitFor(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function formatRate(perSecond: number): string {
  return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
}

export function ratio(value: number, baseline: number): string {
  return `${(value / baseline).toFixed(2)}x`;
}

const RESULTS = path.join(import.meta.dirname, '..', 'RESULTS.md');

/** Prints a result section and, when `write`, appends it to bench/RESULTS.md. */
export function publishResults(text: string, write: boolean): void {
  console.log(`\n${text}`);
  if (!write) return;
  if (!existsSync(RESULTS))
    writeFileSync(RESULTS, '# Benchmark results\n\nNewest last. Targets are aims, not gates.\n\n');
  appendFileSync(RESULTS, `${text}\n`);
  process.stderr.write(`[bench] appended to ${path.relative(process.cwd(), RESULTS)}\n`);
}
