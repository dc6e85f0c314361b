import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCli, type CliRun, ROOT, runEddy } from './helpers.ts';

const FIXTURES = 'packages/api/src/resources/__fixtures__';
const CORPUS = resolve(ROOT, '../shared/conformance/knative-docs-manifests');

function eddy(...args: string[]): Promise<CliRun> {
  return runEddy(args);
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

beforeAll(() => {
  buildCli();
}, 180_000);

describe('eddy validate', () => {
  it('valid examples: one ok line per resource, a summary, exit 0', async () => {
    const r = await eddy('validate', '-f', 'examples/');
    expect(r.stderr).toBe('');
    expect(lines(r.stdout)).toEqual([
      'ok    examples/quickstart/broker.yaml#0  Broker default/default',
      'ok    examples/quickstart/github-source.yaml#0  GitHubSource default/github',
      'ok    examples/quickstart/github-source.yaml#1  Secret default/github-webhook',
      'ok    examples/quickstart/ping-source.yaml#0  PingSource default/heartbeat',
      'ok    examples/quickstart/services.yaml#0  Service default/event-display',
      'ok    examples/quickstart/services.yaml#1  Service default/order-processor',
      'ok    examples/quickstart/shop-source.yaml#0  ContainerSource default/shop',
      'ok    examples/quickstart/triggers.yaml#0  Trigger default/everything-to-display',
      'ok    examples/quickstart/triggers.yaml#1  Trigger default/orders-to-processor',
      '9 resources valid in 6 files',
    ]);
    expect(r.code).toBe(0);
  });

  it('broken files: every problem on its own located line, exit 1', async () => {
    const r = await eddy('validate', '-f', `${FIXTURES}/traffic.yaml`, '-f', `${FIXTURES}/wrong-type.yaml`);
    expect(lines(r.stdout)).toEqual([
      `${FIXTURES}/traffic.yaml:10:3: error: #0 Service default/shop: spec.traffic: traffic percents sum to 90, expected 100`,
      `${FIXTURES}/traffic.yaml:16:12: error: #0 Service default/shop: spec.traffic[1].tag: duplicate tag "stable" (also traffic[0].tag)`,
      `${FIXTURES}/wrong-type.yaml:10:12: error: #0 Trigger default/retries: spec.delivery.retry: expected an integer, found string "three"`,
      `FAIL  ${FIXTURES}/traffic.yaml#0  Service default/shop`,
      `FAIL  ${FIXTURES}/wrong-type.yaml#0  Trigger default/retries`,
      '3 errors in 2 files',
    ]);
    expect(r.code).toBe(1);
  });

  it('a YAML syntax error does not stop the other documents and files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eddy-cli-'));
    await copyFile(join(ROOT, FIXTURES, 'yaml-syntax.yaml.txt'), join(dir, 'a-broken.yaml'));
    await writeFile(
      join(dir, 'b-good.yml'),
      'apiVersion: messaging.knative.dev/v1\nkind: InMemoryChannel\nmetadata:\n  name: orders\n',
    );
    const r = await eddy('validate', '-f', dir);
    expect(lines(r.stdout)).toEqual([
      `${dir}/a-broken.yaml:9:9: error: #1: YAML syntax error: Nested mappings are not allowed in compact mappings`,
      `ok    ${dir}/a-broken.yaml#0  Broker default/before-the-error`,
      `FAIL  ${dir}/a-broken.yaml#1  (not parsed)`,
      `ok    ${dir}/a-broken.yaml#2  Broker default/after-the-error`,
      `ok    ${dir}/b-good.yml#0  InMemoryChannel default/orders`,
      '1 error in 2 files',
    ]);
    expect(r.code).toBe(1);
  });

  it('kinds Eddy does not run are warnings, not failures', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'eddy-cli-'));
    await writeFile(
      join(dir, 'mixed.yaml'),
      [
        'apiVersion: v1',
        'kind: Namespace',
        'metadata:',
        '  name: settings',
        '---',
        'apiVersion: eventing.knative.dev/v1alpha1',
        'kind: EventTransform',
        'metadata:',
        '  name: steps',
        '---',
        'apiVersion: eventing.knative.dev/v1',
        'kind: Broker',
        'metadata:',
        '  name: default',
        '',
      ].join('\n'),
    );
    const r = await eddy('validate', '-f', join(dir, 'mixed.yaml'));
    expect(lines(r.stdout)).toEqual([
      `${dir}/mixed.yaml:2:7: warning: #0 Namespace settings: ignored: v1 Namespace is not an Eddy resource`,
      `${dir}/mixed.yaml:7:7: warning: #1 EventTransform steps: not supported by Eddy yet: eventing.knative.dev/v1alpha1 EventTransform is parsed but not run`,
      `skip  ${dir}/mixed.yaml#0  Namespace settings  (not an Eddy resource)`,
      `skip  ${dir}/mixed.yaml#1  EventTransform steps  (not supported by Eddy yet)`,
      `ok    ${dir}/mixed.yaml#2  Broker default/default`,
      '1 resource valid in 1 file, 2 warnings',
    ]);
    expect(r.code).toBe(0);
  });

  it('bad usage: one clear line on stderr, exit 2, no stack trace', async () => {
    const missing = await eddy('validate');
    expect(missing).toEqual({
      code: 2,
      stdout: '',
      stderr: 'eddy: missing -f <file|dir>: say which manifests to validate\n',
    });
    const notFound = await eddy('validate', '-f', 'no/such/dir');
    expect(notFound).toEqual({
      code: 2,
      stdout: '',
      stderr: 'eddy: no such file or directory: no/such/dir\n',
    });
    const unknownOption = await eddy('validate', '--frobnicate');
    expect(unknownOption.code).toBe(2);
    expect(lines(unknownOption.stderr)).toEqual(["error: unknown option '--frobnicate'"]);
    const unknownVerb = await eddy('frobnicate');
    expect(unknownVerb.code).toBe(2);
    expect(unknownVerb.stderr).toContain("unknown command 'frobnicate'");
    for (const r of [missing, notFound, unknownOption, unknownVerb]) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(!existsSync(CORPUS))(
    'a known-invalid Knative docs manifest is rejected at the right line',
    async () => {
      const r = await eddy('validate', '-f', join(CORPUS, '12-trigger-triggers.yaml'));
      expect(lines(r.stdout)[0]).toBe(
        `${CORPUS}/12-trigger-triggers.yaml:8:3: error: #0 Trigger default/my-service-trigger: spec.filters: expected a list, found a map`,
      );
      expect(r.code).toBe(1);
    },
  );
});
