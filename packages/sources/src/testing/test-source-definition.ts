// The source definitions adapter tests apply: namespace demo, spec.sink and the resolved sink the
// same URL. Not exported from the package index; tests import it by path.

import type { EmitterPolicy, SourceDefinition } from '../sdk/adapter.js';

export interface TestSourceFields {
  apiVersion: string;
  kind: string;
  name: string;
  sinkUrl: string;
  /** The kind's spec, without the sink. */
  spec: Record<string, unknown>;
  delivery: EmitterPolicy;
}

export function testSourceDefinition(fields: TestSourceFields): SourceDefinition {
  const { apiVersion, kind, name, sinkUrl, spec, delivery } = fields;
  return {
    apiVersion,
    kind,
    namespace: 'demo',
    name,
    spec: { sink: { uri: sinkUrl }, ...spec },
    sink: sinkUrl,
    delivery,
  };
}
