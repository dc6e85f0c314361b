// Secret and ConfigMap manifests through the loader: valid ones load, every bad input is a located error
// (file:line:col, field path), and no message ever shows a Secret's value.

import { describe, expect, it } from 'vitest';
import { loadText } from './load.js';
import { formatProblem } from './problem.js';

const errors = (yaml: string) =>
  loadText(yaml, 's.yaml')
    .problems.filter((p) => p.severity === 'error')
    .map(formatProblem);

describe('v1 Secret', () => {
  it('loads data (base64), stringData and type', () => {
    const r = loadText(
      [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: {name: github-webhook.v1}',
        'type: Opaque',
        'data:',
        '  token: aHVudGVyMg==',
        '  wrapped: |',
        '    aHVu',
        '    dGVyMg==',
        'stringData:',
        '  secret: s3cr3t',
        '',
      ].join('\n'),
      's.yaml',
    );
    expect(r.problems).toEqual([]);
    expect(r.resources.map((x) => `${x.apiVersion} ${x.kind} ${x.namespace}/${x.name}`)).toEqual([
      'v1 Secret default/github-webhook.v1',
    ]);
  });

  it('bad base64, a non-string value and a bad key are located errors that never show the value', () => {
    const problems = errors(
      [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: {name: db}',
        'data:',
        '  password: not*base64!',
        'stringData:',
        '  pin: 918273',
        '  "bad key": x',
        '',
      ].join('\n'),
    );
    expect(problems).toEqual([
      's.yaml:7:8: error: #0 Secret default/db: stringData.pin: expected a string, found an integer (value not shown)',
    ]);
    const semantic = errors(
      [
        'apiVersion: v1',
        'kind: Secret',
        'metadata: {name: db}',
        'data:',
        '  password: not*base64!',
        'stringData:',
        '  "bad key": x',
        '',
      ].join('\n'),
    );
    expect(semantic).toEqual([
      's.yaml:5:13: error: #0 Secret default/db: data.password: expected base64 (RFC 4648 standard alphabet, with padding) (the value is not shown; put plain text under stringData instead)',
      's.yaml:7:3: error: #0 Secret default/db: stringData["bad key"]: key "bad key" must consist of letters, digits, "-", "_" or "." (and not be "." or "..")',
    ]);
    for (const line of [...problems, ...semantic]) {
      expect(line).not.toContain('918273');
      expect(line).not.toContain('not*base64!');
    }
  });

  it('an unknown field and a wrong apiVersion say what is expected', () => {
    expect(errors('apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringdata: {a: b}\n')).toEqual([
      's.yaml:4:1: error: #0 Secret default/s: stringdata: unknown field "stringdata"; did you mean "stringData"? (field names are case-sensitive)',
    ]);
    expect(errors('apiVersion: v2\nkind: Secret\nmetadata: {name: s}\n')).toEqual([
      's.yaml:1:13: error: #0 Secret s: apiVersion: Secret is not served at "v2"; expected v1',
    ]);
  });
});

describe('v1 ConfigMap', () => {
  it('loads data and binaryData; a key in both, bad base64 and an unquoted number are located errors', () => {
    expect(
      errors('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: "1"}\nbinaryData: {b: AAE=}\n'),
    ).toEqual([]);
    expect(
      errors(
        [
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata: {name: c}',
          'data:',
          '  a: "1"',
          'binaryData:',
          '  a: AAE=',
          '  b: "%%"',
          '',
        ].join('\n'),
      ),
    ).toEqual([
      's.yaml:7:3: error: #0 ConfigMap default/c: binaryData.a: key "a" is also in data; a key may be in only one of them',
      's.yaml:8:6: error: #0 ConfigMap default/c: binaryData.b: expected base64 (RFC 4648 standard alphabet, with padding) (text belongs under data)',
    ]);
    expect(
      errors('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata:\n  default.topic.partitions: 3\n'),
    ).toEqual([
      's.yaml:5:29: error: #0 ConfigMap default/c: data["default.topic.partitions"]: expected a string, found integer 3',
    ]);
  });

  it('other core kinds stay ignored-kind warnings', () => {
    const r = loadText('apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n', 'n.yaml');
    expect(r.problems.map(formatProblem)).toEqual([
      'n.yaml:2:7: warning: #0 Namespace team: ignored: v1 Namespace is not an Eddy resource',
    ]);
  });
});
