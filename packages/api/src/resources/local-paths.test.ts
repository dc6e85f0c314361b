import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveContainerPaths, resolveLocalPaths } from './local-paths.js';

// A manifest directory as a project has one: services next to the YAML.
const base = mkdtempSync(join(tmpdir(), 'eddy-local-paths-'));
mkdirSync(join(base, 'services'));
mkdirSync(join(base, 'data'));
writeFileSync(join(base, 'services', 'display.mjs'), '');
writeFileSync(join(base, 'config.json'), '{}');
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('resolveContainerPaths', () => {
  it('runs the process in the manifest directory and makes the files it names absolute', () => {
    expect(
      resolveContainerPaths(
        {
          name: 'display',
          command: ['node', 'services/display.mjs'],
          args: ['--config', 'config.json', 'data', 'no-such-file', '-v', '--out=data', 'http://x/y', ''],
          env: [{ name: 'A', value: 'services/display.mjs' }],
        },
        { baseDir: base },
      ),
    ).toEqual({
      name: 'display',
      // `node` is looked up on PATH; the script is next to the manifest.
      command: ['node', join(base, 'services/display.mjs')],
      // Files and directories that exist there; flags, URLs, other values and env stay as written.
      args: [
        '--config',
        join(base, 'config.json'),
        join(base, 'data'),
        'no-such-file',
        '-v',
        '--out=data',
        'http://x/y',
        '',
      ],
      env: [{ name: 'A', value: 'services/display.mjs' }],
      workingDir: base,
    });
  });

  it('an executable given as a relative path resolves against the manifest directory, existing or not', () => {
    expect(resolveContainerPaths({ command: ['./bin/server', 'x'] }, { baseDir: base })).toEqual({
      command: [join(base, 'bin/server'), 'x'],
      workingDir: base,
    });
    expect(resolveContainerPaths({ command: ['bin/server'] }, { baseDir: base }).command).toEqual([
      join(base, 'bin/server'),
    ]);
    // A bare name is a PATH lookup, even if a file of that name sits next to the manifest.
    expect(resolveContainerPaths({ command: ['config.json'] }, { baseDir: base }).command).toEqual([
      'config.json',
    ]);
    expect(resolveContainerPaths({ command: ['/usr/bin/env', 'node'] }, { baseDir: base }).command).toEqual([
      '/usr/bin/env',
      'node',
    ]);
  });

  it('a relative workingDir is under the manifest directory, an absolute one stays', () => {
    expect(
      resolveContainerPaths({ command: ['node'], workingDir: 'data' }, { baseDir: base }).workingDir,
    ).toBe(join(base, 'data'));
    expect(
      resolveContainerPaths({ command: ['node'], workingDir: '../x' }, { baseDir: base }).workingDir,
    ).toBe(join(base, '../x'));
    expect(
      resolveContainerPaths({ command: ['node'], workingDir: '/srv' }, { baseDir: base }).workingDir,
    ).toBe('/srv');
    // Files named by args are still the manifest's, whatever the working directory.
    expect(
      resolveContainerPaths(
        { command: ['node', 'services/display.mjs'], workingDir: '/srv' },
        { baseDir: base },
      ).command,
    ).toEqual(['node', join(base, 'services/display.mjs')]);
  });

  it('leaves a container without a command (an image for Kubernetes mode) alone', () => {
    const container = { image: 'example.com/x', args: ['config.json'], workingDir: 'data' };
    expect(resolveContainerPaths(container, { baseDir: base })).toBe(container);
  });

  it('refuses a relative base directory', () => {
    expect(() => resolveContainerPaths({ command: ['node'] }, { baseDir: 'examples' })).toThrow(
      'baseDir must be an absolute path, found "examples"',
    );
  });

  it('asks `exists` whether an argument names something', () => {
    const asked: string[] = [];
    const out = resolveContainerPaths(
      { command: ['python', '-m', 'http'] },
      {
        baseDir: '/project',
        exists: (p) => {
          asked.push(p);
          return false;
        },
      },
    );
    expect(out.command).toEqual(['python', '-m', 'http']);
    expect(asked).toEqual(['/project/http']);
  });
});

describe('resolveLocalPaths', () => {
  const container = { command: ['node', 'services/display.mjs'] };
  const resolved = { command: ['node', join(base, 'services/display.mjs')], workingDir: base };

  it.each([
    ['serving.knative.dev/v1', 'Service', { spec: { template: { spec: { containers: [container] } } } }],
    [
      'serving.knative.dev/v1',
      'Configuration',
      { spec: { template: { spec: { containers: [container] } } } },
    ],
    ['serving.knative.dev/v1', 'Revision', { spec: { containers: [container] } }],
    [
      'sources.knative.dev/v1',
      'ContainerSource',
      { spec: { template: { spec: { containers: [container] } } } },
    ],
  ])('%s %s: every container, without touching the input', (apiVersion, kind, body) => {
    const resource = { apiVersion, kind, metadata: { name: 'x' }, ...body };
    const before = structuredClone(resource);
    const out = resolveLocalPaths(resource, { baseDir: base });
    expect(resource).toEqual(before);
    const containers =
      kind === 'Revision'
        ? (out as { spec: { containers: unknown[] } }).spec.containers
        : (out as { spec: { template: { spec: { containers: unknown[] } } } }).spec.template.spec.containers;
    expect(containers).toEqual([resolved]);
  });

  it('other kinds, other groups and pod specs without containers come back as they are', () => {
    const trigger = { apiVersion: 'eventing.knative.dev/v1', kind: 'Trigger', spec: { broker: 'default' } };
    expect(resolveLocalPaths(trigger, { baseDir: base })).toBe(trigger);
    const foreign = {
      apiVersion: 'example.com/v1',
      kind: 'Service',
      spec: { template: { spec: { containers: [container] } } },
    };
    expect(resolveLocalPaths(foreign, { baseDir: base })).toBe(foreign);
    const empty = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', spec: {} };
    expect(resolveLocalPaths(empty, { baseDir: base })).toBe(empty);
  });
});
