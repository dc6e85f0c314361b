import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Output } from '../output.js';
import { run } from '../program.js';
import { CLI_VERSION, versionLine } from '../version.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

async function eddy(...argv: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const output: Output = { out: (l) => stdout.push(l), err: (l) => stderr.push(l) };
  const code = await run(argv, output);
  return { code, stdout, stderr };
}

describe('eddy version', () => {
  it("is @eddy/cli's package.json version", () => {
    expect(CLI_VERSION).toBe(pkg.version);
    expect(versionLine('v24.0.1')).toBe(`eddy ${pkg.version} (node v24.0.1)`);
  });

  it.each([['version'], ['--version'], ['-V']])(
    'eddy %s prints the version and the Node it runs on, exit 0',
    async (arg) => {
      expect(await eddy(arg)).toEqual({
        code: 0,
        stdout: [`eddy ${pkg.version} (node ${process.version})`],
        stderr: [],
      });
    },
  );

  it('eddy version takes no arguments', async () => {
    const r = await eddy('version', 'extra');
    expect(r.code).toBe(2);
    expect(r.stdout).toEqual([]);
    expect(r.stderr.join('\n')).toMatch(/too many arguments/);
  });
});
