import { kindNamesText } from '@eddy/api';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { AdminClient, resourcePath } from '../admin/client.js';
import type { ResourceList, StoredResource } from '../admin/protocol.js';
import { type ColumnContext, columnsFor, serviceReplicas } from '../format/columns.js';
import { renderTable } from '../format/table.js';
import type { Output } from '../output.js';
import { EXIT_OK, EXIT_PROBLEMS, UsageError } from '../usage-error.js';
import {
  clientVerb,
  isNotFound,
  kindArgument,
  type NamespaceOptions,
  nameArgument,
  notFoundMessage,
  runVerb,
  type ServerOptions,
} from '../verb.js';

export type GetFormat = 'table' | 'wide' | 'json' | 'yaml';

export interface GetOptions extends ServerOptions, NamespaceOptions {
  allNamespaces?: boolean;
  output?: string;
}

/** `-o` value: `fallback` when absent, else one of `allowed`. */
export function parseFormat(value: string | undefined, fallback: string, allowed: readonly string[]): string {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) {
    throw new UsageError(`unknown output format "${value}" for -o (expected ${allowed.join(', ')})`);
  }
  return value;
}

/** Renders resources as `eddy get` prints them; a list in json/yaml is `{items: [...]}`. */
export function renderResources(
  kind: string,
  resources: readonly StoredResource[],
  format: GetFormat,
  options: { allNamespaces: boolean; single: boolean; context: ColumnContext },
): string[] {
  if (format === 'json') {
    const value = options.single ? resources[0] : { items: resources };
    return [JSON.stringify(value, null, 2)];
  }
  if (format === 'yaml') {
    const value = options.single ? resources[0] : { items: resources };
    return [stringify(value).trimEnd()];
  }
  const columns = columnsFor(kind, {
    wide: format === 'wide',
    allNamespaces: options.allNamespaces,
    rows: resources,
  });
  return renderTable(
    columns.map((c) => c.header),
    resources.map((r) => columns.map((c) => c.value(r, options.context))),
  );
}

const byNamespaceAndName = (a: StoredResource, b: StoredResource) =>
  a.metadata.namespace.localeCompare(b.metadata.namespace) || a.metadata.name.localeCompare(b.metadata.name);

export async function runGet(
  kindTyped: string | undefined,
  names: readonly string[],
  options: GetOptions,
  output: Output,
  now: () => number = Date.now,
): Promise<number> {
  if (kindTyped === undefined) {
    throw new UsageError(`missing the kind: eddy get <kind> [name] (kinds: ${kindNamesText()})`);
  }
  const kind = kindArgument(kindTyped);
  const format = parseFormat(options.output, 'table', ['yaml', 'json', 'wide']) as GetFormat;
  for (const n of names) nameArgument(kind.toLowerCase(), n);
  if (options.allNamespaces && names.length > 0) {
    throw new UsageError(
      'a resource cannot be fetched by name across all namespaces (drop -A, or use -n <ns>)',
    );
  }
  const client = await AdminClient.connect(options);
  const ns = options.namespace;
  let resources: StoredResource[] = [];
  let code = EXIT_OK;
  if (names.length > 0) {
    for (const name of names) {
      try {
        resources.push(await client.get<StoredResource>(resourcePath('/v1/resources', kind, ns, name)));
      } catch (e) {
        if (!isNotFound(e)) throw e;
        output.err(`eddy: ${notFoundMessage(kind, name, ns)}`);
        code = EXIT_PROBLEMS;
      }
    }
    if (resources.length === 0) return code;
  } else {
    const query = new URLSearchParams({ kind });
    if (!options.allNamespaces) query.set('namespace', ns);
    const list = await client.get<ResourceList>(`/v1/resources?${query}`);
    resources = [...(list.items ?? [])].sort(byNamespaceAndName);
    if (resources.length === 0 && (format === 'table' || format === 'wide')) {
      output.err(options.allNamespaces ? 'No resources found' : `No resources found in ${ns} namespace.`);
      return EXIT_OK;
    }
  }
  const context: ColumnContext = { now: now() };
  if (kind === 'Service' && (format === 'table' || format === 'wide')) {
    const query = new URLSearchParams({ kind: 'Revision' });
    if (!options.allNamespaces) query.set('namespace', ns);
    const revisions = await client.get<ResourceList>(`/v1/resources?${query}`);
    context.replicas = serviceReplicas(revisions.items ?? []);
  }
  const lines = renderResources(kind, resources, format, {
    allNamespaces: options.allNamespaces ?? false,
    single: names.length === 1,
    context,
  });
  for (const line of lines) output.out(line);
  return code;
}

export function registerGet(program: Command, output: Output, setExit: (code: number) => void): void {
  clientVerb(program, 'get', (c) =>
    c
      .description('list resources of a kind, or show some by name, with their Ready condition')
      .argument('[kind]', `kind, as kubectl names it (${kindNamesText()}; plurals too)`)
      .argument('[names...]', 'names of resources to show (default: all in the namespace)')
      .option('-A, --all-namespaces', 'list across every namespace', false)
      .option('-o, --output <format>', 'yaml, json or wide (default: a table)'),
  ).action((kind: string | undefined, names: string[], opts: GetOptions) =>
    runVerb(output, setExit, () => runGet(kind, names, opts, output)),
  );
}
