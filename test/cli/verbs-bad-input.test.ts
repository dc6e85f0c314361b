/**
 * Bad input to every client verb, with the built CLI spawned as a user runs it (`node
 * packages/cli/dist/main.js`): each prints exactly one line on stderr starting with `eddy:`, nothing on
 * stdout, exits non-zero, and never shows a stack trace. None of these needs a running `eddy dev` (the
 * ones that do are in quickstart.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { MINIMAL_SEND_FLAGS } from '../../packages/cli/src/testing/send-flags.ts';
import { buildCli, type CliRun, expectOneLine, runEddy } from './helpers.ts';

let dir = '';
let dataDir = '';

function eddy(...args: string[]): Promise<CliRun> {
  return runEddy(args, { env: { ...process.env, EDDY_DATA_DIR: dataDir } });
}

beforeAll(async () => {
  buildCli();
  dir = await mkdtemp(join(tmpdir(), 'eddy-bad-input-'));
  dataDir = join(dir, 'data');
  await mkdir(dataDir);
  await writeFile(
    join(dir, 'broken.yaml'),
    'apiVersion: eventing.knative.dev/v1\nkind: Broker\nmetadata:\n  name: [b\n',
  );
  await writeFile(
    join(dir, 'invalid.yaml'),
    'apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata:\n  name: t\nspec:\n  broker: default\n',
  );
}, 180_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('no eddy dev running', () => {
  it.each([
    ['get', 'brokers'],
    ['describe', 'broker', 'default'],
    ['delete', 'trigger', 'orders'],
    ['apply', '-f', 'examples/quickstart/broker.yaml'],
    ['delete', '-f', 'examples/quickstart/triggers.yaml'],
    ['send', '--broker', 'default', '--type', 'com.example.t', '--source', '/s'],
    ['tail', 'default'],
    ['replay', 'default', '--from', '1h', '--trigger', 'orders'],
    ['tail', 'default', '--from', '1h'],
    ['events', 'export', 'default', '--from', '1h'],
    ['events', 'import', 'default', '-f', 'README.md'],
  ])('eddy %s ...: says so and how to start one', async (...args) => {
    expectOneLine(
      await eddy(...args),
      1,
      `eddy: no eddy dev is running for data dir ${dataDir} (start one with: eddy dev -f <dir> --data-dir ${dataDir})`,
    );
  });

  it('an admin.json left by a killed eddy dev (its pid is gone) is recognised as not running', async () => {
    const stale = join(dir, 'stale');
    await mkdir(stale);
    const dead = 2 ** 22 + 4242; // beyond Linux's default pid range
    await writeFile(
      join(stale, 'admin.json'),
      JSON.stringify({
        url: 'http://127.0.0.1:9',
        token: 'x',
        pid: dead,
        startedAt: new Date().toISOString(),
      }),
    );
    expectOneLine(
      await eddy('get', 'brokers', '--data-dir', stale),
      1,
      `eddy: no eddy dev is running for data dir ${stale} (admin.json names pid ${dead}, which has exited) (start one with: eddy dev -f <dir> --data-dir ${stale})`,
    );
  });
});

describe('mistakes caught before contacting the server', () => {
  it('unknown kinds, with a suggestion when it looks like a typo', async () => {
    expectOneLine(await eddy('get', 'brokr'), 2, 'eddy: unknown kind "brokr" (did you mean broker?)');
    expectOneLine(
      await eddy('describe', 'trigers', 'x'),
      2,
      'eddy: unknown kind "trigers" (did you mean triggers?)',
    );
    expectOneLine(
      await eddy('delete', 'deployment', 'x'),
      2,
      'eddy: unknown kind "deployment" (see `eddy get --help` for the kinds)',
    );
  });

  it('invalid YAML and invalid resources are located, and nothing is applied or deleted', async () => {
    expectOneLine(
      await eddy('apply', '-f', join(dir, 'broken.yaml')),
      1,
      new RegExp(`^eddy: nothing applied: ${dir}/broken.yaml:\\d+:\\d+: error: #0: YAML syntax error: `),
    );
    expectOneLine(
      await eddy('apply', '-f', join(dir, 'invalid.yaml')),
      1,
      new RegExp(
        `^eddy: nothing applied: ${dir}/invalid.yaml:\\d+:\\d+: error: #0 Trigger default/t: spec.subscriber: required field is missing$`,
      ),
    );
    expectOneLine(
      await eddy('delete', '-f', join(dir, 'broken.yaml')),
      1,
      new RegExp(`^eddy: nothing deleted: ${dir}/broken.yaml:\\d+:\\d+: error: #0: YAML syntax error: `),
    );
    expectOneLine(
      await eddy('apply', '-f', join(dir, 'none.yaml')),
      2,
      `eddy: no such file or directory: ${join(dir, 'none.yaml')}`,
    );
    expectOneLine(await eddy('apply'), 2, 'eddy: missing -f <file|dir>: say which manifests to apply');
  });

  it('missing or malformed arguments of get, describe, delete and send', async () => {
    expectOneLine(
      await eddy('get'),
      2,
      /^eddy: missing the kind: eddy get <kind> \[name\] \(kinds: broker, trigger, /,
    );
    expectOneLine(
      await eddy('get', 'brokers', '-o', 'table'),
      2,
      'eddy: unknown output format "table" for -o (expected yaml, json, wide)',
    );
    expectOneLine(await eddy('describe', 'broker'), 2, 'eddy: missing the name: eddy describe broker <name>');
    expectOneLine(await eddy('delete'), 2, 'eddy: missing what to delete: -f <file|dir> or <kind> <name>');
    expectOneLine(
      await eddy('send', '--type', 't', '--source', 's'),
      2,
      'eddy: missing --broker <name>: which broker to send the event to',
    );
    expectOneLine(
      await eddy('send', ...MINIMAL_SEND_FLAGS, '--data', '1', '--data-file', 'x'),
      2,
      'eddy: give either --data or --data-file, not both',
    );
    expectOneLine(
      await eddy('send', ...MINIMAL_SEND_FLAGS, '--data-file', join(dir, 'none.json')),
      2,
      `eddy: cannot read --data-file ${join(dir, 'none.json')}: ENOENT`,
    );
  });

  it('missing or malformed arguments of tail, and unknown options', async () => {
    expectOneLine(
      await eddy('tail'),
      2,
      'eddy: missing the broker: eddy tail <broker> [--from <time>] [--filter <cesql>]',
    );
    expectOneLine(
      await eddy('tail', 'default', '--filter', "type = 'a' AND AND"),
      2,
      'eddy: invalid --filter: expected an expression at column 16, found keyword AND',
    );
    expectOneLine(await eddy('get', 'brokers', '--bogus'), 2, "error: unknown option '--bogus'");
    expectOneLine(
      await eddy('tail', 'default', '--from', 'yesterday'),
      2,
      /^eddy: invalid --from "yesterday": expected an RFC 3339 time \(2026-12-01T10:00:00Z\) or a duration ago/,
    );
  });

  it('missing or malformed arguments of events export and import', async () => {
    expectOneLine(
      await eddy('events', 'export'),
      2,
      'eddy: missing the broker: eddy events export <broker> --from <time> [--to <time>] [-o <file>]',
    );
    expectOneLine(
      await eddy('events', 'export', 'default'),
      2,
      'eddy: missing --from (an RFC 3339 time or a duration ago, e.g. 1h): eddy events export <broker> --from <time> [--to <time>] [-o <file>]',
    );
    expectOneLine(
      await eddy('events', 'export', 'default', '--from', '2h', '--to', 'soon'),
      2,
      /^eddy: invalid --to "soon"/,
    );
    expectOneLine(
      await eddy('events', 'export', 'default', '--from', '1h', '--to', '2h'),
      2,
      /^eddy: --to \S+ is before --from \S+: nothing to export$/,
    );
    expectOneLine(
      await eddy('events', 'export', 'default', '--from', '2999-01-01T00:00:00Z'),
      2,
      'eddy: --from 2999-01-01T00:00:00.000Z is in the future: nothing to export yet',
    );
    expectOneLine(
      await eddy('events', 'export', 'Bad_Name', '--from', '1h'),
      2,
      /^eddy: invalid broker "Bad_Name": expected a lower-case name/,
    );
    expectOneLine(
      await eddy('events', 'export', 'default', '--from', '1h', '--filter', 'type ='),
      2,
      /^eddy: invalid --filter: /,
    );
    expectOneLine(
      await eddy('events', 'import', 'default'),
      2,
      'eddy: missing -f <file.jsonl|->: eddy events import <broker> -f <file.jsonl|-> [--rate <events/s>]',
    );
    expectOneLine(
      await eddy('events', 'import', 'default', '-f', join(dir, 'none.jsonl')),
      2,
      `eddy: -f ${join(dir, 'none.jsonl')}: no such file`,
    );
    expectOneLine(
      await eddy('events', 'import', 'default', '-f', dir),
      2,
      `eddy: -f ${dir}: is a directory, expected a .jsonl file (or - for stdin)`,
    );
    expectOneLine(
      await eddy('events', 'import', 'default', '-f', '-', '--rate', 'fast'),
      2,
      'eddy: invalid --rate "fast": expected events per second, a number above 0',
    );
    expectOneLine(
      await eddy('events', 'bogus'),
      2,
      'eddy: unknown command "events bogus": expected export or import',
    );
    expectOneLine(
      await eddy('events'),
      2,
      /^eddy: missing what to do: eddy events export <broker> .*, or eddy events import <broker> /,
    );
  });
});

/** A `node` on PATH older than 22.5 (the machine's preinstalled one), if there is one. */
function oldNode(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, 'node');
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
      if (major < 22 || (major === 22 && minor < 5)) return candidate;
    } catch {
      // not there, or not runnable
    }
  }
  return undefined;
}

describe('an old Node.js', () => {
  const node = oldNode();
  it.skipIf(node === undefined)(
    'gets one line saying which Node eddy needs and how to get it (skipped: no node < 22.5 on PATH)',
    async () => {
      const r = await runEddy(['get', 'brokers'], { node: node as string });
      expectOneLine(
        r,
        2,
        /^eddy: needs Node\.js 24 \(>= 22\.5 for node:sqlite\), this is v\d+\.\d+\.\d+; run \.\/eddy/,
      );
    },
  );
});
