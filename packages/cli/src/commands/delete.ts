import type { Command } from 'commander';
import { AdminClient, resourcePath } from '../admin/client.js';
import type { ApplyRequest, DeleteResponse } from '../admin/protocol.js';
import { kindRef } from '../format/kind-ref.js';
import { readManifests, refuseOnErrors } from '../manifests.js';
import type { Output } from '../output.js';
import { EXIT_OK, EXIT_PROBLEMS, UsageError } from '../usage-error.js';
import {
  clientVerb,
  collect,
  inNamespace,
  isNotFound,
  kindArgument,
  type NamespaceOptions,
  nameArgument,
  notFoundMessage,
  runVerb,
  type ServerOptions,
} from '../verb.js';

export interface DeleteOptions extends ServerOptions, NamespaceOptions {
  file: string[];
  ignoreNotFound?: boolean;
}

// Problems that make a file unreadable as objects; a spec error does not stop a delete (kubectl agrees).
const UNREADABLE = new Set(['io', 'yaml-syntax', 'placeholder', 'not-an-object', 'missing-type']);

export async function runDelete(
  args: readonly string[],
  options: DeleteOptions,
  output: Output,
): Promise<number> {
  const files = options.file ?? [];
  if (files.length > 0 && args.length > 0) {
    throw new UsageError('give either -f <file|dir> or <kind> <name>, not both');
  }
  if (files.length === 0) {
    if (args.length === 0) throw new UsageError('missing what to delete: -f <file|dir> or <kind> <name>');
    if (args.length === 1)
      throw new UsageError(`missing the name of the ${args[0]} to delete: eddy delete <kind> <name>`);
    const kind = kindArgument(args[0]!);
    const names = args.slice(1).map((n) => nameArgument(kind.toLowerCase(), n));
    const client = await AdminClient.connect(options);
    let code = EXIT_OK;
    for (const name of names) {
      try {
        await client.delete<DeleteResponse>(resourcePath('/v1/resources', kind, options.namespace, name));
        output.out(`${kindRef(kind)} "${name}" deleted${inNamespace(options.namespace)}`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
        if (options.ignoreNotFound) continue;
        output.err(`eddy: ${notFoundMessage(kind, name, options.namespace)}`);
        code = EXIT_PROBLEMS;
      }
    }
    return code;
  }
  const manifests = await readManifests(files, 'delete');
  refuseOnErrors(
    manifests.problems.filter((p) => UNREADABLE.has(p.code)),
    'deleted',
  );
  const client = await AdminClient.connect(options);
  let code = EXIT_OK;
  for (const m of manifests.files) {
    if (m.documents === 0) continue;
    const req: ApplyRequest = { text: m.text, file: m.file };
    const res = await client.post<DeleteResponse>('/v1/delete', req);
    for (const w of res.warnings ?? []) output.err(`warning: ${w}`);
    for (const item of res.items ?? []) {
      const what = `${kindRef(item.kind)} "${item.name}"`;
      if (item.action === 'not found') {
        if (options.ignoreNotFound) continue;
        output.err(`eddy: ${what} not found${inNamespace(item.namespace)}`);
        code = EXIT_PROBLEMS;
      } else {
        output.out(`${what} deleted${inNamespace(item.namespace)}`);
      }
    }
  }
  return code;
}

export function registerDelete(program: Command, output: Output, setExit: (code: number) => void): void {
  clientVerb(program, 'delete', (c) =>
    c
      .description('delete the resources in YAML files, or resources by kind and name')
      .argument('[kind]', 'kind, as kubectl names it: trigger, triggers, ksvc, ...')
      .argument('[names...]', 'names of the resources to delete')
      .option(
        '-f, --file <file|dir|->',
        'a YAML file, a directory of them, or - for stdin (repeatable)',
        collect,
        [],
      )
      .option('--ignore-not-found', 'do not fail when a resource does not exist', false),
  ).action((kind: string | undefined, names: string[], opts: DeleteOptions) =>
    runVerb(output, setExit, () => runDelete(kind === undefined ? [] : [kind, ...names], opts, output)),
  );
}
