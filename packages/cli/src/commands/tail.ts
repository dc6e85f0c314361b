import { checkCesql } from '@eddy/api';
import type { Command } from 'commander';
import { AdminClient } from '../admin/client.js';
import { CliError } from '../cli-error.js';
import { eventLine } from '../format/event-line.js';
import type { Output } from '../output.js';
import { parseTimeArgument } from '../time-argument.js';
import { EXIT_OK, UsageError } from '../usage-error.js';
import {
  brokerNotFoundMessage,
  clientVerb,
  type NamespaceOptions,
  nameArgument,
  rethrowNotFound,
  runVerb,
  type ServerOptions,
} from '../verb.js';
import { parseFormat } from './get.js';

export interface TailOptions extends ServerOptions, NamespaceOptions {
  filter?: string;
  from?: string;
  output?: string;
}

/** Checks a CESQL expression locally, so a typo is reported with its position before anything connects. */
export function checkFilter(filter: string | undefined): void {
  if (filter === undefined) return;
  if (filter.trim() === '') throw new UsageError('invalid --filter: the CESQL expression is empty');
  const r = checkCesql(filter);
  if (!r.ok) throw new UsageError(`invalid --filter: ${r.error.message}`);
}

export interface TailRun {
  /** Aborting it ends the stream and the command exits 0 (what Ctrl-C does). */
  signal: AbortSignal;
  /** Called once the server says the stream is live. */
  onLive?: (what: string) => void;
}

export async function runTail(
  broker: string | undefined,
  options: TailOptions,
  output: Output,
  run: TailRun,
): Promise<number> {
  if (broker === undefined)
    throw new UsageError('missing the broker: eddy tail <broker> [--from <time>] [--filter <cesql>]');
  nameArgument('broker', broker);
  const format = parseFormat(options.output, 'text', ['text', 'json']);
  checkFilter(options.filter);
  const from = options.from === undefined ? undefined : parseTimeArgument(options.from, '--from');
  const client = await AdminClient.connect(options);
  const query = new URLSearchParams({ namespace: options.namespace, broker });
  if (options.filter !== undefined) query.set('filter', options.filter);
  if (from !== undefined) query.set('from', String(from));
  try {
    for await (const line of client.lines(`/v1/tail?${query}`, run.signal)) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        output.err(`eddy: skipped a line that is not JSON: ${line.slice(0, 120)}`);
        continue;
      }
      const record = (value ?? {}) as Record<string, unknown>;
      if (typeof record.tailing === 'string') {
        output.err(
          `tailing ${record.tailing}${from === undefined ? '' : ` from ${new Date(from).toISOString()}`}${options.filter ? ` where ${options.filter}` : ''} (Ctrl-C to stop)`,
        );
        run.onLive?.(record.tailing);
        continue;
      }
      output.out(format === 'json' ? JSON.stringify(record) : eventLine(record));
    }
  } catch (e) {
    rethrowNotFound(e, brokerNotFoundMessage(broker, options.namespace));
  }
  if (run.signal.aborted) return EXIT_OK;
  throw new CliError('eddy dev ended the stream (was it stopped?)');
}

export function registerTail(program: Command, output: Output, setExit: (code: number) => void): void {
  clientVerb(program, 'tail', (c) =>
    c
      .description('stream the events passing through a broker, live (--from: history first), until Ctrl-C')
      .argument('[broker]', 'the broker')
      .option(
        '--filter <cesql>',
        'only events matching a CloudEvents SQL expression, e.g. "type LIKE \'com.example.%\'"',
      )
      .option('--from <time>', 'first the history from then: an RFC 3339 time or a duration ago (15m, 2h)')
      .option('-o, --output <format>', 'text (one line per event) or json (one CloudEvent per line)'),
  ).action((broker: string | undefined, opts: TailOptions) => {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return runVerb(output, setExit, () => runTail(broker, opts, output, { signal: stop.signal })).finally(
      () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      },
    );
  });
}
