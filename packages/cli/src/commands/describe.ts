import type { Command } from 'commander';
import { AdminClient, resourcePath } from '../admin/client.js';
import type { DescribeResponse } from '../admin/protocol.js';
import { renderDescribe } from '../format/describe-text.js';
import type { Output } from '../output.js';
import { EXIT_OK, UsageError } from '../usage-error.js';
import {
  clientVerb,
  kindArgument,
  type NamespaceOptions,
  nameArgument,
  notFoundMessage,
  rethrowNotFound,
  runVerb,
  type ServerOptions,
} from '../verb.js';

export type DescribeOptions = ServerOptions & NamespaceOptions;

export async function runDescribe(
  kindTyped: string | undefined,
  name: string | undefined,
  options: DescribeOptions,
  output: Output,
  now: () => number = Date.now,
): Promise<number> {
  if (kindTyped === undefined) throw new UsageError('missing the kind: eddy describe <kind> <name>');
  const kind = kindArgument(kindTyped);
  if (name === undefined) throw new UsageError(`missing the name: eddy describe ${kindTyped} <name>`);
  nameArgument(kind.toLowerCase(), name);
  const client = await AdminClient.connect(options);
  const ns = options.namespace;
  let d: DescribeResponse;
  try {
    d = await client.get<DescribeResponse>(resourcePath('/v1/describe', kind, ns, name));
  } catch (e) {
    rethrowNotFound(e, notFoundMessage(kind, name, ns));
  }
  for (const line of renderDescribe({ ...d, events: d.events ?? [] }, now())) output.out(line);
  return EXIT_OK;
}

export function registerDescribe(program: Command, output: Output, setExit: (code: number) => void): void {
  clientVerb(program, 'describe', (c) =>
    c
      .description(
        'show one resource in detail: status, conditions, addresses, recent events, autoscaler decisions',
      )
      .argument('[kind]', 'kind, as kubectl names it: broker, trigger, ksvc, revision, ...')
      .argument('[name]', 'name of the resource'),
  ).action((kind: string | undefined, name: string | undefined, opts: DescribeOptions) =>
    runVerb(output, setExit, () => runDescribe(kind, name, opts, output)),
  );
}
