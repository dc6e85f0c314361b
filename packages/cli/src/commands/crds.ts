import { customResourceDefinitions } from '@eddy/api';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import type { Output } from '../output.js';
import { EXIT_OK } from '../usage-error.js';

/** The CRDs as one multi-document YAML stream, for `eddy crds | kubectl apply --server-side -f -`. */
export function crdsYaml(): string {
  // No aliases: kubectl's YAML decoder accepts them, but a reader (and `kubectl diff`) should see each
  // CRD whole; no line folding, so long CEL rules and JSONPaths stay on one line.
  return customResourceDefinitions()
    .map((crd) => `---\n${stringify(crd, { aliasDuplicateObjects: false, lineWidth: 0 })}`)
    .join('');
}

export function registerCrds(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('crds')
    .description(
      "print the CustomResourceDefinitions of Eddy's kinds (Knative's groups and Eddy's) as YAML, for `kubectl apply --server-side -f -`",
    )
    .action(() => {
      output.out(crdsYaml().trimEnd());
      setExit(EXIT_OK);
    });
}
