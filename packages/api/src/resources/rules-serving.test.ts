import { describe, expect, it } from 'vitest';
import { loadText } from './load.js';
import { formatProblem } from './problem.js';

function problems(yaml: string): string[] {
  return loadText(yaml, 's.yaml').problems.map(formatProblem);
}

const service = (annotations: string) =>
  `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
spec:
  template:
    metadata:
      annotations:
${annotations}
    spec:
      containers:
        - command: [node, server.js]
`;

describe('eddy validate: autoscaling.eddy.dev annotations on a revision template', () => {
  it.each([
    [
      '        autoscaling.eddy.dev/lag-target: "0"',
      's.yaml:9:42: error: #0 Service default/hello: spec.template.metadata.annotations["autoscaling.eddy.dev/lag-target"]: expected a number > 0, found 0',
    ],
    [
      '        autoscaling.eddy.dev/lag-target: lots',
      's.yaml:9:42: error: #0 Service default/hello: spec.template.metadata.annotations["autoscaling.eddy.dev/lag-target"]: expected a number, found "lots"',
    ],
    [
      '        autoscaling.eddy.dev/backlog: "no"',
      's.yaml:9:39: error: #0 Service default/hello: spec.template.metadata.annotations["autoscaling.eddy.dev/backlog"]: expected one of true, false, found "no"',
    ],
    [
      '        autoscaling.eddy.dev/lagTarget: "10"',
      's.yaml:9:41: warning: #0 Service default/hello: spec.template.metadata.annotations["autoscaling.eddy.dev/lagTarget"]: unknown Eddy autoscaling annotation (known: autoscaling.eddy.dev/lag-target, autoscaling.eddy.dev/backlog); it is ignored',
    ],
  ])('%s', (annotation, expected) => {
    expect(problems(service(annotation))).toEqual([expected]);
  });

  it('valid values pass', () => {
    expect(
      problems(
        service(
          '        autoscaling.eddy.dev/lag-target: "2.5"\n        autoscaling.eddy.dev/backlog: "false"',
        ),
      ),
    ).toEqual([]);
  });

  it('on the Service itself they are rejected: they only take effect on the template', () => {
    const doc = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: hello
  annotations:
    autoscaling.eddy.dev/lag-target: "50"
spec:
  template:
    spec:
      containers:
        - command: [node, server.js]
`;
    expect(problems(doc)).toEqual([
      's.yaml:6:38: error: #0 Service default/hello: metadata.annotations["autoscaling.eddy.dev/lag-target"]: autoscaling annotations must be put under spec.template.metadata.annotations to take effect',
    ]);
  });

  it('a Revision is checked on its own metadata', () => {
    const doc = `apiVersion: serving.knative.dev/v1
kind: Revision
metadata:
  name: hello-00001
  annotations:
    autoscaling.eddy.dev/backlog: maybe
spec:
  containers:
    - command: [node, server.js]
`;
    expect(problems(doc)).toEqual([
      's.yaml:6:35: error: #0 Revision default/hello-00001: metadata.annotations["autoscaling.eddy.dev/backlog"]: expected one of true, false, found "maybe"',
    ]);
  });
});
