import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { AdminClient } from '../admin/client.js';
import type { AppliedItem, ApplyRequest, ApplyResponse } from '../admin/protocol.js';
import { kindRef } from '../format/kind-ref.js';
import { readManifests, refuseOnErrors, STDIN_NAME } from '../manifests.js';
import type { Output } from '../output.js';
import { EXIT_OK } from '../usage-error.js';
import { collect, runVerb, type ServerOptions, withServerOptions } from '../verb.js';

export interface ApplyOptions extends ServerOptions {
  file: string[];
}

/** `trigger.eventing.knative.dev/orders created`, kubectl's line (with the namespace when not default). */
export function appliedLine(item: AppliedItem): string {
  const ns = item.namespace && item.namespace !== 'default' ? ` -n ${item.namespace}` : '';
  return `${kindRef(item.kind)}/${item.name} ${item.action}${ns}`;
}

export async function runApply(options: ApplyOptions, output: Output): Promise<number> {
  const manifests = await readManifests(options.file ?? [], 'apply');
  refuseOnErrors(manifests.problems, 'applied');
  const client = await AdminClient.connect(options);
  for (const m of manifests.files) {
    if (m.documents === 0) continue;
    // Relative paths in the manifests are the file's (stdin: the current directory's), wherever eddy dev runs.
    const baseDir = m.file === STDIN_NAME ? process.cwd() : dirname(resolve(m.file));
    const req: ApplyRequest = { text: m.text, file: m.file, baseDir };
    const res = await client.post<ApplyResponse>('/v1/apply', req);
    for (const w of res.warnings ?? []) output.err(`warning: ${w}`);
    for (const item of res.items ?? []) output.out(appliedLine(item));
  }
  return EXIT_OK;
}

export function registerApply(program: Command, output: Output, setExit: (code: number) => void): void {
  withServerOptions(
    program
      .command('apply')
      .description(
        'create or update the resources in YAML files (checked first: nothing is applied if one is invalid)',
      )
      .option(
        '-f, --file <file|dir|->',
        'a YAML file, a directory of them, or - for stdin (repeatable)',
        collect,
        [],
      ),
  ).action((opts: ApplyOptions) => runVerb(output, setExit, () => runApply(opts, output)));
}
