// What the client verbs (apply, delete, get, describe, send, tail) share: the options that find the
// server and the namespace, and the one place that turns a CliError into `eddy: <line>` + exit code.

import { resolveKindName } from '@eddy/api';
import type { Command } from 'commander';
import { CliError } from './cli-error.js';
import type { Output } from './output.js';
import { UsageError } from './usage-error.js';

export interface ServerOptions {
  dataDir?: string;
}

export interface NamespaceOptions {
  namespace: string;
}

export const DEFAULT_NAMESPACE = 'default';

/** Commander accumulator for repeatable options. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function withServerOptions(command: Command): Command {
  return command.option(
    '--data-dir <dir>',
    'data dir of the eddy dev to talk to (default: $EDDY_DATA_DIR, else .eddy)',
  );
}

export function withNamespaceOption(command: Command): Command {
  return command.option('-n, --namespace <ns>', 'namespace', DEFAULT_NAMESPACE);
}

/** Runs a verb's body: its return value is the exit code; a CliError becomes one line on stderr. */
export async function runVerb(
  output: Output,
  setExit: (code: number) => void,
  body: () => Promise<number>,
): Promise<void> {
  try {
    setExit(await body());
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    output.err(`eddy: ${e.message}`);
    for (const line of e.details) output.err(line);
    setExit(e.exitCode);
  }
}

/** A kind typed on the command line (`ksvc`, `triggers`, ...) to its Kind, or a one-line usage error. */
export function kindArgument(typed: string): string {
  const r = resolveKindName(typed);
  if (!r.ok) throw new UsageError(r.message);
  return r.definition.kind;
}

/** Kubernetes object names: what the admin API will accept in a path, checked before asking it. */
export function nameArgument(what: string, name: string): string {
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
    throw new UsageError(
      `invalid ${what} "${name}": expected a lower-case name (letters, digits, '-', '.'), such as my-${what}`,
    );
  }
  return name;
}
