// `eddy events export <broker> --from <time> [--to <time>] [--filter <cesql>] [-o <file>]`: the events a
// broker took in [from, to) as JSON Lines (export-format.ts), from eddy dev's GET /v1/export. `to`
// defaults to the moment the command starts, so an export ends even under live traffic. Lines go to
// the file (or stdout) as they arrive and the stream waits for the disk: memory stays bounded.

import { once } from 'node:events';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { AdminClient } from '../admin/client.js';
import { CliError } from '../cli-error.js';
import { Progress } from '../events/progress.js';
import type { Output } from '../output.js';
import { parseTimeArgument } from '../time-argument.js';
import { EXIT_OK, UsageError } from '../usage-error.js';
import {
  brokerNotFoundMessage,
  type NamespaceOptions,
  nameArgument,
  rethrowNotFound,
  type ServerOptions,
} from '../verb.js';
import { checkFilter } from './tail.js';

export interface ExportOptions extends ServerOptions, NamespaceOptions {
  from?: string;
  to?: string;
  filter?: string;
  output?: string;
}

export interface ExportRun {
  /** Aborting it (Ctrl-C) stops the export; what was written stays, and the command fails. */
  signal: AbortSignal;
  /** Where the lines go without -o; default process.stdout. */
  stdout?: Writable;
  /** Whether stderr is a terminal (a live progress line); default process.stderr.isTTY. */
  tty?: boolean;
  /** Raw stderr text for the live progress line; default process.stderr. */
  writeErr?: (text: string) => void;
  now?: () => number;
}

interface WindowInfo {
  broker: string;
  from: string;
  to: string;
  total: number;
}

export const EXPORT_USAGE = 'eddy events export <broker> --from <time> [--to <time>] [-o <file>]';

/** The time arguments as epoch ms; `to` is now unless given. */
export function exportWindow(options: ExportOptions, now: number): { from: number; to: number } {
  if (options.from === undefined)
    throw new UsageError(`missing --from (an RFC 3339 time or a duration ago, e.g. 1h): ${EXPORT_USAGE}`);
  const from = parseTimeArgument(options.from, '--from', now);
  const to = options.to === undefined ? now : parseTimeArgument(options.to, '--to', now);
  if (options.to === undefined && from > now)
    throw new UsageError(`--from ${new Date(from).toISOString()} is in the future: nothing to export yet`);
  if (to < from)
    throw new UsageError(
      `--to ${new Date(to).toISOString()} is before --from ${new Date(from).toISOString()}: nothing to export`,
    );
  return { from, to };
}

export async function runExport(
  broker: string | undefined,
  options: ExportOptions,
  output: Output,
  run: ExportRun,
): Promise<number> {
  if (broker === undefined) throw new UsageError(`missing the broker: ${EXPORT_USAGE}`);
  nameArgument('broker', broker);
  const { from, to } = exportWindow(options, (run.now ?? Date.now)());
  checkFilter(options.filter);
  const client = await AdminClient.connect(options);
  const query = new URLSearchParams({
    namespace: options.namespace,
    broker,
    from: String(from),
    to: String(to),
  });
  if (options.filter !== undefined) query.set('filter', options.filter);

  const progress = new Progress({
    label: `exporting ${options.namespace}/${broker}`,
    tty: run.tty ?? process.stderr.isTTY === true,
    write: run.writeErr ?? ((text) => process.stderr.write(text)),
  });
  const toFile = options.output !== undefined && options.output !== '-';
  let sink: Writable | undefined;
  let window: WindowInfo | undefined;
  let exported = 0;
  let read = 0;
  let ended = false;
  try {
    for await (const line of client.lines(`/v1/export?${query}`, run.signal)) {
      if (!line.startsWith('{"$')) {
        if (sink === undefined) throw new CliError('eddy dev sent events before saying what it exports');
        await writeText(sink, `${line}\n`, options.output);
        exported++;
        continue;
      }
      const control = JSON.parse(line) as Record<string, unknown>;
      if (control.$export !== undefined) {
        window = control.$export as WindowInfo;
        progress.total = window.total;
        sink = await openSink(options.output, run.stdout);
      } else if (control.$progress !== undefined) {
        read = (control.$progress as { read: number }).read;
      } else if (control.$end !== undefined) {
        read = (control.$end as { read: number }).read;
        ended = true;
      } else if (control.$error !== undefined) {
        throw new CliError(`export failed after ${exported} events: ${String(control.$error)}`);
      }
      progress.update(Math.max(read, exported), options.filter ? `, ${exported} matching` : '');
    }
  } catch (e) {
    rethrowNotFound(e, brokerNotFoundMessage(broker, options.namespace));
  } finally {
    progress.done();
    if (sink !== undefined && toFile) await closeSink(sink, options.output ?? '');
  }
  if (run.signal.aborted) throw new CliError(`export interrupted: ${exported} events written`);
  if (!ended || window === undefined)
    throw new CliError(`eddy dev ended the export early (was it stopped?): ${exported} events written`);
  const where = toFile ? ` to ${options.output}` : '';
  output.err(
    `exported ${exported} events${where} (${window.broker}, ${window.from} to ${window.to}${options.filter ? `, ${read} read` : ''})`,
  );
  return EXIT_OK;
}

async function openSink(file: string | undefined, stdout: Writable | undefined): Promise<Writable> {
  if (file === undefined || file === '-') return stdout ?? process.stdout;
  try {
    return (await open(file, 'w')).createWriteStream();
  } catch (e) {
    throw new CliError(`cannot write -o ${file}: ${(e as Error).message}`);
  }
}

/** Writes and waits for the sink to take it (the backpressure that pauses the stream). */
async function writeText(sink: Writable, text: string, file: string | undefined): Promise<void> {
  try {
    if (!sink.write(text)) await once(sink, 'drain');
  } catch (e) {
    throw new CliError(
      `cannot write ${file === undefined ? 'stdout' : `-o ${file}`}: ${(e as Error).message}`,
    );
  }
}

async function closeSink(sink: Writable, file: string): Promise<void> {
  sink.end();
  try {
    if (!sink.writableFinished) await once(sink, 'finish');
  } catch (e) {
    throw new CliError(`cannot write -o ${file}: ${(e as Error).message}`);
  }
}
