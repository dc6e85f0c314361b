// Reading `-f <file|dir|->` for apply and delete: the same loader as `eddy validate`, so a file is
// checked (and every problem located) before anything is sent to the server.

import { access, readFile } from 'node:fs/promises';
import { formatProblem, type LoadResult, loadPaths, loadText, type Problem } from '@eddy/api';
import { CliError } from './cli-error.js';
import { UsageError } from './usage-error.js';

export interface ManifestFile {
  /** As the user named it (or `<stdin>`), used in error locations. */
  file: string;
  text: string;
  /** Documents in the file that are objects with apiVersion and kind. */
  documents: number;
}

export interface Manifests {
  files: ManifestFile[];
  problems: Problem[];
}

export const STDIN_NAME = '<stdin>';

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Loads and checks every file; directories recursively (`*.yaml`, `*.yml`); `-` reads stdin. */
export async function readManifests(
  paths: readonly string[],
  verb: string,
  stdin: NodeJS.ReadableStream = process.stdin,
): Promise<Manifests> {
  if (paths.length === 0) throw new UsageError(`missing -f <file|dir>: say which manifests to ${verb}`);
  const onDisk = paths.filter((p) => p !== '-');
  for (const f of onDisk) {
    try {
      await access(f);
    } catch {
      throw new UsageError(`no such file or directory: ${f}`);
    }
  }
  const result: LoadResult = await loadPaths(onDisk);
  const files: ManifestFile[] = [];
  for (const file of result.files) {
    const documents = result.documents.filter((d) => d.origin.file === file && d.kind !== undefined).length;
    files.push({ file, text: await readFile(file, 'utf8'), documents });
  }
  const problems = [...result.problems];
  if (paths.includes('-')) {
    const text = await readStdin(stdin);
    const loaded = loadText(text, STDIN_NAME);
    problems.push(...loaded.problems);
    files.push({
      file: STDIN_NAME,
      text,
      documents: loaded.documents.filter((d) => d.kind !== undefined).length,
    });
  }
  return { files, problems };
}

/** Throws one CliError listing `problems` (those that are errors) with `nothing <verb>` in front. */
export function refuseOnErrors(problems: readonly Problem[], verbPast: string): void {
  const errors = problems.filter((p) => p.severity === 'error');
  if (errors.length === 0) return;
  if (errors.length === 1) throw new CliError(`nothing ${verbPast}: ${formatProblem(errors[0]!)}`);
  throw new CliError(
    `nothing ${verbPast}: ${errors.length} errors in the manifests`,
    errors.map((p) => formatProblem(p)),
  );
}
