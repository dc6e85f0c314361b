// Source planning as the control plane runs it: sinks resolved against what it knows, definitions
// for the runner, and Knative's source and SinkBinding statuses.

import { type ContractInput, type ResourceStatus, readyCondition } from '@eddy/api';
import { describe, expect, it } from 'vitest';
import { planSinkBindings } from './plan-sink-bindings.js';
import { planSources } from './plan-sources.js';
import { sinkResolver } from './sink-resolver.js';
import { sourceStatus } from './source-status.js';

const BROKER_URL = 'http://127.0.0.1:8080/demo/default';

function input(apiVersion: string, kind: string, name: string, spec: Record<string, unknown>): ContractInput {
  return {
    apiVersion,
    kind,
    namespace: 'demo',
    name,
    resource: { apiVersion, kind, metadata: { namespace: 'demo', name, generation: 3 }, spec },
  };
}

const ping = (name: string, sink: unknown, extra: Record<string, unknown> = {}) =>
  input('sources.knative.dev/v1', 'PingSource', name, { schedule: '* * * * *', sink, ...extra });

const eventingStatuses = new Map<string, ResourceStatus>([
  ['Broker/demo/default', { observedGeneration: 1, conditions: [], address: { url: BROKER_URL } }],
  ['Broker/demo/starting', { observedGeneration: 1, conditions: [] }],
  [
    'KafkaSink/demo/archive',
    {
      observedGeneration: 1,
      conditions: [],
      address: { url: 'http://127.0.0.1:8080/kafkasinks/demo/archive' },
    },
  ],
]);

function plan(inputs: ContractInput[], serviceUrl?: (ns: string, name: string) => string | undefined) {
  const resolver = sinkResolver({ eventingStatuses, resources: inputs, serviceUrl });
  return planSources(inputs, {
    resolver,
    isSourceKind: (apiVersion, kind) =>
      apiVersion.startsWith('sources.knative.dev/') && (kind === 'PingSource' || kind === 'ApiServerSource'),
    values: { env: {} },
  });
}

describe('planSources', () => {
  it('resolves a Broker sink and marks it as taking batches', () => {
    const { sources } = plan([
      ping('to-broker', { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'default' } }),
    ]);
    const planned = sources.get('PingSource/demo/to-broker');
    expect(planned?.statusKey).toBe('PingSource/demo/to-broker');
    expect(planned?.generation).toBe(3);
    expect(planned?.plan).toMatchObject({
      ok: true,
      sinkUri: BROKER_URL,
      definition: {
        kind: 'PingSource',
        namespace: 'demo',
        name: 'to-broker',
        sink: BROKER_URL,
        sinkAcceptsBatch: true,
      },
    });
  });

  it('resolves a KafkaSink sink by its address, taking batches like a Broker (same ingress)', () => {
    const { sources } = plan([
      ping('to-kafka', {
        ref: { apiVersion: 'eventing.knative.dev/v1alpha1', kind: 'KafkaSink', name: 'archive' },
      }),
    ]);
    expect(sources.get('PingSource/demo/to-kafka')?.plan).toMatchObject({
      ok: true,
      definition: { sink: 'http://127.0.0.1:8080/kafkasinks/demo/archive', sinkAcceptsBatch: true },
    });
  });

  it('a URI sink is sent one event per POST; a referenced Secret value gives a digest', () => {
    const { sources } = plan([
      ping('to-uri', { uri: 'http://example.com/in' }, { data: { secretKeyRef: { name: 's', key: 'k' } } }),
    ]);
    const result = sources.get('PingSource/demo/to-uri')?.plan;
    expect(result?.ok).toBe(true);
    if (!result?.ok) return;
    expect(result.definition.sinkAcceptsBatch).toBeUndefined();
    expect(result.definition.valuesDigest).toEqual(expect.any(String));
  });

  it('says why a sink does not resolve: missing, not ready, Service not served', () => {
    const service = input('serving.knative.dev/v1', 'Service', 'display', {});
    const { sources } = plan([
      service,
      ping('missing', { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'nope' } }),
      ping('not-ready', { ref: { apiVersion: 'eventing.knative.dev/v1', kind: 'Broker', name: 'starting' } }),
      ping('service', { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' } }),
    ]);
    const message = (name: string) => {
      const p = sources.get(`PingSource/demo/${name}`)?.plan;
      return p && !p.ok ? p.message : undefined;
    };
    expect(message('missing')).toContain('"nope" does not exist in namespace "demo"');
    expect(message('not-ready')).toContain('the Broker is not ready');
    expect(message('service')).toContain('the serving data plane is not running');
    const served = plan(
      [
        service,
        ping('service', { ref: { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'display' } }),
      ],
      () => 'http://display.demo',
    );
    expect(served.sources.get('PingSource/demo/service')?.plan).toMatchObject({
      ok: true,
      sinkUri: 'http://display.demo',
    });
  });

  it('ApiServerSource is planned like any source; SinkBindings and unknown kinds are not sources', () => {
    const { sources, statuses } = plan([
      input('sources.knative.dev/v1', 'ApiServerSource', 'api', {
        mode: 'Resource',
        resources: [{ apiVersion: 'v1', kind: 'ConfigMap' }],
        sink: { uri: 'http://example.com/' },
      }),
      input('sources.knative.dev/v1', 'SinkBinding', 'bind', {}),
      input('sources.example.com/v1', 'OtherSource', 'other', {}),
    ]);
    expect([...sources.keys()]).toEqual(['ApiServerSource/demo/api']);
    expect(sources.get('ApiServerSource/demo/api')?.plan).toMatchObject({
      ok: true,
      definition: { kind: 'ApiServerSource', sink: 'http://example.com/', spec: { mode: 'Resource' } },
    });
    expect(statuses.size).toBe(0);
  });
});

describe('sourceStatus', () => {
  const ok = plan([ping('p', { uri: 'http://example.com/' })]).sources.get('PingSource/demo/p')!.plan;

  it('SinkProvided and Deployed make Ready; the address only while Ready', () => {
    const running = {
      key: 'PingSource/demo/p',
      apiVersion: 'sources.knative.dev/v1',
      kind: 'PingSource',
      namespace: 'demo',
      name: 'p',
      ready: {
        type: 'Ready' as const,
        status: 'True' as const,
        reason: 'Running',
        lastTransitionTime: '2024-01-01T00:00:00Z',
      },
      address: { url: 'http://127.0.0.1:9000/' },
    };
    const status = sourceStatus(3, ok, running, undefined);
    expect(readyCondition(status)?.status).toBe('True');
    expect(status.sinkUri).toBe('http://example.com/');
    expect(status.address).toEqual({ url: 'http://127.0.0.1:9000/' });
    expect(readyCondition(sourceStatus(3, ok, undefined, undefined))).toMatchObject({
      status: 'Unknown',
      reason: 'Starting',
    });
    expect(readyCondition(sourceStatus(3, ok, running, 'bad spec'))).toMatchObject({
      status: 'False',
      reason: 'InvalidSource',
      message: 'bad spec',
    });
  });
});

describe('planSinkBindings', () => {
  it('binds Services only and resolves the sink', () => {
    const subject = { apiVersion: 'serving.knative.dev/v1', kind: 'Service', name: 'app' };
    const inputs = [
      input('sources.knative.dev/v1', 'SinkBinding', 'good', {
        subject,
        sink: { uri: 'http://example.com/' },
      }),
      input('sources.knative.dev/v1', 'SinkBinding', 'deployment', {
        subject: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
        sink: { uri: 'http://example.com/' },
      }),
    ];
    const resolver = sinkResolver({ eventingStatuses, resources: inputs });
    const { bindings, statuses } = planSinkBindings(inputs, resolver);
    expect(bindings).toEqual([{ namespace: 'demo', name: 'good', subject, sink: 'http://example.com/' }]);
    expect(readyCondition(statuses.get('SinkBinding/demo/good')!)?.status).toBe('True');
    expect(readyCondition(statuses.get('SinkBinding/demo/deployment')!)).toMatchObject({
      status: 'False',
      reason: 'SubjectNotSupported',
    });
  });
});
