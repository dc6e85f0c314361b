// `GET /v1/export`: the events a broker's topic took in [from, to), as export lines (export-format.ts),
// read once with readWindow (a throw-away group: no Trigger's offsets move) and never past `to`.
// Control lines are objects whose only member starts with `$`, which no CloudEvents attribute can:
//   {"$export": {"broker", "from", "to", "total"}}  first (total: records in the window)
//   {"$progress": {"read"}}                          at most every progressMs
//   {"$end": {"read", "exported"}}                   last, when the whole window was read
//   {"$error": "<why>"}                              last, when reading failed

import type { ServerResponse } from 'node:http';
import type { CesqlAttributes, CompiledCesql } from '@eddy/api';
import { type EventLog, type PartitionWindow, readWindow, windowSize } from '@eddy/broker';
import { exportLine } from '../events/export-format.js';
import { writer } from './response-writer.js';

/** Streams the export as the 200 answer of `res`; `streams` holds its stop while it runs (admin close). */
export async function respondWithExport(
  res: ServerResponse,
  options: Omit<ExportStreamOptions, 'write' | 'signal'>,
  streams: Set<() => Promise<void>>,
): Promise<void> {
  const gone = new AbortController();
  const stop = async () => gone.abort();
  streams.add(stop);
  res.once('close', () => gone.abort());
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  try {
    await streamExport({ ...options, write: writer(res), signal: gone.signal });
  } finally {
    streams.delete(stop);
    if (!res.writableEnded) res.end();
  }
}

export interface ExportStreamOptions {
  log: EventLog;
  topic: string;
  /** `<namespace>/<broker>`, for the first line. */
  broker: string;
  /** timeWindow(log, topic, from, to): computed first, so a log that cannot answer gets a 503, not a broken stream. */
  window: PartitionWindow[];
  from: number;
  to: number;
  filter?: CompiledCesql;
  /** Writes one chunk; resolving late is the backpressure that pauses reading. */
  write(text: string): Promise<void>;
  /** The client went away. */
  signal: AbortSignal;
  progressMs?: number;
}

export const controlLine = (name: string, value: unknown) => `${JSON.stringify({ [`$${name}`]: value })}\n`;

export async function streamExport(options: ExportStreamOptions): Promise<void> {
  const { log, topic, write, filter, window } = options;
  await write(
    controlLine('export', {
      broker: options.broker,
      from: new Date(options.from).toISOString(),
      to: new Date(options.to).toISOString(),
      total: windowSize(window),
    }),
  );
  const progressMs = options.progressMs ?? 1000;
  let shown = Date.now();
  try {
    const result = await readWindow({
      log,
      topic,
      window,
      from: options.from,
      signal: options.signal,
      ...(filter ? { filter: (event) => filter.matches(event as unknown as CesqlAttributes) } : {}),
      handler: async (records) => {
        await write(records.map((r) => `${exportLine(r.event)}\n`).join(''));
      },
      onRead: async (read) => {
        if (Date.now() - shown < progressMs) return;
        shown = Date.now();
        await write(controlLine('progress', { read }));
      },
    });
    if (!result.aborted) await write(controlLine('end', { read: result.read, exported: result.matched }));
  } catch (error) {
    await write(controlLine('error', `reading ${options.broker} failed: ${(error as Error).message}`));
  }
}
