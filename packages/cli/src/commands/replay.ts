// `eddy replay <broker> --from ... <target>`: creates a Replay (never overwrites one) through the admin
// API and, unless --no-wait, follows it to the end. Ctrl-C while following asks on a terminal whether
// to cancel (delete) it; without one (a script, CI) it leaves the replay running, like --no-wait.

import type { Command } from 'commander';
import { AdminClient, AdminRequestError, resourcePath } from '../admin/client.js';
import type { ApplyRequest, ApplyResponse, StoredResource } from '../admin/protocol.js';
import { CliError } from '../cli-error.js';
import { replayCountLines, replayDuration, succeededCondition } from '../format/replay-progress.js';
import type { Output } from '../output.js';
import { processTerminal } from '../terminal.js';
import { EXIT_OK, EXIT_PROBLEMS, UsageError } from '../usage-error.js';
import {
  brokerNotFoundMessage,
  clientVerb,
  collect,
  inNamespace,
  isNotFound,
  type NamespaceOptions,
  rethrowNotFound,
  runVerb,
  type ServerOptions,
} from '../verb.js';
import { appliedLine } from './apply.js';
import { buildReplay, type ReplayFlags } from './replay-spec.js';
import { type FollowOptions, followReplay, statusOf } from './replay-wait.js';

export interface ReplayOptions extends ServerOptions, NamespaceOptions, ReplayFlags {
  /** false with --no-wait. */
  wait?: boolean;
}

export interface ReplayRun extends FollowOptions {
  now?: () => number;
}

const nsFlag = (ns: string) => (inNamespace(ns) === '' ? '' : ` -n ${ns}`);

/** How to look at or stop a replay this command no longer follows. */
export function followHint(name: string, ns: string): string {
  return `follow it with: eddy describe replay ${name}${nsFlag(ns)} (cancel it with: eddy delete replay ${name}${nsFlag(ns)})`;
}

/** The broker and the Triggers named exist, and the Triggers are the broker's: said now, not as a failed replay. */
async function checkTargets(client: AdminClient, broker: string, triggers: readonly string[], ns: string) {
  try {
    await client.get(resourcePath('/v1/resources', 'Broker', ns, broker));
  } catch (e) {
    rethrowNotFound(e, brokerNotFoundMessage(broker, ns));
  }
  for (const t of triggers) {
    let trigger: StoredResource;
    try {
      trigger = await client.get<StoredResource>(resourcePath('/v1/resources', 'Trigger', ns, t));
    } catch (e) {
      rethrowNotFound(e, `trigger "${t}" not found${inNamespace(ns)} (see: eddy get triggers${nsFlag(ns)})`);
    }
    const on = (trigger.spec as { broker?: unknown } | undefined)?.broker;
    if (on !== broker) throw new CliError(`trigger "${t}" is on broker "${String(on)}", not "${broker}"`);
  }
}

/** What the finished replay did: the counts on stdout, a failure on stderr; the exit code. */
function report(resource: StoredResource, output: Output): number {
  const name = resource.metadata.name;
  const status = statusOf(resource);
  const succeeded = succeededCondition(status);
  const took = replayDuration(status);
  const counts = () => {
    for (const line of replayCountLines(status)) output.out(`  ${line}`);
  };
  if (succeeded?.status === 'False') {
    const why = succeeded.message ?? succeeded.reason ?? 'no reason given';
    output.err(`eddy: replay ${name} failed${took ? ` after ${took}` : ''}: ${why}`);
    // A replay that failed before it started has nothing to count.
    if (typeof status?.total === 'number') counts();
    return EXIT_PROBLEMS;
  }
  if ((resource.spec as { dryRun?: boolean } | undefined)?.dryRun) {
    output.out(
      `dry run: would replay ${status?.matched ?? 0} events (matched, of ${status?.total ?? 0} in the window; ${status?.skipped ?? 0} skipped)`,
    );
    return EXIT_OK;
  }
  output.out(`replay ${name} completed${took ? ` in ${took}` : ''}`);
  counts();
  if ((status?.failed ?? 0) > 0)
    output.err(`warning: ${status?.failed} deliveries failed with no dead-letter sink to take them`);
  return EXIT_OK;
}

export async function runReplay(
  broker: string | undefined,
  options: ReplayOptions,
  output: Output,
  run: ReplayRun,
): Promise<number> {
  if (broker === undefined)
    throw new UsageError(
      'missing the broker: eddy replay <broker> --from <time> (--trigger <name> | --to-uri <url> | --to-ref <kind>/<name>)',
    );
  const ns = options.namespace;
  const replay = buildReplay(broker, options, ns, (run.now ?? Date.now)());
  const name = replay.metadata.name ?? '';
  const client = await AdminClient.connect(options);
  await checkTargets(client, broker, replay.spec.target.triggers ?? [], ns);

  const request: ApplyRequest = { text: JSON.stringify(replay), file: '<eddy replay>', create: true };
  let created: ApplyResponse;
  try {
    created = await client.post<ApplyResponse>('/v1/apply', request);
  } catch (e) {
    if (e instanceof AdminRequestError && e.status === 409)
      throw new CliError(
        `replay "${name}" already exists${inNamespace(ns)} (see: eddy describe replay ${name}${nsFlag(ns)}; pick another --name)`,
      );
    throw e;
  }
  for (const w of created.warnings ?? []) output.err(`warning: ${w}`);
  for (const item of created.items ?? []) output.out(appliedLine(item));
  if (options.wait === false) {
    output.err(followHint(name, ns));
    return EXIT_OK;
  }

  const path = resourcePath('/v1/resources', 'Replay', ns, name);
  const outcome = await followReplay(
    {
      fetch: () =>
        client.get<StoredResource>(path).catch((e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        }),
    },
    output,
    run,
  );
  if (outcome.outcome === 'finished') return report(outcome.resource, output);
  if (outcome.outcome === 'gone') throw new CliError(`replay "${name}" was deleted while it ran (cancelled)`);
  // SIGTERM is a process manager stopping us, not a person: nobody to ask.
  if (run.terminal.interactive && run.interrupted.reason !== 'SIGTERM') {
    const answer = await run.terminal.ask('Cancel the replay? [y/N] ');
    if (/^y(es)?$/i.test(answer.trim())) {
      await client.delete(path).catch((e: unknown) => {
        if (!isNotFound(e)) throw e;
      });
      throw new CliError(`replay "${name}" cancelled (deleted)`);
    }
  }
  output.err(`replay ${name} keeps running; ${followHint(name, ns)}`);
  return EXIT_OK;
}

export function registerReplay(program: Command, output: Output, setExit: (code: number) => void): void {
  clientVerb(program, 'replay', (c) =>
    c
      .description(
        "re-deliver a time window of a broker's events through some of its triggers, or to one destination",
      )
      .argument('[broker]', 'the broker whose events are replayed')
      .option('--from <time>', 'start of the window: an RFC 3339 time or a duration ago (2h, 90m, 1d)')
      .option('--to <time>', 'end of the window, exclusive (default: when the replay starts)')
      .option(
        '--trigger <name>',
        'replay through this trigger (its filter and subscriber; repeatable)',
        collect,
        [],
      )
      .option('--to-uri <url>', 'or deliver every event of the window to this URL')
      .option('--to-ref <kind>/<name>', 'or to this addressable, such as ksvc/display')
      .option('--filter <cesql>', 'only events matching a CloudEvents SQL expression')
      .option('--rate <n>', 'at most n events per second')
      .option('--dry-run', 'count what would be replayed, deliver nothing', false)
      .option('--name <name>', 'name of the Replay (default: <broker>-replay-<yyyymmdd-hhmmss>)')
      .option('--no-wait', 'create it and return; do not follow its progress'),
  ).action((broker: string | undefined, opts: ReplayOptions) => {
    const stop = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => stop.abort(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const run: ReplayRun = { interrupted: stop.signal, terminal: processTerminal() };
    return runVerb(output, setExit, () => runReplay(broker, opts, output, run)).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  });
}
