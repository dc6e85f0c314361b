// EventPolicy manifests through the loader: Knative's docs examples load; each of Knative's validation
// errors is a located error here.

import { describe, expect, it } from 'vitest';
import { loadText } from './load.js';
import { formatProblem } from './problem.js';

const load = (spec: string[]) =>
  loadText(
    [
      'apiVersion: eventing.knative.dev/v1alpha1',
      'kind: EventPolicy',
      'metadata: {name: my-policy, namespace: default}',
      'spec:',
      ...spec,
      '',
    ].join('\n'),
    'p.yaml',
  );
const errors = (spec: string[]) =>
  load(spec)
    .problems.filter((p) => p.severity === 'error')
    .map(formatProblem);

describe('eventing.knative.dev/v1alpha1 EventPolicy', () => {
  it("loads Knative's docs example (refs, a selector, a prefix sub, filters)", () => {
    const r = load([
      '  to:',
      '    - ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: my-broker}',
      '    - selector:',
      '        apiVersion: eventing.knative.dev/v1',
      '        kind: Broker',
      '        matchLabels: {key: value}',
      '  from:',
      '    - ref: {apiVersion: sources.knative.dev/v1, kind: PingSource, name: my-source, namespace: another-namespace}',
      '    - sub: system:serviceaccount:default:trusted-app',
      '    - sub: "system:serviceaccount:default:other-*"',
      '  filters:',
      "    - cesql: \"type IN ('a', 'b')\"",
      '    - prefix: {type: com.example.}',
    ]);
    expect(r.problems).toEqual([]);
    expect(r.resources.map((x) => `${x.kind} ${x.namespace}/${x.name}`)).toEqual([
      'EventPolicy default/my-policy',
    ]);
  });

  it('a from entry needs exactly one of ref and sub', () => {
    expect(errors(['  from:', '    - {}'])).toEqual([
      expect.stringMatching(/p\.yaml:6.*spec\.from\[0\].*exactly one of "ref" or "sub", found neither/),
    ]);
    expect(
      errors(['  from:', '    - sub: x', '      ref: {apiVersion: v1, kind: ServiceAccount, name: a}']),
    ).toEqual([expect.stringMatching(/spec\.from\[0\].*found both/)]);
  });

  it('a sub may end in "*" but not have one elsewhere', () => {
    expect(errors(['  from:', '    - sub: "system:serviceaccount:*:app"'])).toEqual([
      expect.stringMatching(/p\.yaml:6.*spec\.from\[0\]\.sub.*"\*" is only allowed as the last character/),
    ]);
    expect(errors(['  from:', '    - sub: "*"'])).toEqual([]);
  });

  it('a to entry needs exactly one of ref and selector, each complete', () => {
    expect(errors(['  to:', '    - {}'])).toEqual([
      expect.stringMatching(/spec\.to\[0\].*exactly one of "ref" or "selector", found neither/),
    ]);
    expect(
      errors([
        '  to:',
        '    - ref: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: b}',
        '      selector: {apiVersion: eventing.knative.dev/v1, kind: Broker}',
      ]),
    ).toEqual([expect.stringMatching(/spec\.to\[0\].*found both/)]);
    expect(errors(['  to:', '    - ref: {apiVersion: "a/b/c", kind: Broker, name: ""}'])).toEqual([
      expect.stringMatching(/spec\.to\[0\]\.ref\.apiVersion.*"a\/b\/c"/),
      expect.stringMatching(/spec\.to\[0\]\.ref\.name.*must not be empty/),
    ]);
  });

  it('filters are checked as Trigger filters are', () => {
    expect(errors(['  filters:', '    - {exact: {type: a}, prefix: {type: b}}'])).toEqual([
      expect.stringMatching(/spec\.filters\[0\].*multiple dialects/),
    ]);
    expect(errors(['  filters:', '    - cesql: "type ="'])).toEqual([
      expect.stringMatching(/spec\.filters\[0\]\.cesql.*invalid CESQL/),
    ]);
  });

  it('unknown fields are errors', () => {
    expect(errors(['  from:', '    - subject: x'])).toEqual([
      expect.stringMatching(/spec\.from\[0\].*subject/),
    ]);
  });
});

describe('a Secret holding a static sender token', () => {
  it('needs the keys token and subject', () => {
    const secret = (data: string) =>
      loadText(
        `apiVersion: v1\nkind: Secret\nmetadata: {name: ci, namespace: default, labels: {eddy.dev/sender-token: "true"}}\nstringData: ${data}\n`,
        's.yaml',
      )
        .problems.filter((p) => p.severity === 'error')
        .map(formatProblem);
    expect(secret('{token: abc, subject: ci-bot}')).toEqual([]);
    expect(secret('{token: abc}')).toEqual([
      expect.stringMatching(
        /s\.yaml:3:\d+.*metadata\.labels\["eddy\.dev\/sender-token"\]: .*key "subject" is missing/,
      ),
    ]);
  });
});
