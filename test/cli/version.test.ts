/**
 * `eddy --version` and `eddy version` with the built CLI, run from a directory outside the repository
 * (the version is read from @eddy/cli's package.json beside dist/, not from the working directory).
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, ROOT, runEddy } from './helpers.ts';

const { version } = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as {
  version: string;
};

beforeAll(() => buildCli(), 180_000);

describe('eddy version', () => {
  it.each([['--version'], ['version'], ['-V']])(
    'eddy %s: the version and the Node it runs on',
    async (arg) => {
      expect(await runEddy([arg], { cwd: tmpdir() })).toEqual({
        code: 0,
        stdout: `eddy ${version} (node ${process.version})\n`,
        stderr: '',
      });
    },
  );
});
