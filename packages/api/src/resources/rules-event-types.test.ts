// EventType manifests through the loader: Knative's registry example loads; every mistake is a
// located error.

import { describe, expect, it } from 'vitest';
import { loadText } from './load.js';
import { formatProblem } from './problem.js';

const load = (spec: string[], apiVersion = 'eventing.knative.dev/v1beta3') =>
  loadText(
    [
      `apiVersion: ${apiVersion}`,
      'kind: EventType',
      'metadata: {name: order-created}',
      'spec:',
      ...spec,
      '',
    ].join('\n'),
    'et.yaml',
  );
const errors = (spec: string[]) =>
  load(spec)
    .problems.filter((p) => p.severity === 'error')
    .map(formatProblem);

const REQUIRED = [
  '    - {name: type, required: true, value: dev.example.order.created}',
  '    - {name: source, required: true, value: "/orders/{region}"}',
  '    - {name: specversion, required: true, value: "1.0"}',
  '    - {name: id, required: true}',
];

describe('eventing.knative.dev/v1beta3 EventType', () => {
  it('loads a type with its reference, description and attributes (an extension among them)', () => {
    const r = load([
      '  reference: {apiVersion: eventing.knative.dev/v1, kind: Broker, name: default}',
      '  description: an order was placed',
      '  attributes:',
      ...REQUIRED,
      '    - {name: region, required: false}',
    ]);
    expect(r.problems).toEqual([]);
    expect(r.resources.map((x) => `${x.kind} ${x.namespace}/${x.name}`)).toEqual([
      'EventType default/order-created',
    ]);
  });

  it('needs the attributes every CloudEvent has, named at spec.attributes', () => {
    expect(errors(['  attributes:', REQUIRED[0]!, REQUIRED[3]!])).toEqual([
      'et.yaml:5:3: error: #0 EventType default/order-created: spec.attributes: missing required attributes "source", "specversion" (every EventType declares type, source, specversion and id)',
    ]);
    expect(errors(['  description: no attributes at all'])).toEqual([
      'et.yaml:4:1: error: #0 EventType default/order-created: spec.attributes: missing required attributes "type", "source", "specversion", "id" (every EventType declares type, source, specversion and id)',
    ]);
  });

  it('rejects a bad or repeated attribute name and an incomplete reference, each where it is', () => {
    expect(
      errors([
        '  reference: {apiVersion: "", kind: Broker, name: ""}',
        '  attributes:',
        ...REQUIRED,
        '    - {name: Region, required: false}',
        '    - {name: type, required: false}',
      ]),
    ).toEqual([
      'et.yaml:11:14: error: #0 EventType default/order-created: spec.attributes[4].name: invalid attribute name "Region": CloudEvents attribute names are lowercase letters and digits',
      'et.yaml:12:14: error: #0 EventType default/order-created: spec.attributes[5].name: attribute "type" is declared twice (first at spec.attributes[0])',
      'et.yaml:5:27: error: #0 EventType default/order-created: spec.reference.apiVersion: expected "group/version" or "version", found ""',
      'et.yaml:5:51: error: #0 EventType default/order-created: spec.reference.name: must not be empty',
    ]);
  });

  it('takes a DNS subdomain as name, as auto-create makes them for long broker names', () => {
    const name = `et-${'b'.repeat(40)}-0123456789abcdef0123456789abcdef`;
    const r = loadText(
      [
        'apiVersion: eventing.knative.dev/v1beta3',
        'kind: EventType',
        `metadata: {name: ${name}}`,
        'spec:',
        '  attributes:',
        ...REQUIRED,
        '',
      ].join('\n'),
      'long.yaml',
    );
    expect(r.problems).toEqual([]);
  });

  it('names the served version for v1beta2 (its type/source/schema fields are not converted)', () => {
    const r = load(['  type: dev.example.order.created'], 'eventing.knative.dev/v1beta2');
    expect(r.problems.map(formatProblem).join('\n')).toContain('v1beta3');
  });
});
