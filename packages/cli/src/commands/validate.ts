import { access } from 'node:fs/promises';
import { type DocumentReport, formatProblem, hasErrors, type LoadResult, loadPaths } from '@eddy/api';
import type { Command } from 'commander';
import type { Output } from '../output.js';
import { EXIT_OK, EXIT_PROBLEMS, UsageError } from '../usage-error.js';
import { collect } from '../verb.js';

export interface ValidateOptions {
  file: string[];
  stripPlaceholders?: boolean;
}

const STATUS_WORD: Record<DocumentReport['status'], string> = {
  ok: 'ok  ',
  invalid: 'FAIL',
  unsupported: 'skip',
  ignored: 'skip',
  fragment: 'FAIL',
  unparsable: 'FAIL',
};

function describe(d: DocumentReport): string {
  const who = d.kind
    ? `${d.kind}${d.name ? ` ${d.namespace ? `${d.namespace}/` : ''}${d.name}` : ''}`
    : '(not parsed)';
  const why =
    d.status === 'unsupported'
      ? '  (not supported by Eddy yet)'
      : d.status === 'ignored'
        ? '  (not an Eddy resource)'
        : d.status === 'fragment'
          ? '  (documentation fragment)'
          : '';
  return `${STATUS_WORD[d.status]}  ${d.origin.file}#${d.origin.document}  ${who}${why}`;
}

/** Renders a load result: every problem, then one line per document, then a total. */
export function renderValidation(result: LoadResult, output: Output): number {
  for (const p of result.problems) output.out(formatProblem(p));
  for (const d of result.documents) output.out(describe(d));
  const errors = result.problems.filter((p) => p.severity === 'error').length;
  const warnings = result.problems.length - errors;
  const valid = result.documents.filter((d) => d.status === 'ok').length;
  const files = `${result.files.length} file${result.files.length === 1 ? '' : 's'}`;
  const warn = warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : '';
  if (hasErrors(result)) {
    output.out(`${errors} error${errors === 1 ? '' : 's'}${warn} in ${files}`);
    return EXIT_PROBLEMS;
  }
  output.out(`${valid} resource${valid === 1 ? '' : 's'} valid in ${files}${warn}`);
  return EXIT_OK;
}

export async function runValidate(options: ValidateOptions, output: Output): Promise<number> {
  const files = options.file ?? [];
  if (files.length === 0) throw new UsageError('missing -f <file|dir>: say which manifests to validate');
  for (const f of files) {
    try {
      await access(f);
    } catch {
      throw new UsageError(`no such file or directory: ${f}`);
    }
  }
  const result = await loadPaths(files, { stripPlaceholders: options.stripPlaceholders ?? false });
  return renderValidation(result, output);
}

export function registerValidate(program: Command, output: Output, setExit: (code: number) => void): void {
  program
    .command('validate')
    .description(
      'check manifests (files or directories, recursively) and print every problem with its location',
    )
    .option('-f, --file <file|dir>', 'a YAML file or a directory of them (repeatable)', collect, [])
    .option('--strip-placeholders', 'blank out "..." documentation lines and validate the rest', false)
    .action(async (opts: ValidateOptions) => {
      setExit(await runValidate(opts, output));
    });
}
