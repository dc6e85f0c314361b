// `eddy events import <broker> -f <file|-> [--rate <n>]`: appends the events of an export file through
// the broker's ingress (batch-mode POSTs, 202 = durable), in file order. A bad line is reported with
// its number and reason and skipped; the others still get in; exit 1 if any line failed. The file is
// read as it is sent (one request in flight), so memory stays bounded whatever its size.

import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { sleep } from '@eddy/runtime';
import { Agent } from 'undici';
import { AdminClient, resourcePath } from '../admin/client.js';
import type { StoredResource } from '../admin/protocol.js';
import { CliError } from '../cli-error.js';
import { ImportLineError, parseImportLine } from '../events/export-format.js';
import {
  IngressSender,
  IngressUnavailableError,
  type PendingEvent,
  type SendFailure,
} from '../events/ingress-sender.js';
import { Progress } from '../events/progress.js';
import type { Output } from '../output.js';
import { EXIT_OK, EXIT_PROBLEMS, UsageError } from '../usage-error.js';
import {
  brokerNotFoundMessage,
  type NamespaceOptions,
  nameArgument,
  rethrowNotFound,
  type ServerOptions,
} from '../verb.js';

export interface ImportOptions extends ServerOptions, NamespaceOptions {
  file?: string;
  rate?: string;
}

export interface ImportRun {
  signal: AbortSignal;
  /** What `-f -` reads; default process.stdin. */
  stdin?: Readable;
  tty?: boolean;
  writeErr?: (text: string) => void;
}

export const IMPORT_USAGE = 'eddy events import <broker> -f <file.jsonl|-> [--rate <events/s>]';
/** Events per request, and bytes: well under the ingress's 1 MiB body limit. */
const BATCH_EVENTS = 100;
const BATCH_BYTES = 512 * 1024;

export function rateArgument(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const rate = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(rate > 0))
    throw new UsageError(
      `invalid --rate ${JSON.stringify(value)}: expected events per second, a number above 0`,
    );
  return rate;
}

export async function runImport(
  broker: string | undefined,
  options: ImportOptions,
  output: Output,
  run: ImportRun,
): Promise<number> {
  if (broker === undefined) throw new UsageError(`missing the broker: ${IMPORT_USAGE}`);
  nameArgument('broker', broker);
  if (options.file === undefined) throw new UsageError(`missing -f <file.jsonl|->: ${IMPORT_USAGE}`);
  const rate = rateArgument(options.rate);
  const file = options.file;
  // A file's size gives the progress a total; stdin has none.
  const fileBytes = file === '-' ? undefined : await checkReadable(file);
  const client = await AdminClient.connect(options);
  let resource: StoredResource;
  try {
    resource = await client.get<StoredResource>(
      resourcePath('/v1/resources', 'Broker', options.namespace, broker),
    );
  } catch (e) {
    rethrowNotFound(e, brokerNotFoundMessage(broker, options.namespace));
  }
  const url = resource.status?.address?.url;
  if (url === undefined)
    throw new CliError(
      `broker "${broker}" has no address yet, it is not ready (see: eddy describe broker ${broker})`,
    );

  const agent = new Agent({ pipelining: 0 });
  const sender = new IngressSender({ url, dispatcher: agent, signal: run.signal });
  const name = file === '-' ? '<stdin>' : file;
  const progress = new Progress({
    label: `importing into ${options.namespace}/${broker}`,
    tty: run.tty ?? process.stderr.isTTY === true,
    write: run.writeErr ?? ((text) => process.stderr.write(text)),
  });
  const pace = rate === undefined ? undefined : pacer(rate);
  const batchLimit =
    rate === undefined ? BATCH_EVENTS : Math.max(1, Math.min(BATCH_EVENTS, Math.floor(rate / 10)));
  let imported = 0;
  let failed = 0;
  const report = (f: SendFailure) => {
    failed++;
    output.err(`${name}:${f.line}: ${f.why}`);
  };

  let bytesRead = 0;
  let batch: PendingEvent[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const sending = batch;
    batch = [];
    batchBytes = 0;
    await pace?.(sending.length);
    let failures: SendFailure[];
    try {
      failures = await sender.send(sending);
    } catch (e) {
      if (!(e instanceof IngressUnavailableError)) throw e;
      throw new CliError(
        `${e.message}; stopped at line ${sending[0]?.line} of ${name} (${imported} events imported, ${failed} lines failed before it)`,
      );
    }
    for (const f of failures) report(f);
    imported += sending.length - failures.length;
    const share = fileBytes
      ? `, ${Math.min(100, Math.floor((bytesRead / fileBytes) * 100))}% of the file`
      : '';
    progress.update(imported, `${failed > 0 ? `, ${failed} failed` : ''}${share}`);
  };

  const input = file === '-' ? (run.stdin ?? process.stdin) : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  try {
    for await (const raw of lines) {
      lineNumber++;
      bytesRead += Buffer.byteLength(raw) + 1;
      if (run.signal.aborted) break;
      const text = raw.trim();
      if (text === '') continue;
      let pending: PendingEvent;
      try {
        pending = { line: lineNumber, event: parseImportLine(text) };
      } catch (e) {
        if (!(e instanceof ImportLineError)) throw e;
        report({ line: lineNumber, why: e.message });
        continue;
      }
      const event = pending.event;
      const first = batch[0]?.event;
      // A batch holds one specversion (the ingress's rule); a binary-mode event goes alone.
      if (
        event.mode === 'binary' ||
        (first?.mode === 'batch' && first.specversion !== event.specversion) ||
        batchBytes + text.length > BATCH_BYTES
      )
        await flush();
      batch.push(pending);
      batchBytes += text.length + 1;
      if (event.mode === 'binary' || batch.length >= batchLimit) await flush();
    }
    if (!run.signal.aborted) await flush();
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${name}: ${(e as Error).message}`);
  } finally {
    lines.close();
    progress.done();
    await agent.close();
  }
  if (run.signal.aborted)
    throw new CliError(
      `import interrupted after line ${lineNumber}: ${imported} events imported, ${failed} failed`,
    );
  output.err(
    `imported ${imported} events into ${options.namespace}/${broker}${failed > 0 ? `, ${failed} lines failed` : ''}`,
  );
  return failed > 0 ? EXIT_PROBLEMS : EXIT_OK;
}

/** The file's size; a usage error when it is missing or a directory. */
async function checkReadable(file: string): Promise<number> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`-f ${file}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (info.isDirectory())
    throw new UsageError(`-f ${file}: is a directory, expected a .jsonl file (or - for stdin)`);
  return info.size;
}

/** Waits so that, over the run, events go out at no more than `rate` per second. */
function pacer(rate: number): (events: number) => Promise<void> {
  const started = Date.now();
  let sent = 0;
  return async (events) => {
    const due = started + (sent / rate) * 1000;
    sent += events;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
  };
}
