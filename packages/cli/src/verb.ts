// What the client verbs (apply, delete, get, describe, send, tail) share: the options that find the
// server and the namespace, the one place that turns a CliError into `eddy: <line>` + exit code, and
// the wording of "not found" answers from the admin API.

import { resolveKindName } from '@eddy/api';
import type { Command } from 'commander';
import { AdminRequestError } from './admin/client.js';
import { CliError } from './cli-error.js';
import { kindRef } from './format/kind-ref.js';
import type { Output } from './output.js';
import { UsageError } from './usage-error.js';

export interface ServerOptions {
  dataDir?: string;
  server?: string;
}

export interface NamespaceOptions {
  namespace: string;
}

export const DEFAULT_NAMESPACE = 'default';

/** Commander accumulator for repeatable options. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function withServerOptions(command: Command): Command {
  return command
    .option('--data-dir <dir>', 'data dir of the eddy dev to talk to (default: $EDDY_DATA_DIR, else .eddy)')
    .option(
      '--server <url>',
      "another admin API to talk to, e.g. eddy controller's (default: $EDDY_SERVER; token from $EDDY_ADMIN_TOKEN)",
    );
}

export function withNamespaceOption(command: Command): Command {
  return command.option('-n, --namespace <ns>', 'namespace', DEFAULT_NAMESPACE);
}

/**
 * A verb that talks to a namespace of `eddy dev`: `configure` gives it its description, arguments and
 * own options; `-n/--namespace` and `--data-dir` follow them (in that order in --help).
 */
export function clientVerb(
  program: Command,
  name: string,
  configure: (command: Command) => Command,
): Command {
  return withServerOptions(withNamespaceOption(configure(program.command(name))));
}

/** Whether the admin API answered 404 (no such resource). */
export function isNotFound(e: unknown): boolean {
  return e instanceof AdminRequestError && e.status === 404;
}

/** ` in namespace prod`, or nothing for the default namespace (as kubectl says it). */
export const inNamespace = (ns: string) => (ns === DEFAULT_NAMESPACE ? '' : ` in namespace ${ns}`);

/** `Trigger "orders" not found in namespace prod` */
export function notFoundMessage(kind: string, name: string, ns: string): string {
  return `${kindRef(kind)} "${name}" not found${inNamespace(ns)}`;
}

/** A 404 from the admin API becomes a CliError saying `message`; anything else is rethrown. */
export function rethrowNotFound(e: unknown, message: string): never {
  if (isNotFound(e)) throw new CliError(message);
  throw e;
}

/** For the verbs that address a broker by name (send, tail). */
export function brokerNotFoundMessage(name: string, ns: string): string {
  return `broker "${name}" not found in namespace ${ns} (see: eddy get brokers -A)`;
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
