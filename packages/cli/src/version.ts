// The CLI's version, read once from packages/cli/package.json (one level above both src/ and dist/),
// and the line `eddy version` / `eddy --version` print.

import { readFileSync } from 'node:fs';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** The version of the `eddy` command (@eddy/cli's package.json). */
export const CLI_VERSION = readVersion();

/** `eddy 0.1.0 (node v24.1.0)`: the version and the Node.js that runs it. */
export function versionLine(nodeVersion: string = process.version): string {
  return `eddy ${CLI_VERSION} (node ${nodeVersion})`;
}
