// `eddy events export|import`: a broker's history out of the log as a file, and a file back in
// (events-export.ts, events-import.ts). Retention is the archive: what can be exported is what the
// broker's topic still holds (`eddy describe broker` shows the oldest event).

import type { Command } from 'commander';
import type { Output } from '../output.js';
import { UsageError } from '../usage-error.js';
import { clientVerb, runVerb } from '../verb.js';
import { EXPORT_USAGE, type ExportOptions, runExport } from './events-export.js';
import { IMPORT_USAGE, type ImportOptions, runImport } from './events-import.js';

/** Runs a verb until it ends or Ctrl-C aborts the signal it gets. */
function interruptible(body: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return body(stop.signal).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
}

export function registerEvents(program: Command, output: Output, setExit: (code: number) => void): void {
  const events = program
    .command('events')
    .description("a broker's history as a file (export) and back (import); retention is the archive")
    .argument('[command]', 'export or import')
    .action((what: string | undefined) => {
      throw new UsageError(
        what === undefined
          ? `missing what to do: ${EXPORT_USAGE}, or ${IMPORT_USAGE}`
          : `unknown command "events ${what}": expected export or import`,
      );
    });
  clientVerb(events, 'export', (c) =>
    c
      .description('write the events a broker took in [--from, --to) as JSON Lines of structured CloudEvents')
      .argument('[broker]', 'the broker')
      .option('--from <time>', 'start: an RFC 3339 time or a duration ago (90s, 15m, 2h, 7d)')
      .option(
        '--to <time>',
        'end, excluded (default: when the command starts; it never follows live traffic)',
      )
      .option('--filter <cesql>', 'only events matching a CloudEvents SQL expression')
      .option('-o, --output <file>', 'the .jsonl file to write (default: stdout)'),
  ).action((broker: string | undefined, opts: ExportOptions) =>
    interruptible((signal) => runVerb(output, setExit, () => runExport(broker, opts, output, { signal }))),
  );
  clientVerb(events, 'import', (c) =>
    c
      .description("append the events of an export file through a broker's ingress, durably, in file order")
      .argument('[broker]', 'the broker')
      .option('-f, --file <file>', 'the .jsonl file to read, - for stdin')
      .option('--rate <events/s>', 'send at most this many events per second'),
  ).action((broker: string | undefined, opts: ImportOptions) =>
    interruptible((signal) => runVerb(output, setExit, () => runImport(broker, opts, output, { signal }))),
  );
}
